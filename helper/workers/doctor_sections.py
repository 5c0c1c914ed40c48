"""The sections of /bin/doctor's support bundle. Each returns its part of the document and its
checks, `(section, status, message)` with status ok, info, warn or fail. Nothing here writes,
locks or initialises anything, and no secret value is ever put in: the whole document is
masked once more before it is shown."""

import os
import platform
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from helper import mounts, workers
from helper.outcome import EXIT_CANNOT_START, EXIT_OK, EXIT_REPOSITORY_MISSING, EXIT_TIMED_OUT
from helper.restic import Restic
from helper.settings import Settings, displayed
from helper.workers import rclone_jobs
from helper.workers.init_repo import PROBE

Check = tuple[str, str, str]


def first_line(command: list[str]) -> str | None:
    """The first line a program prints for its version, or None when it cannot be started."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (completed.stdout.strip().splitlines() or [None])[0]


def runtime(settings: Settings) -> tuple[dict, list[Check]]:
    restic = first_line([settings.restic_bin, "version"])
    rclone = first_line([settings.rclone_bin, "version"]) if shutil.which(settings.rclone_bin) else None
    part = {
        "release": settings.restic_backup_helper_release,
        "python": platform.python_version(),
        "restic": restic,
        "rclone": rclone,
        "tz": settings.tz,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "hostname": settings.hostname,
    }
    checks = [
        ("runtime", "ok", restic)
        if restic
        else ("runtime", "fail", f"RESTIC_BIN: cannot run {settings.restic_bin}")
    ]
    if rclone is None:
        checks.append(
            (
                "runtime",
                "warn",
                f"RCLONE_BIN: no {settings.rclone_bin}: replicate and rclone: repositories need it",
            )
        )
    return part, checks


def environment(settings: Settings) -> dict:
    """Every variable the helper reads, with its effective value as a report may show it."""
    return {row.name: displayed(settings, row) for row in workers.settings_table()}


def repository_probe(settings: Settings, restic: Restic) -> tuple[dict, list[Check]]:
    """`restic --no-lock cat config`, bounded by PROBE_TIMEOUT: doctor never initialises."""
    completed = restic.run(*PROBE, echo=False, timeout_seconds=settings.probe_timeout)
    code = completed.exit_code
    if code == EXIT_OK:
        status, check = "ok", ("repository", "ok", "the repository opens with this password")
    elif code == EXIT_REPOSITORY_MISSING:
        status, check = (
            "missing",
            ("repository", "fail", "no repository there yet (restic exit 10): see /bin/init-repo"),
        )
    elif code == EXIT_TIMED_OUT:
        status, check = (
            "timeout",
            ("repository", "fail", f"no answer within PROBE_TIMEOUT ({settings.probe_timeout:g}s)"),
        )
    else:
        status = "cannot-start" if code == EXIT_CANNOT_START else "failed"
        check = ("repository", "fail", f"restic exit {code}: {completed.outcome.hint}")
    part = {"status": status, "repository": settings.restic_repository, "restic_exit_code": code}
    return part, [check]


def replicate(settings: Settings) -> tuple[dict, list[Check]]:
    path = Path(settings.replicate_job_file)
    part = {
        "cron": settings.replicate_cron,
        "job_file": str(path),
        "job_file_present": path.is_file(),
        "restic_copy_to": settings.replicate_repository or None,
        "jobs_count": 0,
        "malformed_count": 0,
    }
    if not path.is_file():
        status = "warn" if settings.replicate_cron else "info"
        return part, [("replicate", status, f"REPLICATE_JOB_FILE: no {path}")]
    jobs, problems = rclone_jobs.read_jobs(str(path), settings.replicate_job_args)
    part.update(jobs_count=len(jobs), malformed_count=len(problems))
    checks = [("replicate", "warn", problem) for problem in problems]
    return part, checks or [("replicate", "ok", f"{len(jobs)} job(s) in {path}")]


def hooks(settings: Settings) -> tuple[dict, list[Check]]:
    directory = Path(settings.hooks_dir)
    present, checks = [], []
    for path in sorted(directory.glob("*.sh")) if directory.is_dir() else []:
        mode = path.stat().st_mode
        executable = bool(mode & stat.S_IXUSR)
        present.append({"name": path.name, "mode": oct(stat.S_IMODE(mode)), "executable": executable})
        if not executable:
            checks.append(("hooks", "warn", f"{path} is not executable: it is skipped"))
    part = {
        "hook_timeout": settings.hook_timeout,
        "directory": str(directory),
        "directory_mounted": mounts.is_mount_point(str(directory)),
        "present": present,
    }
    return part, checks or [("hooks", "info", f"{len(present)} hook(s) in {directory}")]


def directories(settings: Settings) -> list[Check]:
    """The directories the helper and restic write to, each writable or a warning."""
    wanted = {
        "LOG_DIR": settings.log_dir,
        "METRICS_DIR": settings.metrics_dir,
        "LOCK_DIR": settings.lock_dir,
        "RESTIC_CACHE_DIR": settings.restic_environment.get("RESTIC_CACHE_DIR", ""),
        "TMPDIR": tempfile.gettempdir(),
    }
    checks = []
    for name, path in wanted.items():
        writable = bool(path) and os.access(path, os.W_OK)
        checks.append(
            (
                "directories",
                "ok" if writable else "warn",
                f"{name} {path or '(unset)'}" + ("" if writable else " is not writable"),
            )
        )
    return checks
