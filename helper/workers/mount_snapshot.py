"""/bin/mount-snapshot: browse the repository's snapshots as files (`restic mount`) on
/fusemount, until SIGTERM or SIGINT. A stop is this command's normal end: restic unmounts,
and the run is ok (exit 0).

While mounted, restic holds a non-exclusive lock: other hosts' backups go on, but a forget,
prune or check waits until the mount ends.
"""

import argparse
import logging
from pathlib import Path

from helper.settings import Settings
from helper.workers import fuse, targets
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "mount-snapshot"
SUMMARY = "Mount the repository's snapshots on /fusemount (restic mount) until stopped."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = ("target", "repo_wide", "allow_other", "host_filter", "tag_filter", "path_filters", "unmounted")
GAUGES = ()

# Directories a mount would hide from the container itself (the shell image's list).
SYSTEM_DIRECTORIES = frozenset(
    [
        "/bin",
        "/sbin",
        "/usr",
        "/etc",
        "/lib",
        "/lib64",
        "/var",
        "/var/log",
        "/var/run",
        "/var/spool",
        "/var/spool/cron",
        "/run",
        "/proc",
        "/sys",
        "/dev",
        "/tmp",  # noqa: S108 - a directory to protect, not one to write in
        "/data",
        "/host",
        "/config",
        "/hooks",
        "/mnt",
        "/mnt/restic",
    ]
)


def requirements(settings: Settings) -> list[str]:
    """mount-snapshot needs nothing beyond the repository; FUSE is checked when it runs."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="/fusemount", help="where to mount (default /fusemount)")
    parser.add_argument("--host", help="only this host's snapshots (default: this hostname)")
    parser.add_argument("--tag", help="only snapshots with this tag (default: RESTIC_TAG)")
    parser.add_argument(
        "--path", action="append", default=[], help="only snapshots of this path (repeatable)"
    )
    parser.add_argument("--repo-wide", action="store_true", help="every host's and tag's snapshots")
    parser.add_argument("--allow-other", action="store_true", help="let other users read the mount")
    parser.add_argument("--force", action="store_true", help="mount on a system directory or a non-empty one")


def target_refusal(target: Path, settings: Settings, force: bool) -> str | None:
    """Why `target` must not be the mount point, naming --target; None when it may be. The
    root and BACKUP_ROOT_DIR or a local repository (or inside or above them) are refused even
    with --force, a system directory or a non-empty one only without it."""
    if target.resolve() == Path("/"):
        return f"--target {target}: refusing to mount over the root directory"
    if not force and str(target.resolve()) in SYSTEM_DIRECTORIES:
        return f"--target {target}: a system directory the container needs; pass --force to hide it anyway"
    if clash := targets.guarded_overlap("--target", target, settings):
        return clash
    if target.exists() and (not target.is_dir() or (not force and any(target.iterdir()))):
        return f"--target {target}: not an empty directory (--force mounts over a non-empty one)"
    return None


def build_command(options: argparse.Namespace, host: str | None, tag: str | None) -> tuple[str, ...]:
    words = ["mount", *(("--host", host) if host else ()), *(("--tag", tag) if tag else ())]
    words += [word for path in options.path for word in ("--path", path)]
    return (*words, *(["--allow-other"] * options.allow_other), options.target)


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    host = None if options.repo_wide else (settings.hostname if options.host is None else options.host)
    tag = None if options.repo_wide else (settings.restic_tag if options.tag is None else options.tag)
    target = Path(options.target)
    extras = {"target": str(target), "repo_wide": options.repo_wide, "allow_other": options.allow_other}
    extras.update(host_filter=host, tag_filter=tag, path_filters=list(options.path))
    if not options.repo_wide and not (host and tag):
        return config_error(
            "--host and --tag must not be empty; pass --repo-wide to mount every snapshot", extras
        )
    if refusal := target_refusal(target, settings, options.force):
        return config_error(refusal, extras)
    if blockers := fuse.preflight():
        hint = f"; for example `{fuse.DOCKER_RUN} …`, or in compose: {fuse.COMPOSE}"
        return config_error("cannot mount FUSE here: " + "; ".join(blockers) + hint, extras)
    target.mkdir(parents=True, exist_ok=True)
    logger.info(f"🗂 mounting the snapshots on {target}; stop with SIGTERM or Ctrl-C (docker stop, kill)")
    try:
        completed = context.locks.run(*build_command(options, host, tag))
    finally:
        extras["unmounted"] = fuse.unmount(target)
    if not extras["unmounted"]:
        logger.warning(f"{target} is still mounted: run fusermount3 -u {target}")
    report = report_from(completed, extras)
    if report.error and "fuse" in completed.stderr.lower():
        # The pre-flight passed, yet the kernel or fusermount refused (a seccomp or LSM rule).
        hint = (
            f"{report.error}; FUSE refused the mount: check `{fuse.DOCKER_RUN}` (see restic's message above)"
        )
        return WorkerReport(report.outcome, extras, hint)
    return report
