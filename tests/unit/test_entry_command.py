"""Which container commands are the shell image's `tail -f /var/log/cron.log`."""

import pytest

from helper.entry import is_cron_log_tail


@pytest.mark.parametrize(
    "argv",
    [
        ["tail", "-fn0", "/var/log/cron.log"],
        ["tail", "-f", "/var/log/cron.log"],
        ["/usr/bin/tail", "-F", "-n", "0", "/var/log/cron.log"],
        ["tail", "--follow", "--retry", "/logs/cron.log"],
    ],
)
def test_the_shell_images_keep_alive_commands_mean_the_scheduler(argv):
    assert is_cron_log_tail(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["tail", "/var/log/cron.log"],  # prints and ends: the operator's own command
        ["tail", "-f", "/var/log/backup-last.log"],
        ["tail", "-c", "100", "/var/log/cron.log"],
        ["sh", "-c", "tail -f /var/log/cron.log"],
    ],
)
def test_other_commands_are_run_as_given(argv):
    assert not is_cron_log_tail(argv)
