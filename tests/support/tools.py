"""Finding (or installing) restic >= 0.17 and rclone for the tests, without touching the system."""

import functools
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_TOOLS = ROOT / ".cache" / "tools" / "usr" / "bin"
INSTALL_SCRIPT = ROOT / "scripts" / "install-test-tools"


def restic_version(binary: str) -> tuple[int, int]:
    output = subprocess.run([binary, "version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"restic (\d+)\.(\d+)", output)
    return (int(match[1]), int(match[2])) if match else (0, 0)


@functools.cache
def tool(name: str) -> str:
    """Return a usable path to restic (>= 0.17) or rclone, installing trixie's package if needed."""
    for candidate in (LOCAL_TOOLS / name, shutil.which(name)):
        if not candidate or not Path(candidate).exists():
            continue
        if name != "restic" or restic_version(str(candidate)) >= (0, 17):
            return str(candidate)
    subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, stdin=subprocess.DEVNULL)
    return str(LOCAL_TOOLS / name)
