"""Pure decisions: values in, decisions out, no I/O.

Messages are written in ``sbwatch.alerting``; some decisions still carry a sentence a person
reads (the diagnosis's evidence, an escalation's reason and command).
"""
