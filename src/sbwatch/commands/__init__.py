"""Subcommands of the ``sbwatch`` CLI, one module each.

The table names each command's module and its help, so that ``sbwatch --help`` lists the
commands and ``sbwatch CMD`` imports CMD's module alone: each import costs start-up time.
"""

from __future__ import annotations

MODULES: dict[str, str] = {
    "run": "sbwatch.commands.run",
    "status": "sbwatch.commands.status",
    "demo": "sbwatch.commands.demo",
    "try": "sbwatch.commands.tryout",
    "check-config": "sbwatch.commands.check_config",
    "version": "sbwatch.commands.version",
    "mail": "sbwatch.commands.mail",
    "budget": "sbwatch.commands.budget",
    "alert": "sbwatch.commands.alert",
    "silence": "sbwatch.commands.silence",
    "maintenance": "sbwatch.commands.maintenance",
    "ack": "sbwatch.commands.ack",
    "sim": "sbwatch.commands.sim",
    "escalate": "sbwatch.commands.escalate",
    "history": "sbwatch.commands.history",
    "incidents": "sbwatch.commands.incidents",
    "plan": "sbwatch.commands.plan",
    "probe": "sbwatch.commands.probe",
    "backup": "sbwatch.commands.backup",
    "db": "sbwatch.commands.db",
    "sql": "sbwatch.commands.sql",
}
"""Command word -> module; each module defines NAME, HELP, configure(parser), run(args)."""

HELPS: dict[str, str] = {
    "run": (
        "Run the watchdog: probe every configured project on its schedule, estimate the disk "
        "IO budget, read provider emails, diagnose, alert and escalate as the policy allows. "
        "Stops cleanly on SIGTERM/SIGINT; SIGHUP reloads the configuration."
    ),
    "status": (
        "Show each project's probe states, diagnosis, disk IO budget, open alerts, unfinished "
        "escalations and failed notifications, from the state store the daemon writes."
    ),
    "demo": (
        "Replay the incident that started sbwatch (a micro project draining its disk IO "
        "budget over six days) against the built-in simulator, print the timeline and write "
        "an HTML report. Needs nothing but the install: embedded SQLite, virtual clock, "
        "in-process simulator."
    ),
    "try": (
        "Try sbwatch without a Supabase project: start the built-in simulator, a daemon "
        "watching it (with a generated configuration, SQLite state in a temporary directory) "
        "and a local phone that prints every alert as a phone would show it, all in this "
        "terminal, with a guide of 'sbwatch sim ctl' commands to try. Ctrl-C stops all three."
    ),
    "check-config": (
        "Validate the configuration as 'sbwatch run' would read it, secrets and alert routes "
        "included, and print every problem as 'location (line N): message' on stderr (exit 1 "
        "if any). Warnings (valid, but probably not meant) are printed too and leave the exit "
        "code 0. For a project that backs up, also ask its server for its version and check "
        "that pg_dump and pg_restore of that major version are installed (an unreachable "
        "server only warns). With --online, also ask each project's database about its data "
        "checks: tables and columns exist, fresh has an index on its column (EXPLAIN), "
        "queries plan read-only; and list the Management API permissions each enabled feature "
        "needs, asking the API (read calls only) which of them the token lacks."
    ),
    "version": ("Print the sbwatch version."),
    "mail": (
        "Provider warning emails: 'mail classify FILE.eml' explains the kind, project and "
        "trust verdict of a saved email; 'mail check' logs in to the configured mailbox and "
        "reports it."
    ),
    "budget": (
        "Show the estimated disk IO budget of each project (or of REF): tier, percent left "
        "and percent consumed as the dashboard shows it, net burn rate, time to exhaustion at "
        "that rate, confidence, throughput and the latest sample. 'budget set REF PCT' "
        "records the dashboard's 'Disk IO percent consumed' reading (stored as state "
        "budget/correction:REF); the running daemon applies it to its estimate on its next "
        "cycle."
    ),
    "alert": (
        "Check alert delivery: 'alert test [ROUTE]' sends a test notification through one "
        "route (or every route) now and reports the outcome per route; 'alert list' shows "
        "open alerts and notifications that failed for good."
    ),
    "silence": (
        "Silence notifications: 'silence REF --for 2h --reason \"...\"' (REF is a project ref "
        "or name, or '*' for every project), 'silence --list', 'silence --remove ID'. Alerts "
        "still open and close while silenced; an alert still open when the silence ends is "
        "then sent."
    ),
    "maintenance": (
        "Maintenance windows: 'maintenance add REF --for 30m --reason \"...\"' (REF is a "
        "project ref or name, or '*'; --start TIME plans one ahead), 'maintenance list', "
        "'maintenance end ID|REF'. Inside a window probes run and alerts are recorded, but "
        "nothing pages and no compute change is asked or made; what is still wrong when it "
        "ends is paged, naming the window."
    ),
    "ack": (
        "Acknowledge an open alert: 'ack REF:SUBJECT' (as 'sbwatch alert list' shows it; a "
        "project alone when it has one open alert) [--by NAME]. Its reminders stop and it is "
        "not passed on to the escalation routes; who and when are recorded."
    ),
    "sim": (
        "Run the built-in Supabase simulator on 127.0.0.1 (Management API, project endpoints, "
        "metrics, status page, provider emails) and inject faults into it."
    ),
    "escalate": (
        "Raise a project's compute size now: shows the latest diagnosis, the current and "
        "target size and the monthly cost difference, asks for confirmation, sends the change "
        "once through the same journal and lock as the daemon, then waits for the services to "
        "recover (Ctrl-C stops waiting; the daemon finishes the verification). Never lowers "
        "the size. --disk-gb N: grow the disk instead."
    ),
    "history": (
        "Show past compute escalations from the journal (oldest first): when, who asked, from "
        "and to which size, the state (open, applied, failed, recovered, unrecovered) and the "
        "time the services took to recover. --json prints one JSON list."
    ),
    "incidents": (
        "Show incidents (oldest first), each from its first message to the phone to its end, "
        "as a changelog entry: what failed, the cause, how far ahead it was warned, what was "
        "changed and what it costs, when it recovered. 'incidents show ID' prints one "
        "incident's timeline (signals, messages, diagnoses, compute changes, recovery). "
        "--since 7d or --since 2026-05-20 limits the list; --json prints JSON."
    ),
    "plan": (
        "Replay the disk IO the daemon recorded (default: the last 14 days) through every "
        "compute size's budget and show, per size, the lowest budget level it would have "
        "reached, the time it would have been throttled and its price; name the cheapest size "
        "that stays above the floor, and a smaller one than today's when it would have held. "
        "Nothing is changed."
    ),
    "probe": (
        "Run one probe once against a configured project and print the result (exit 0 when "
        "ok, 1 when not, 2 for an unknown project or probe)."
    ),
    "backup": (
        "Back up a project's database with pg_dump ('run'), prove a backup restores by "
        "loading it into a scratch database and comparing tables and row counts with its "
        "manifest ('verify'), or list the backups kept ('list'). Exit 1 when it fails or does "
        "not match, 2 for an unknown project or one without [projects.backup]."
    ),
    "db": (
        "Reports on a project's database. 'report': the tables with no insert, update or "
        "delete since a time (pg_stat_user_tables counters between a sample kept in the store "
        "and now; each run keeps a sample), with their sizes. Printed only: sbwatch never "
        "drops a table."
    ),
    "sql": (
        "Schema migrations through the Management API (POST "
        "/v1/projects/{ref}/database/query). 'apply': files named <version>_<name>.sql, in "
        "file-name order, each once, each in one transaction, recorded in "
        "supabase_migrations.schema_migrations as the provider's CLI records them; a failure "
        "stops the run and names the statement. Refused while the IO budget is exhausted or a "
        "resize runs. 'status': applied and pending. Exit 1 when a migration fails or is "
        "refused, 2 for bad arguments."
    ),
}
