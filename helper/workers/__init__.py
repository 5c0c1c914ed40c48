"""One module per job. Each declares NAME, SUMMARY, TAKES_RUN_LOCK, add_arguments(parser)
and run(context) -> WorkerReport, and knows restic and nothing else. FIELDS, when declared,
names its extra JSON fields, which are then null in a run that stopped before the worker."""

from helper.workers import backup, check, forget, prune, unlock

WORKERS = {module.NAME: module for module in (backup, forget, prune, check, unlock)}
