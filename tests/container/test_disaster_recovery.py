"""The disaster-recovery runbook (docs/disaster-recovery.md), run as written: a new machine with
only the repository's address and password gets the files back."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, clean_environment
from tests.core.conftest import ROOT
from tests.support.servers import rest_server
from tests.support.tools import tool

pytestmark = pytest.mark.docker
RUNBOOK = ROOT / "docs" / "disaster-recovery.md"
# Step 1 is the only place the operator writes their own values; the test gives its own.
OPERATORS_VALUES = re.compile(
    r"^export (IMAGE|RESTIC_REPOSITORY|PASSWORD_FILE|RESTORE_DIR|OLD_HOST)=.*$", re.M
)


def runbook_commands() -> str:
    blocks = re.findall(r"^```sh\n(.*?)^```", RUNBOOK.read_text(), re.S | re.M)
    assert len(blocks) >= 4, "the runbook lost its steps"
    return OPERATORS_VALUES.sub("", "\n".join(blocks))


def test_the_runbook_brings_the_files_back_on_a_new_machine(image, tmp_path):
    source = tmp_path / "data" / "www"
    (source / "img").mkdir(parents=True)
    (source / "index.html").write_text("<h1>hello</h1>\n")
    (source / "img" / "logo.bin").write_bytes(os.urandom(300_000))
    password_file = tmp_path / "restic-password"
    password_file.write_text(PASSWORD + "\n")
    with rest_server(tmp_path / "served") as server:
        repository = server.repository("web1")
        old_host = {**clean_environment(), "RESTIC_REPOSITORY": repository, "RESTIC_PASSWORD": PASSWORD}
        for arguments in (["init"], ["backup", "--host", "web1", "--tag", "nightly", str(source)]):
            subprocess.run([tool("restic"), *arguments], env=old_host, check=True, capture_output=True)
        new_machine = {
            **clean_environment(),
            "IMAGE": image,
            "RESTIC_REPOSITORY": repository,
            "PASSWORD_FILE": str(password_file),
            "RESTORE_DIR": str(tmp_path / "restore"),
            "OLD_HOST": "web1",
        }
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", runbook_commands()],
            env=new_machine,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "web1" in completed.stdout and "restore finished: ok (exit 0)" in completed.stdout
    restored = tmp_path / "restore" / str(source).lstrip("/")
    assert (restored / "index.html").read_text() == "<h1>hello</h1>\n"
    assert (restored / "img" / "logo.bin").read_bytes() == (source / "img" / "logo.bin").read_bytes()
    assert (restored / "index.html").stat().st_uid == os.getuid()
    assert Path(password_file).stat().st_mode & 0o777 == 0o600
