"""The container's ENTRYPOINT (bin/entry).

(no arguments)              validate the settings, probe the repository, run the scheduler
JOB [options]               one run of a job (backup, forget, prune, check, unlock, restore,
                            ...; `/bin/forget` works too); exit with its code. No
                            scheduler, probe or init.
config-check [--json]       validate every setting; exit 0, or 2 on errors
cron-list [--json]          TZ, now, and each job's schedule with its next 5 fire times
healthcheck                 is the scheduler alive, with a recent heartbeat?
tail -fn0 /var/log/cron.log the shell image's command: runs the scheduler, as no arguments do
anything else               exec'd as given (sh, restic snapshots, ...)
"""

import os
import signal
import sys
import textwrap

from helper import cli, workers
from helper.command_names import command_name
from helper.outcome import EXIT_CANNOT_START, EXIT_CONFIG_ERROR, EXIT_OK

# The commands of helper.cli that the container's entrypoint runs itself rather than exec'ing.
DIAGNOSTICS = frozenset({"config_check", "cron_list", "healthcheck", "scheduler"})


def run_worker(name: str, arguments: list[str]) -> int:
    """One worker run, in this process. As PID 1, SIGTERM is ignored unless handled: until the
    envelope forwards it to restic, it ends the run (exit 130) instead."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return cli.COMMANDS[name](arguments)


def exec_command(argv: list[str]) -> int:
    """Replace this process with the command, for debugging (`docker run IMAGE sh`)."""
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)  # noqa: S606 - the operator's own command, by design
    except OSError as error:
        sys.stderr.write(f"entry: cannot run {argv[0]}: {error.strerror}\n")
    return EXIT_CANNOT_START


# The shell image's compose files keep its container alive with `command: tail -fn0
# /var/log/cron.log` while crond runs the jobs. Here that command means: run the scheduler.
TAIL_FOLLOW_OPTIONS = frozenset({"-f", "-F", "-fn0", "-Fn0", "-n0", "-n", "0", "--follow", "--retry", "-q"})


def is_cron_log_tail(argv: list[str]) -> bool:
    """Whether the container's command is the shell image's `tail -f… /var/log/cron.log`."""
    if len(argv) < 2 or argv[0] not in ("tail", "/usr/bin/tail", "/bin/tail"):
        return False
    *options, path = argv[1:]
    return path.endswith("/cron.log") and bool(options) and set(options) <= TAIL_FOLLOW_OPTIONS


def main(argv: list[str]) -> int:
    """Given the container's arguments, run the scheduler, one worker, a diagnostic or a command."""
    if argv and is_cron_log_tail(argv):
        sys.stdout.write(
            f"entry: `{' '.join(argv)}` kept the shell image's container running beside crond; "
            "starting the scheduler instead (its lines also go to LOG_DIR/cron.log)\n"
        )
        sys.stdout.flush()
        argv = []
    if not argv:
        return cli.COMMANDS["scheduler"]([])
    if argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(
            "usage: bin/entry [COMMAND [ARGUMENTS...]]\n\n" + textwrap.dedent(__doc__.split("\n", 2)[2])
        )
        return EXIT_OK
    name = command_name(argv[0])
    if workers.named(name):
        return run_worker(name, argv[1:])
    if name in DIAGNOSTICS:
        return cli.COMMANDS[name](argv[1:])
    if not argv[0]:
        sys.stderr.write("entry: an empty command name\n")
        return EXIT_CONFIG_ERROR
    return exec_command(argv)
