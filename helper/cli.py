"""argv -> command. A registry dict, not an if/elif chain: a new command is one entry."""

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from helper import workers
from helper.outcome import EXIT_CANNOT_START, EXIT_CONFIG_ERROR, EXIT_OK
from helper.settings.kinds import parse_duration


def duration_argument(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def worker_command(name: str, alias: str | None = None) -> Callable[[list[str]], int]:
    """The command of a job, called by its name or by an alias (the job sees `options.alias`)."""

    def command(argv: list[str]) -> int:
        from helper import envelope, settings

        worker = workers.load(name)
        parser = argparse.ArgumentParser(prog=f"/bin/{alias or name}", description=worker.SUMMARY)
        parser.set_defaults(alias=alias)
        parser.add_argument(
            "--lock-wait",
            type=duration_argument,
            metavar="DURATION",
            help="wait up to this long in total (e.g. 90s, 5m, 1h30m) for the run lock and "
            "repository locks instead of skipping (default: 0, or SCHEDULE_LOCK_WAIT for "
            "scheduled runs)",
        )
        parser.add_argument("--scheduled", action="store_true", help=argparse.SUPPRESS)
        worker.add_arguments(parser)
        options = parser.parse_args(argv)
        loaded, problems = workers.load_settings()
        settings.apply_time_zone(loaded)
        lock_wait = options.lock_wait
        if lock_wait is None:
            lock_wait = loaded.schedule_lock_wait if options.scheduled else 0.0
        return envelope.run(worker, options, loaded, problems, lock_wait)

    return command


def locked_run(argv: list[str]) -> int:
    """`locked_run <job> <lockfile> <command…>`: run a command under a non-blocking flock."""
    from helper import settings
    from helper.locks import run_lock
    from helper.locks.budget import WaitBudget
    from helper.report import skips

    parser = argparse.ArgumentParser(
        prog="locked_run",
        description="Run a command while holding a local run lock; when the "
        "lock is busy, log a skip and exit 0.",
    )
    parser.add_argument("job")
    parser.add_argument("lockfile")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if not options.command:
        parser.error("a command to run is required")
    loaded, _ = settings.load()
    path = os.path.abspath(options.lockfile)
    try:
        lock = run_lock.acquire(Path(path), options.job, WaitBudget(0), loaded.lock_force_inactive)
    except OSError as error:
        sys.stderr.write(f"locked_run: cannot use the lock file {path}: {error.strerror}\n")
        return EXIT_CONFIG_ERROR
    if isinstance(lock, run_lock.Busy):
        return skips.busy_run_lock(options.job, lock, loaded)
    if lock.took_over_from:
        sys.stderr.write(loaded.masker.mask(f"⚠️ locked_run: {lock.takeover_message()}") + "\n")
        sys.stderr.flush()
    os.set_inheritable(lock.descriptor, True)
    os.environ[run_lock.HELD_LOCK_VARIABLE] = path
    try:
        os.execvp(options.command[0], options.command)  # noqa: S606 - exec keeps the lock fd
    except OSError as error:
        sys.stderr.write(f"locked_run: cannot run {options.command[0]}: {error.strerror}\n")
        return EXIT_CANNOT_START


def lazy(module_name: str) -> Callable[[list[str]], int]:
    """A command whose module is imported only when it runs, to keep worker start-up cheap."""

    def command(argv: list[str]) -> int:
        return importlib.import_module(module_name).main(argv)

    return command


# Keys use underscores; `config-check` and `/bin/locked-run` are accepted too.
COMMANDS: dict[str, Callable[[list[str]], int]] = {
    **{name.replace("-", "_"): worker_command(name) for name in workers.NAMES},
    **{alias.replace("-", "_"): worker_command(job, alias) for alias, job in workers.ALIASES.items()},
    "locked_run": locked_run,
    "entry": lazy("helper.entry"),
    "scheduler": lazy("helper.scheduler"),
    "config_check": lazy("helper.diagnostics.config_check"),
    "cron_list": lazy("helper.diagnostics.cron_list"),
    "healthcheck": lazy("helper.diagnostics.healthcheck"),
}


def usage() -> str:
    names = ",".join(sorted(name.replace("_", "-") for name in COMMANDS))
    return f"usage: python3 -m helper {{{names}}} [options]\n"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(usage())
        return EXIT_OK if argv else EXIT_CONFIG_ERROR
    command = COMMANDS.get(os.path.basename(argv[0]).replace("-", "_"))
    if command is None:
        sys.stderr.write(f"unknown command {argv[0]!r}\n" + usage())
        return EXIT_CONFIG_ERROR
    return command(argv[1:])
