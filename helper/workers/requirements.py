"""What a job needs from the settings before restic can do its work, defined once: the worker
refuses a run that lacks it (a configuration error, exit 2), and the scheduler and
config-check refuse to schedule such a job.

PID 1 imports this module, so it imports nothing but the settings.
"""

from collections.abc import Callable

from helper.settings import Settings

NO_TAG = "RESTIC_TAG is empty: every backup needs a tag"
NO_SOURCE = (
    "neither BACKUP_ROOT_DIR nor RESTIC_JOB_ARGS names anything to back up (set BACKUP_ROOT_DIR "
    "to a path, or give paths, --files-from or --stdin-from-command in RESTIC_JOB_ARGS)"
)
NO_POLICY = "RESTIC_FORGET_ARGS is empty: no retention policy configured (for example --keep-daily 7)"


def backup(settings: Settings) -> list[str]:
    """A tag, and something to back up. Which RESTIC_JOB_ARGS name a source is restic's to
    judge: any value passes here."""
    problems = [] if settings.restic_tag else [NO_TAG]
    if not settings.backup_root_dir and not settings.restic_job_args:
        problems.append(NO_SOURCE)
    return problems


def forget(settings: Settings) -> list[str]:
    """A retention policy: restic forget without one removes nothing."""
    return [] if settings.restic_forget_args else [NO_POLICY]


BY_JOB: dict[str, Callable[[Settings], list[str]]] = {"backup": backup, "forget": forget}


def missing(job: str, settings: Settings) -> list[str]:
    """Return what `job` lacks in `settings`, one message per problem, each naming its
    variables; empty when the job can run."""
    check = BY_JOB.get(job)
    return check(settings) if check else []
