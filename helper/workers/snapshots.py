"""Which snapshot an operator's command means, for restore, restore-test, snapshot-export and
mount-snapshot: `--id` (default latest) narrowed by `--tag`, `--host` and `--path`, resolved to
one real snapshot before anything is written, so the audit names the snapshot and not "latest".
"""

import argparse
import sys
from dataclasses import dataclass

from helper.outcome import EXIT_CONFIG_ERROR, EXIT_FAILED, Outcome, Status
from helper.restic import Completed
from helper.settings import Settings
from helper.workers import terminal
from helper.workers.context import RunContext, WorkerReport, report_from

LATEST = "latest"


@dataclass(frozen=True)
class Selection:
    """The snapshot asked for: an id (or "latest") and the filters that narrow "latest"."""

    snapshot: str
    tags: tuple[str, ...]
    hosts: tuple[str, ...]
    paths: tuple[str, ...]

    def filter_arguments(self) -> tuple[str, ...]:
        """The filters as restic's flags (`--tag t --host h --path p`)."""
        pairs = [("--tag", tag) for tag in self.tags] + [("--host", host) for host in self.hosts]
        pairs += [("--path", path) for path in self.paths]
        return tuple(word for pair in pairs for word in pair)

    def describe(self) -> str:
        filters = [f"tag {', '.join(self.tags)}"] if self.tags else []
        filters += [f"host {', '.join(self.hosts)}"] if self.hosts else []
        filters += [f"path {', '.join(self.paths)}"] if self.paths else []
        return f"{self.snapshot} ({'; '.join(filters)})" if filters else self.snapshot


@dataclass(frozen=True)
class Snapshot:
    """One snapshot as `restic snapshots --json` lists it."""

    id: str
    time: str
    hostname: str
    tags: tuple[str, ...]
    paths: tuple[str, ...]

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @classmethod
    def from_json(cls, item: dict) -> "Snapshot":
        return cls(
            id=str(item.get("id", "")),
            time=str(item.get("time", "")),
            hostname=str(item.get("hostname", "")),
            tags=tuple(item.get("tags") or ()),
            paths=tuple(item.get("paths") or ()),
        )


def add_arguments(parser: argparse.ArgumentParser, paths_help: str | None = None) -> None:
    """--id, --tag, --host and --path, with the shell image's defaults."""
    parser.add_argument("--id", default=LATEST, help="the snapshot id, or latest (default)")
    parser.add_argument(
        "--tag",
        help='only snapshots with this tag (default: RESTIC_TAG; "" for any tag)',
    )
    parser.add_argument(
        "--host",
        help='only snapshots of this host (default: this hostname; "" for any host)',
    )
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="PATH",
        help=paths_help or "only snapshots that include this path (repeatable)",
    )


def selection(options: argparse.Namespace, settings: Settings, paths: bool = True) -> Selection:
    """The selection the options ask for; the defaults are RESTIC_TAG and this hostname, and an
    empty --tag or --host lifts that filter. Given paths=False, --path is the caller's."""
    tag = settings.restic_tag if options.tag is None else options.tag
    host = settings.hostname if options.host is None else options.host
    return Selection(
        snapshot=options.id,
        tags=(tag,) if tag else (),
        hosts=(host,) if host else (),
        paths=tuple(options.path) if paths else (),
    )


def listed(context: RunContext, chosen: Selection) -> tuple[list[Snapshot], WorkerReport | None]:
    """Every snapshot the filters match, newest first, or the report of a listing that failed."""
    completed = context.locks.run("snapshots", "--json", *chosen.filter_arguments(), echo=False)
    if completed.exit_code != 0:
        return [], report_from(completed)
    items = completed.listed() or []
    snapshots = [Snapshot.from_json(item) for item in items if isinstance(item, dict)]
    return sorted(snapshots, key=lambda snapshot: snapshot.time, reverse=True), None


def given(reference: str) -> Snapshot:
    """A snapshot named by the operator's --id and not looked up: restic checks it as it
    restores, which saves opening the repository (and deriving its key) once more."""
    return Snapshot(id=reference, time="", hostname="", tags=(), paths=())


def no_such_id(reference: str) -> WorkerReport:
    message = f"--id {reference}: no snapshot has this id (or the prefix is ambiguous)"
    return WorkerReport(Outcome(Status.FAILED, EXIT_CONFIG_ERROR, message), {}, message)


def unknown_to_restic(completed: Completed, reference: str) -> WorkerReport | None:
    """The report of a restic call that found no single snapshot for an --id it was given
    (bad input, exit 2), or None."""
    unknown = "no matching ID found" in completed.stderr or "multiple IDs with prefix" in completed.stderr
    return no_such_id(reference) if completed.exit_code == EXIT_FAILED and unknown else None


def resolve(context: RunContext, chosen: Selection) -> tuple[Snapshot | None, WorkerReport | None]:
    """The one snapshot the selection means, or the report of why there is none: an unknown
    --id is bad input (exit 2); no snapshot matching the filters is a failure (exit 1)."""
    reference = () if chosen.snapshot == LATEST else (chosen.snapshot,)
    filters = chosen.filter_arguments() if chosen.snapshot == LATEST else ()
    completed = context.locks.run("snapshots", "--json", *filters, *reference, echo=False)
    if completed.exit_code != 0:
        return None, report_from(completed)
    items = completed.listed() or []
    found = sorted((Snapshot.from_json(item) for item in items), key=lambda snapshot: snapshot.time)
    if found:
        return found[-1], None
    if chosen.snapshot != LATEST:
        return None, no_such_id(chosen.snapshot)
    message = f"no snapshot matches {chosen.describe()}; see /bin/restore --list, or pass --tag '' --host ''"
    return None, WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), {}, message)


def pick(context: RunContext, chosen: Selection) -> tuple[Snapshot | None, WorkerReport | None]:
    """At a terminal, without --id: the operator picks one of the newest ten (Enter: the newest);
    (None, None) when the operator cancels."""
    found, failure = listed(context, chosen)
    if failure is not None or not found:
        return resolve(context, chosen) if failure is None else (None, failure)
    for line in table(found[:10]):
        sys.stdout.write(line + "\n")
    while True:
        answer = terminal.ask("snapshot number or id [1, q to cancel]: ")
        if answer is None or answer.lower() == "q":
            return None, None
        if not answer or (answer.isdigit() and 1 <= int(answer) <= min(10, len(found))):
            return found[int(answer or 1) - 1], None
        matching = [snapshot for snapshot in found if snapshot.id.startswith(answer)]
        if len(matching) == 1:
            return matching[0], None
        sys.stdout.write(f"no single listed snapshot is {answer!r}\n")


def table(snapshots: list[Snapshot]) -> list[str]:
    """Numbered lines, newest first, for --list and the interactive choice."""
    lines = [f"{'#':>3}  {'id':8}  {'time':19}  {'host':16}  {'tags':16}  paths"]
    for number, snapshot in enumerate(snapshots, 1):
        lines.append(
            f"{number:>3}  {snapshot.short_id:8}  {snapshot.time[:19].replace('T', ' '):19}  "
            f"{snapshot.hostname[:16]:16}  {','.join(snapshot.tags)[:16]:16}  {', '.join(snapshot.paths)}"
        )
    return lines
