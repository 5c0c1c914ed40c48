"""The registry of jobs: NAMES is the one list of them.

A job is two modules with its name:
- helper/workers/declarations/<name>.py says what it is (NAME, SUMMARY, TAKES_RUN_LOCK,
  AUTO_UNLOCK, CRON_VARIABLE, FIELDS, GAUGES, requirements). It imports only the settings, so
  PID 1 (scheduler, config-check, cron-list), the metrics reporter and the generated docs
  read it cheaply;
- helper/workers/<name>.py does it (add_arguments(parser), run(context) -> WorkerReport),
  knows restic and nothing else, and re-exports its declarations.

A new job is those two modules, one entry in NAMES, and its bin/<name> launcher (a test
checks each registered job has one). Only the worker of the job that runs is imported:
unlock's lock inspection alone costs about 30 ms of start-up. See docs/development.md.
"""

import importlib
from collections.abc import Mapping
from types import ModuleType

from helper import settings
from helper.settings import Setting, Settings, kinds

NAMES = ("backup", "forget", "prune", "check", "unlock")


def declared(name: str) -> ModuleType:
    """Return the declarations of a job from NAMES (cheap: no worker code)."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"helper.workers.declarations.{name}")


def load(name: str) -> ModuleType:
    """Return the worker module for a job name from NAMES."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"helper.workers.{name}")


def all_jobs() -> tuple[ModuleType, ...]:
    """Every job's declarations, in NAMES order."""
    return tuple(declared(name) for name in NAMES)


def scheduled() -> tuple[ModuleType, ...]:
    """The declarations of the jobs a `*_CRON` variable schedules (all but unlock)."""
    return tuple(job for job in all_jobs() if job.CRON_VARIABLE)


def cron_settings() -> tuple[Setting, ...]:
    """Each scheduled job's `*_CRON` variable as a row of the settings table."""
    return tuple(
        Setting(job.CRON_VARIABLE, kinds.CRON, job.CRON_DEFAULT, job.CRON_HELP, "Schedules")
        for job in scheduled()
    )


def settings_table() -> tuple[Setting, ...]:
    """Every variable the helper reads: the settings table plus the jobs' schedules."""
    return settings.extended(cron_settings())


def load_settings(environment: Mapping[str, str] | None = None) -> tuple[Settings, tuple[str, ...]]:
    """settings.load over settings_table(): what a worker run and the scheduler read."""
    return settings.load(environment, settings_table())
