"""Pure decisions: values in, decisions out, no I/O.

Messages are written in ``sbwatch.alerting``: the escalation and disk policies answer with
closed reasons and their figures, and the diagnosis with closed facts (``core.facts``, its
memory, CPU and connections findings included), which ``alerting.words`` says.
"""
