"""One module per job. Each declares NAME, SUMMARY, TAKES_RUN_LOCK, add_arguments(parser)
and run(context) -> WorkerReport, and knows restic and nothing else."""

from helper.workers import backup, check, forget, prune, unlock

WORKERS = {module.NAME: module for module in (backup, forget, prune, check, unlock)}
