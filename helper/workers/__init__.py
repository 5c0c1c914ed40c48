"""One module per job. Each declares NAME, SUMMARY, TAKES_RUN_LOCK, add_arguments(parser)
and run(context) -> WorkerReport, and knows restic and nothing else. FIELDS, when declared,
names its extra JSON fields, which are then null in a run that stopped before the worker.

A new job is one new module and one entry in NAMES. Only the job that runs is imported:
unlock's lock inspection alone costs about 30 ms of start-up.
"""

import importlib
from types import ModuleType

NAMES = ("backup", "forget", "prune", "check", "unlock")


def load(name: str) -> ModuleType:
    """Return the worker module for a job name from NAMES."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"helper.workers.{name}")
