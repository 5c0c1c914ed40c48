"""Reading restic's repository locks without taking one."""

from helper.restic import Completed, Restic


def list_lock_ids(restic: Restic) -> tuple[list[str] | None, Completed]:
    """Return the ids from `restic list locks` (None when the listing failed) and the call."""
    completed = restic.run("list", "locks", "--no-lock", echo=False)
    if completed.exit_code != 0:
        return None, completed
    return [line.strip() for line in completed.stdout.splitlines() if line.strip()], completed
