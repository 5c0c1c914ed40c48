"""Can this container mount a FUSE filesystem? The checks before `restic mount`, each failure
naming what to add to `docker run` or compose, and the unmount after it."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

from helper import mounts

DOCKER_RUN = "docker run --device /dev/fuse --cap-add SYS_ADMIN --security-opt apparmor:unconfined"
COMPOSE = "devices: [/dev/fuse], cap_add: [SYS_ADMIN], security_opt: [apparmor:unconfined]"
FUSERMOUNTS = ("fusermount3", "fusermount")


def problems(device_usable: bool, fusermount: str | None, status: str, apparmor_label: str) -> list[str]:
    """What stands in the way of a FUSE mount, given the facts; [] when nothing does."""
    found = []
    if not device_usable:
        found.append("/dev/fuse is missing or not readable and writable: add --device /dev/fuse")
    if fusermount is None:
        found.append("fusermount is not installed (the image has it: fuse3)")
    if not mounts.may_mount(status):
        found.append("the container lacks CAP_SYS_ADMIN: add --cap-add SYS_ADMIN")
    if mounts.status_field(status, "NoNewPrivs") == "1":
        found.append("no_new_privileges is set, which stops fusermount: remove that security option")
    if apparmor_label.strip().endswith("(enforce)"):
        found.append(
            f"AppArmor profile {apparmor_label.split()[0]} is enforced: "
            "add --security-opt apparmor:unconfined"
        )
    return found


def preflight() -> list[str]:
    """The problems of this process, read from /dev/fuse, PATH and /proc/self."""
    try:
        device = os.stat("/dev/fuse")
        usable = stat.S_ISCHR(device.st_mode) and os.access("/dev/fuse", os.R_OK | os.W_OK)
    except OSError:
        usable = False
    fusermount = next((path for name in FUSERMOUNTS if (path := shutil.which(name))), None)
    status = mounts.PROCESS_STATUS.read_text()
    try:
        label = Path("/proc/self/attr/current").read_text()
    except OSError:
        label = ""
    return problems(usable, fusermount, status, label)


def mounted(target: Path) -> bool:
    """Whether something is mounted on `target`."""
    return mounts.is_mount_point(str(target))


def unmount(target: Path) -> bool:
    """Unmount `target` if restic left it mounted; return whether it is gone."""
    for command in ([name, "-u", str(target)] for name in FUSERMOUNTS) if mounted(target) else ():
        if shutil.which(command[0]):
            subprocess.run(command, capture_output=True, check=False, timeout=30)
            break
    if mounted(target):
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False, timeout=30)
    return not mounted(target)
