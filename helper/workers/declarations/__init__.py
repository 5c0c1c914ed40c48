"""What each job is, one module per job, read without importing its worker: PID 1 (the
scheduler, config-check, cron-list), the metrics reporter and the generated docs read these.

A declaration module imports nothing but the settings. It declares:

    NAME            the command and job name: /bin/<NAME>, last-<NAME>.json, restic_<NAME>.prom
    SUMMARY         one line for --help
    TAKES_RUN_LOCK  whether a run holds the local run lock
    AUTO_UNLOCK     whether RESTIC_AUTO_UNLOCK may clear stale locks after a failed run
    CRON_VARIABLE   the variable that schedules it ("BACKUP_CRON"), or None: never scheduled;
                    with CRON_DEFAULT and CRON_HELP, its row in the environment reference
    FIELDS          its extra fields in last-<NAME>.json (null when a run stopped before it)
    GAUGES          the FIELDS that become gauges in the .prom file (never ids or tags)
    requirements(settings) -> list[str]
                    what it lacks before restic can do its work, one message per problem
"""
