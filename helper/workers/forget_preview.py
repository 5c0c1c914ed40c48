"""/bin/forget-preview: what the retention policy would keep and remove, and why, without
removing anything and without a lock.

The shell image ran `restic forget --dry-run`, which takes the repository's exclusive lock:
a preview blocked every other host's backup while it ran, and failed when any backup was
running. restic 0.17+ accepts `--no-lock` with `--dry-run`, so the preview takes no lock at
all (measured, see docs/workers/forget-preview.md).
"""

import argparse
import logging

from helper.outcome import EXIT_OK
from helper.settings import Settings, kinds
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "forget-preview"
SUMMARY = "Show what the retention policy would keep and remove, and why (no lock, no change)."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = (
    *("repo_wide", "policy_args", "extra_args", "host_filter", "tag_filter"),
    *("snapshots_kept", "snapshots_removed", "groups"),
)
GAUGES = ("snapshots_kept", "snapshots_removed")


def requirements(settings: Settings) -> list[str]:
    """The policy may come from --policy, so the run checks it."""
    return []


def words(text: str) -> tuple[str, ...]:
    try:
        return kinds.parse_arguments(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", type=words, metavar='"ARGS"', help="the policy (default RESTIC_FORGET_ARGS)"
    )
    parser.add_argument(
        "--extra", type=words, default=(), metavar='"ARGS"', help="more restic forget arguments"
    )
    parser.add_argument("--host", help="only this host's snapshots (default: this hostname)")
    parser.add_argument("--tag", help="only snapshots with this tag (default: RESTIC_TAG)")
    parser.add_argument(
        "--repo-wide",
        action="store_true",
        help="every host's and tag's snapshots (the default with FORGET_SCOPE=repository)",
    )


def build_command(
    policy: tuple[str, ...], host: str | None, tag: str | None, extra: tuple[str, ...]
) -> tuple:
    scope = (*(("--host", host) if host else ()), *(("--tag", tag) if tag else ()))
    return ("forget", "--dry-run", "--no-lock", "--json", *policy, *scope, *extra)


def describe_group(group: dict) -> list[str]:
    """A group's heading, then one line per snapshot, newest first: keep or remove, and why."""
    reasons = {
        reason["snapshot"].get("id"): reason.get("matches") or [] for reason in group.get("reasons") or []
    }
    heading = f"host {group.get('host') or '-'}, tags {','.join(group.get('tags') or []) or '-'}, "
    lines = [heading + f"paths {', '.join(group.get('paths') or []) or '-'}"]
    marked = [(snapshot, "keep") for snapshot in group.get("keep") or []]
    marked += [(snapshot, "remove") for snapshot in group.get("remove") or []]
    for snapshot, verdict in sorted(marked, key=lambda pair: pair[0].get("time", ""), reverse=True):
        why = ", ".join(reasons.get(snapshot.get("id"), [])) if verdict == "keep" else ""
        lines.append(
            f"  {snapshot.get('short_id', '')[:8]:8}  {snapshot.get('time', '')[:19]:19}  {verdict:6}  {why}"
        )
    return lines


def summarise(groups: list[dict]) -> dict:
    return {
        "snapshots_kept": sum(len(group.get("keep") or []) for group in groups),
        "snapshots_removed": sum(len(group.get("remove") or []) for group in groups),
        "groups": [
            {
                "host": group.get("host"),
                "tags": group.get("tags") or [],
                "paths": group.get("paths") or [],
                "keep": [snapshot.get("short_id") for snapshot in group.get("keep") or []],
                "remove": [snapshot.get("short_id") for snapshot in group.get("remove") or []],
            }
            for group in groups
        ],
    }


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    policy = options.policy if options.policy is not None else settings.restic_forget_args
    # What /bin/forget would judge: the whole repository on an owner with FORGET_SCOPE=repository.
    owner = settings.forget_scope == "repository" and options.host is None and options.tag is None
    repo_wide = options.repo_wide or owner
    host = None if repo_wide else (settings.hostname if options.host is None else options.host)
    tag = None if repo_wide else (settings.restic_tag if options.tag is None else options.tag)
    extras = {"repo_wide": repo_wide, "policy_args": list(policy), "extra_args": list(options.extra)}
    extras.update(host_filter=host, tag_filter=tag)
    if not policy:
        return config_error("no retention policy: set RESTIC_FORGET_ARGS or pass --policy", extras)
    if not repo_wide and not (host and tag):
        return config_error(
            "--host and --tag must not be empty; pass --repo-wide to preview every group", extras
        )
    completed = context.restic.run(*build_command(policy, host, tag, options.extra), echo=False)
    if completed.exit_code != EXIT_OK:
        return report_from(completed, extras)
    groups = completed.listed() or []
    for group in groups:
        for line in describe_group(group):
            logger.info(line)
    extras.update(summarise(groups))
    logger.info(f"would keep {extras['snapshots_kept']} and remove {extras['snapshots_removed']} snapshot(s)")
    return report_from(completed, extras)
