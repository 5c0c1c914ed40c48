"""restic-helper: runs restic on cron schedules and keeps shared repositories safe."""
