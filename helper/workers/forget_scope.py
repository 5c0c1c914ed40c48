"""FORGET_SCOPE: which snapshots a forget judges. Light on purpose: config-check and the
scheduler read its warnings without loading the forget job itself."""

import re

from helper.settings import Settings

# A hostname Docker made up (the container id's first 12 hex digits) changes with every new
# container: each one starts a group that a host-scoped forget never visits again.
CONTAINER_ID = re.compile(r"[0-9a-f]{12}")
# Words by which RESTIC_FORGET_ARGS chooses its own snapshots, where FORGET_SCOPE adds nothing.
OWN_FILTERS = ("--host", "--tag", "--path")


def scope(settings: Settings) -> tuple[str, ...]:
    """FORGET_SCOPE as restic filters: this host and RESTIC_TAG, unless the scope is the whole
    repository or RESTIC_FORGET_ARGS chooses its snapshots itself."""
    policy = settings.restic_forget_args
    chosen = any(word.split("=", 1)[0] in OWN_FILTERS for word in policy)
    if settings.forget_scope == "repository" or chosen:
        return ()
    return ("--host", settings.hostname, *(("--tag", settings.restic_tag) if settings.restic_tag else ()))


def scope_name(settings: Settings) -> str:
    """Which snapshots forget judged, for its record: `host`, `repository`, or those that
    RESTIC_FORGET_ARGS chose itself."""
    if scope(settings):
        return "host"
    return "repository" if settings.forget_scope == "repository" else "RESTIC_FORGET_ARGS"


def forgets_nothing(settings: Settings) -> bool:
    """Whether this is a maintenance owner left at FORGET_SCOPE=host: it forgets only its own
    snapshots, and takes none."""
    return bool(settings.forget_cron and not settings.backup_cron and scope(settings))


OWNER_AT_HOST_SCOPE = (
    "FORGET_SCOPE: this host runs forget but no backup, and FORGET_SCOPE=host keeps its forget "
    "to this host's own snapshots: set FORGET_SCOPE=repository where one owner applies "
    "retention for every host"
)


def scope_warnings(settings: Settings) -> list[str]:
    """config-check's warnings about FORGET_SCOPE=host where it cannot be what was meant."""
    warnings = [OWNER_AT_HOST_SCOPE] if forgets_nothing(settings) else []
    if settings.restic_forget_args and scope(settings) and CONTAINER_ID.fullmatch(settings.hostname):
        warnings.append(
            f"FORGET_SCOPE: host {settings.hostname} looks like a container id: every new container "
            "starts a group of snapshots that a host-scoped forget never visits again; set "
            "`hostname:` in compose, or FORGET_SCOPE=repository on the one maintenance owner"
        )
    return warnings
