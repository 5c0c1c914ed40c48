"""RESTORE_TEST_CRON: the scheduler runs the restore drill like any scheduled job."""

import signal


def test_the_scheduler_runs_the_restore_drill_on_its_schedule(sandbox, start_entry):
    assert sandbox.helper("backup").returncode == 0
    running = start_entry(RESTORE_TEST_CRON="*/2 * * * * *", RESTORE_TEST_SAMPLE="2")
    running.wait_for(r"\[restore-test\] .*restore-test finished: ok", timeout=60)
    assert running.stop(signal.SIGTERM)[0] == 0

    document = sandbox.last_json("restore-test")
    assert document["verification"] == "passed" and document["sample_checked"] == 2
    assert document["cleanup_status"] == "cleaned"
