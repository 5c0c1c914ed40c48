"""Commands that inspect the configuration or the scheduler and start nothing: config-check,
cron-list and healthcheck. None of them runs restic."""
