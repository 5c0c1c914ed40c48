"""The one exit-code table."""

import pytest

from helper.outcome import STATUS_EXIT_CODES, Status, classify

LOCK_MESSAGE = (
    "unable to create lock in backend: repository is already locked exclusively by PID 4672 on "
    "otherhost by root (UID 0, GID 0)\nlock was created at 2026-11-21 23:53:54 (3.4s ago)\n"
    "storage ID d95cd94c\n"
)


@pytest.mark.parametrize(
    ("exit_code", "status"),
    [
        (0, Status.OK),
        (1, Status.FAILED),
        (2, Status.FAILED),
        (3, Status.WARNING),
        (10, Status.FAILED),
        (11, Status.LOCKED),
        (12, Status.FAILED),
        (130, Status.INTERRUPTED),
        (42, Status.FAILED),
    ],
)
def test_restic_exit_codes_map_to_one_status_each(exit_code, status):
    outcome = classify(exit_code, "", signalled=False)
    assert (outcome.status, outcome.exit_code) == (status, exit_code)


@pytest.mark.parametrize(("exit_code", "words"), [(10, "does not exist"), (11, "unlock"), (12, "password")])
def test_failures_carry_a_hint(exit_code, words):
    assert words in classify(exit_code, "", signalled=False).hint


def test_an_old_restic_lock_failure_exit_1_is_recognised_by_its_message():
    outcome = classify(1, "Fatal: " + LOCK_MESSAGE, signalled=False)
    assert (outcome.status, outcome.exit_code) == (Status.LOCKED, 11)
    user_without_name = LOCK_MESSAGE.replace("by root (", "by  (")
    assert classify(1, user_without_name, signalled=False).status is Status.LOCKED


def test_a_cancelled_backup_exit_1_is_interrupted_only_when_we_forwarded_a_signal():
    message = "Fatal: unable to save snapshot: context canceled"
    assert classify(1, message, signalled=True).status is Status.INTERRUPTED
    assert classify(1, message, signalled=True).exit_code == 130
    # Without our signal, "context canceled" is restic's own failure (a lock refresh gave up).
    assert classify(1, message, signalled=False).status is Status.FAILED


def test_death_by_signal_is_interrupted():
    assert classify(-9, "", signalled=False).status is Status.INTERRUPTED
    assert classify(-2, "", signalled=True).exit_code == 130
    assert classify(143, "", signalled=True).status is Status.INTERRUPTED


def test_a_warning_stays_a_warning_even_when_a_signal_arrived_late():
    assert classify(3, "context canceled", signalled=True).status is Status.WARNING


def test_every_status_but_failed_has_one_exit_code():
    """A status other than FAILED always comes with the exit code the table gives it, whatever
    restic said."""
    for exit_code in range(-15, 256):
        for signalled in (False, True):
            outcome = classify(exit_code, "", signalled)
            if outcome.status is not Status.FAILED:
                assert outcome.exit_code == STATUS_EXIT_CODES[outcome.status], (exit_code, signalled)


def test_a_backup_stopped_by_someone_else_is_interrupted():
    # docker stop signals every process in the container, restic included, not only through us.
    message = "signal terminated received, cleaning up\nFatal: unable to save snapshot: context canceled\n"
    outcome = classify(1, message, signalled=False)
    assert (outcome.status, outcome.exit_code) == (Status.INTERRUPTED, 130)


def test_a_backup_that_lost_its_lock_is_a_failure_not_an_interruption():
    # restic 0.15+ cancels itself when its lock was removed; the same Fatal line, no signal line.
    for cause in (
        "failed to refresh stale lock: lock file was removed in the meantime",
        "Fatal: failed to refresh lock in time",
    ):
        message = f"{cause}\nFatal: unable to save snapshot: context canceled\n"
        outcome = classify(1, message, signalled=False)
        assert (outcome.status, outcome.exit_code) == (Status.FAILED, 1)


def test_any_failure_after_a_forwarded_signal_is_interrupted():
    # A --stdin-from-command child killed by the same SIGINT makes restic exit 1 without
    # "context canceled"; the run was still stopped on purpose.
    outcome = classify(1, "Fatal: unable to save snapshot: stdin command exited", signalled=True)
    assert (outcome.status, outcome.exit_code) == (Status.INTERRUPTED, 130)
