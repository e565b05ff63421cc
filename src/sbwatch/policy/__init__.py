"""Pure decisions: values in, decisions out, no I/O.

Messages are written in ``sbwatch.alerting``: the escalation and disk policies answer with
closed reasons and their figures, which ``alerting.words`` says. The diagnosis's evidence and
a few findings (memory, CPU, connections) still carry sentences a person reads.
"""
