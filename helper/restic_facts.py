"""What restic does with its repository locks, measured (see docs/locks.md): the timings that
the lock verdicts and the settings' bounds both rest on. A leaf: it imports nothing."""

# restic's StaleLockTimeout: `restic unlock` removes any lock older than this.
RESTIC_STALE_AFTER = 30 * 60
# restic rewrites a live lock (under a new id) this often.
REFRESH_INTERVAL = 5 * 60
# restic 0.15+ stops refreshing normally once its last refresh is this old (30m - 1.5 * 5m):
# it then checks that its lock still exists and cancels itself when it does not. A holder
# paused for less (SIGSTOP, `docker pause`) resumes with a plain refresh that never looks
# for its old lock, so removing that lock while it is paused lets it run on without one.
REFRESHABILITY_TIMEOUT = RESTIC_STALE_AFTER - 3 * REFRESH_INTERVAL / 2
# Observation proves a lock stale only past restic's timeout plus a margin for a refresh whose
# upload was slow (restic counts from when it finished) and for small steps of this host's clock.
MINIMUM_OBSERVATION_WINDOW = 25 * 60
