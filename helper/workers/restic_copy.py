"""The restic mode of /bin/replicate: `restic copy` of this helper's snapshots from
RESTIC_REPOSITORY into a second repository, REPLICATE_REPOSITORY.

restic copies into the repository it is given as RESTIC_REPOSITORY and reads the source from
the RESTIC_FROM_* variables, so restic's child gets our repository's variables under their
RESTIC_FROM_ names and the second repository's under the plain ones: passwords travel in the
environment (or the operator's password file or command), never on the command line. restic
copy takes a non-exclusive lock on each repository; a lock conflict on either is waited out
by the run's lock session, which then watches the locks of both.
"""

import dataclasses
import logging
import re

from helper.locks.session import RepositoryLocks
from helper.logs import FILE_ONLY
from helper.outcome import EXIT_REPOSITORY_MISSING, EXIT_WRONG_PASSWORD, Outcome, Status
from helper.restic import runner
from helper.settings import Settings
from helper.workers.context import RunContext
from helper.workers.rclone_jobs import Replicated

logger = logging.getLogger(__name__)

# Our repository is copy's source: each variable moves to its RESTIC_FROM_ twin.
SOURCE_VARIABLES = {
    "RESTIC_REPOSITORY": "RESTIC_FROM_REPOSITORY",
    "RESTIC_REPOSITORY_FILE": "RESTIC_FROM_REPOSITORY_FILE",
    "RESTIC_PASSWORD": "RESTIC_FROM_PASSWORD",
    "RESTIC_PASSWORD_FILE": "RESTIC_FROM_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND": "RESTIC_FROM_PASSWORD_COMMAND",
    "RESTIC_KEY_HINT": "RESTIC_FROM_KEY_HINT",
}
# REPLICATE_HOST or REPLICATE_TAG set to this lifts that filter.
ANY = "*"
# restic 0.18 prints no JSON for copy; each snapshot copied ends with this line.
SAVED = re.compile(r"snapshot [0-9a-f]{8,64} saved")
HINTS = {
    EXIT_REPOSITORY_MISSING: "a repository does not exist: create REPLICATE_REPOSITORY with "
    "`restic init --from-repo <RESTIC_REPOSITORY> --copy-chunker-params` (see the replicate page)",
    EXIT_WRONG_PASSWORD: "wrong password: check RESTIC_PASSWORD and REPLICATE_PASSWORD",
}


def problems(settings: Settings) -> list[str]:
    """What the restic mode lacks, when REPLICATE_REPOSITORY asks for it."""
    if not settings.replicate_repository:
        return []
    lacking = []
    if not settings.replicate_password:
        lacking.append(
            "REPLICATE_PASSWORD: not set (set REPLICATE_PASSWORD or REPLICATE_PASSWORD_FILE, "
            "the password of REPLICATE_REPOSITORY)"
        )
    if settings.replicate_repository == settings.restic_repository:
        lacking.append("REPLICATE_REPOSITORY: is RESTIC_REPOSITORY itself; name a second repository")
    return lacking


def copy_environment(settings: Settings) -> dict[str, str]:
    """restic's environment with our repository as the source and the second as the target."""
    child = dict(settings.restic_environment)
    for name, source_name in SOURCE_VARIABLES.items():
        child.pop(source_name, None)  # an operator's own RESTIC_FROM_* must not pick the source
        if name in child:
            child[source_name] = child.pop(name)
    child["RESTIC_REPOSITORY"] = str(settings.replicate_repository)
    child["RESTIC_PASSWORD"] = str(settings.replicate_password)
    return child


def scope(settings: Settings) -> tuple[str, ...]:
    """The snapshots to copy: this host's with RESTIC_TAG (what this helper backs up), unless
    REPLICATE_HOST or REPLICATE_TAG names others or is `*`."""
    host = settings.replicate_host or settings.hostname
    tag = settings.replicate_tag or settings.restic_tag
    return (*(("--host", host) if host != ANY else ()), *(("--tag", tag) if tag and tag != ANY else ()))


def session(context: RunContext) -> RepositoryLocks:
    """A lock session on the second repository whose waits also watch our repository's locks."""
    settings = context.settings
    second = dataclasses.replace(
        settings,
        values={**settings.values, "restic_repository": settings.replicate_repository},
        restic_environment=copy_environment(settings),
    )
    restic = runner(settings, second.restic_environment)
    return RepositoryLocks(restic, second, context.locks.budget, also_watched=(context.locks.source,))


def run(context: RunContext) -> Replicated:
    settings = context.settings
    source, destination, filters = settings.restic_repository, settings.replicate_repository, scope(settings)
    logger.info(f"📦 restic copy {source} -> {destination} ({' '.join(filters) or 'every snapshot'})")
    # Kept out of the log while restic runs so that every "saved" line is counted, however many.
    completed = session(context).run("copy", *filters, echo=False)
    for line in completed.stdout.splitlines():
        logger.info(line, extra=FILE_ONLY)
    copied = len(SAVED.findall(completed.stdout))
    entry = {
        **{"source": source, "destination": destination, "mode": "restic-copy", "filters": list(filters)},
        **{"exit_code": completed.exit_code, "recovered": False, "snapshots_copied": copied, "error": None},
    }
    outcome = completed.outcome
    if outcome.status in (Status.OK, Status.WARNING):
        logger.info(f"✅ restic copy: {copied} snapshot(s) copied")
        return Replicated(outcome, entry)
    hint = HINTS.get(completed.exit_code, outcome.hint)
    message = f"restic copy {source} -> {destination} failed (restic exit {completed.exit_code}): {hint}"
    entry["error"] = hint
    logger.error(message)
    return Replicated(Outcome(outcome.status, outcome.exit_code, message), entry)
