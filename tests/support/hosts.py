"""Several "hosts" on one machine: a process whose kernel hostname differs (unshare --uts),
which is the only thing restic records as a lock's hostname."""

import subprocess


def as_host(hostname: str, argv: list[str]) -> list[str]:
    """Return argv that runs `argv` in a new UTS namespace whose hostname is `hostname`."""
    return ["unshare", "--uts", "sh", "-c", f'hostname "{hostname}" && exec "$@"', "sh", *argv]


def start_as_host(hostname: str, argv: list[str], env: dict, **popen) -> subprocess.Popen:
    return subprocess.Popen(as_host(hostname, argv), env=env, **popen)
