"""Shared test helpers: real restic, real child processes, other "hosts" via unshare --uts."""
