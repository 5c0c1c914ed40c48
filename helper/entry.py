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
import shutil
import subprocess
import sys
import textwrap

from helper import cli, mounts, settings, stop, workers
from helper.command_names import command_name
from helper.outcome import EXIT_CANNOT_START, EXIT_CONFIG_ERROR, EXIT_FAILED, EXIT_OK

# The commands of helper.cli that the container's entrypoint runs itself rather than exec'ing.
DIAGNOSTICS = frozenset({"config_check", "cron_list", "healthcheck", "scheduler"})


def run_worker(name: str, arguments: list[str]) -> int:
    """One worker run, in this process. A stop before the envelope starts the run is noted, and
    the envelope records the run as interrupted before it started (exit 130)."""
    stop.TOKEN.install()
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


# Where the shell image mounted NFS_TARGET, and what to do instead where the container may not.
NFS_MOUNT_POINT = "/mnt/restic"
NFS_VOLUME_HINT = (
    "mount the export as a volume on /mnt/restic instead, e.g. in compose: volumes: {repository: "
    '{driver: local, driver_opts: {type: nfs, o: "addr=HOST,nolock,soft,rw", device: ":/export"}}}'
)
MOUNT_SECONDS = 60


def mount_nfs_target() -> int | None:
    """NFS_TARGET: mount it on /mnt/restic as the shell image did. Return None to go on, or the
    exit code: 2 when this container may not mount (without that mount, restic would create a
    repository in the container's own layer), 1 when the mount fails."""
    loaded, _ = settings.load()
    target = loaded.nfs_target
    if not target or mounts.is_mount_point(NFS_MOUNT_POINT):
        return None
    missing = (
        []
        if mounts.may_mount(mounts.PROCESS_STATUS.read_text())
        else ["CAP_SYS_ADMIN (cap_add: [SYS_ADMIN])"]
    )
    if not shutil.which("mount.nfs", path="/usr/sbin:/sbin:" + os.environ.get("PATH", "")):
        missing.append("mount.nfs (Debian's nfs-common)")
    if missing:
        sys.stderr.write(
            f"entry: NFS_TARGET is set, but this container lacks {' and '.join(missing)}; {NFS_VOLUME_HINT}\n"
        )
        return EXIT_CONFIG_ERROR
    command = ["mount", "-t", "nfs", "-o", "nolock", target, NFS_MOUNT_POINT]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=MOUNT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        completed = subprocess.CompletedProcess(
            command, EXIT_FAILED, "", f"no answer within {MOUNT_SECONDS}s"
        )
    if completed.returncode != 0:
        reason = loaded.masker.mask(completed.stderr.strip() or f"exit {completed.returncode}")
        sys.stderr.write(f"entry: NFS_TARGET: cannot mount {target} on {NFS_MOUNT_POINT}: {reason}\n")
        return EXIT_FAILED
    sys.stdout.write(f"entry: NFS_TARGET {target} mounted on {NFS_MOUNT_POINT}\n")
    return None


def main(argv: list[str]) -> int:
    """Given the container's arguments, run the scheduler, one worker, a diagnostic or a command."""
    if argv and is_cron_log_tail(argv):
        sys.stdout.write(
            f"entry: `{' '.join(argv)}` kept the shell image's container running beside crond; "
            "starting the scheduler instead (its lines also go to LOG_DIR/cron.log)\n"
        )
        sys.stdout.flush()
        argv = []
    name = command_name(argv[0]) if argv else "scheduler"
    # The scheduler and one-shot runs use the repository; diagnostics and a shell need not.
    if (name == "scheduler" or workers.named(name)) and (refused := mount_nfs_target()) is not None:
        return refused
    if not argv:
        return cli.COMMANDS["scheduler"]([])
    if argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(
            "usage: bin/entry [COMMAND [ARGUMENTS...]]\n\n" + textwrap.dedent(__doc__.split("\n", 2)[2])
        )
        return EXIT_OK
    if workers.named(name):
        return run_worker(name, argv[1:])
    if name in DIAGNOSTICS:
        return cli.COMMANDS[name](argv[1:])
    if not argv[0]:
        sys.stderr.write("entry: an empty command name\n")
        return EXIT_CONFIG_ERROR
    return exec_command(argv)
