"""The registry of jobs: NAMES is the one list of them. Each job is one module,
helper/workers/<name>.py, which declares what it is and does it:

    NAME            the command and job name: /bin/<NAME>, last-<NAME>.json, restic_<NAME>.prom
                    (a name with "-" lives in a module with "_": restore-test in restore_test.py)
    SUMMARY         one line for --help
    TAKES_RUN_LOCK  whether a run holds the local run lock
    AUTO_UNLOCK     whether RESTIC_AUTO_UNLOCK may clear stale locks after a failed run
    CRON_VARIABLE   the variable that schedules it ("BACKUP_CRON"), or None: never scheduled;
                    with CRON_DEFAULT and CRON_HELP, its row in the environment reference;
                    optional CRON_OLD_NAME, the shell image's deprecated name of it (SYNC_CRON);
                    a scheduled job also gets HEALTHCHECK_URL_<NAME> and <NAME>_TIMEOUT
    FIELDS          its extra fields in last-<NAME>.json (null when a run stopped before it)
    GAUGES          the FIELDS that become gauges in the .prom file (never ids or tags)
    RUNS_ON_BAD_CONFIGURATION
                    optional, True for doctor and status: the job runs, and reports, when the
                    settings have problems, where any other job exits 2 before it starts
    NOTIFIES        optional, False for notify-test: its run sends no mail or webhook of its own
    SETTINGS        optional: the job's own variables (RESTORE_TEST_MIN_FILES), rows of the
                    settings table like any other
    requirements(settings) -> list[str]
                    what it lacks before restic can do its work, one message per problem
    add_arguments(parser), run(context) -> WorkerReport
                    its own options, and the run itself: it knows restic and nothing else

The scheduler, config-check, cron-list, the metrics reporter, the mail subject and the
generated docs read the registry. A new job is one module, one entry in NAMES and its
bin/<name> launcher (a test checks each registered job has one). See docs/development/jobs.md.
"""

import importlib
from collections.abc import Mapping
from types import ModuleType

from helper import settings
from helper.settings import Setting, Settings, kinds

NAMES = (
    "backup",
    "forget",
    "prune",
    "check",
    "unlock",
    "restore",
    "restore-test",
    "forget-preview",
    "init-repo",
    "snapshot-export",
    "mount-snapshot",
    "rotate_log",
    "replicate",
    "status",
    "doctor",
    "notify-test",
    "sources-report",
)


# Other names of a job, as the shell image's symlinks (/bin/health-summary runs status): one
# line each, alias -> job; bin/<alias> is its launcher.
ALIASES: dict[str, str] = {"bisync": "replicate", "health-summary": "status"}


def named(word: str) -> str | None:
    """The job a command word names, spelt with "-" or "_" (`restore-test`, `restore_test`),
    directly or by an alias, or None."""
    wanted = word.replace("-", "_")
    aliased = next((job for alias, job in ALIASES.items() if alias.replace("-", "_") == wanted), None)
    if aliased:
        return aliased
    return next((name for name in NAMES if name.replace("-", "_") == wanted), None)


def load(name: str) -> ModuleType:
    """Return the module of a job from NAMES, by either spelling of its name."""
    found = named(name)
    if found is None:
        raise KeyError(name)
    return importlib.import_module(f"helper.workers.{found.replace('-', '_')}")


def all_jobs() -> tuple[ModuleType, ...]:
    """Every job, in NAMES order."""
    return tuple(load(name) for name in NAMES)


def scheduled() -> tuple[ModuleType, ...]:
    """The jobs a `*_CRON` variable schedules (all but unlock)."""
    return tuple(job for job in all_jobs() if job.CRON_VARIABLE)


def job_settings() -> tuple[Setting, ...]:
    """Each scheduled job's `*_CRON` variable, then every job's own SETTINGS, as rows of the
    settings table."""
    schedules = tuple(
        Setting(
            job.CRON_VARIABLE,
            kinds.CRON,
            job.CRON_DEFAULT,
            job.CRON_HELP,
            "Schedules",
            old_name=getattr(job, "CRON_OLD_NAME", ""),
        )
        for job in scheduled()
    )
    pings = tuple(
        Setting(
            ping_variable(job.NAME),
            kinds.TEXT,
            "",
            f"The ping URL of {job.NAME} (see HEALTHCHECK_URL); masked.",
            "Pings",
            secret=True,
        )
        for job in scheduled()
    )
    time_limits = tuple(
        Setting(
            timeout_variable(job.NAME),
            kinds.TIME_LIMIT,
            "",
            f"The longest a {job.NAME} run may take (`6h`); then restic gets SIGINT, and SIGKILL "
            "if it lingers, and the run ends `timeout` (exit 124). Empty: no limit.",
            "Jobs",
        )
        for job in scheduled()
    )
    own = tuple(row for job in all_jobs() for row in getattr(job, "SETTINGS", ()))
    return schedules + pings + time_limits + own


def ping_variable(job: str) -> str:
    """The variable of a job's own ping URL: HEALTHCHECK_URL_RESTORE_TEST for restore-test."""
    return "HEALTHCHECK_URL_" + job.upper().replace("-", "_")


def timeout_variable(job: str) -> str:
    """The variable of a job's time limit: RESTORE_TEST_TIMEOUT for restore-test."""
    return job.upper().replace("-", "_") + "_TIMEOUT"


def time_limit(job: str, settings: Settings) -> float:
    """A job's time limit in seconds, 0 for none (a job that no schedule runs has none)."""
    return float(settings.values.get(timeout_variable(job).lower(), 0))  # type: ignore[arg-type]


def settings_table() -> tuple[Setting, ...]:
    """Every variable the helper reads: the settings table plus the jobs' own."""
    return settings.extended(job_settings())


def load_settings(environment: Mapping[str, str] | None = None) -> tuple[Settings, tuple[str, ...]]:
    """settings.load over settings_table(): what a worker run and the scheduler read."""
    return settings.load(environment, settings_table())
