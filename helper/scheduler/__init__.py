"""The scheduler: PID 1 of the container. See docs/scheduler.md.

    config (settings, ENV_FILE, croniter) -> probe (restic --no-lock cat config) -> catch-up -> loop

It imports only what scheduling needs; the workers run in child processes. Importing the
package itself loads nothing more, so the health check can read the heartbeat module cheaply.
"""

import argparse
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from helper.clock import SYSTEM
from helper.outcome import EXIT_CONFIG_ERROR


def report_problems(problems: tuple[str, ...]) -> None:
    for problem in problems:
        sys.stderr.write(f"❌ {problem}\n")
    sys.stderr.write(f"scheduler: {len(problems)} configuration problem(s); not starting\n")


def probe_phase(plan, console, signals) -> int | None:
    """Run the probe with a `starting` heartbeat that promises an answer by its deadline."""
    from helper import heartbeat
    from helper.scheduler import probe

    settings = plan.settings
    promised = SYSTEM.now() + timedelta(seconds=settings.probe_timeout + probe.INIT_SECONDS)
    heartbeat.write_phase(settings.log_dir, settings.hostname, "starting", promised)
    stop_code = probe.run(settings, console, signals.sleep)
    if stop_code is not None:
        heartbeat.write_phase(settings.log_dir, settings.hostname, "stopped", None)
    return stop_code


def main(argv: list[str]) -> int:
    """Validate the settings, probe the repository, then schedule until a stop signal."""
    from helper import settings as settings_module
    from helper import stop, workers
    from helper.scheduler import loop
    from helper.scheduler.console import Console
    from helper.scheduler.signals import SignalPipe
    from helper.workers import configuration
    from helper.workers.rotate_log import CRON_LOG

    parser = argparse.ArgumentParser(
        prog="scheduler",
        description="Run each job on its schedule "
        f"({', '.join(job.CRON_VARIABLE for job in workers.scheduled())}) until SIGTERM.",
    )
    parser.parse_args(argv)
    # Taken before TZ is applied, so a SIGHUP reload starts from what the container was given.
    base_environment = dict(os.environ)
    plan = configuration.load(base_environment)
    if plan.problems:
        report_problems(plan.problems)
        return EXIT_CONFIG_ERROR
    settings_module.apply_time_zone(plan.settings)
    console = Console(plan.settings.masker, cron_log=Path(plan.settings.log_dir) / CRON_LOG)
    for warning in plan.warnings:
        console.line("scheduler", f"⚠️ {warning}")
    signals = SignalPipe()
    signals.catch((signal.SIGHUP,))
    # During the probe a stop signal reaches restic as SIGINT and ends the probe.
    stop.TOKEN.install()
    if plan.settings.restic_check_repository_status:
        stop_code = probe_phase(plan, console, signals)
        if stop_code is not None:
            return stop_code
    else:
        console.line("scheduler", "RESTIC_CHECK_REPOSITORY_STATUS is OFF: assuming the repository is there")
    return loop.run(loop.Loop(plan, base_environment, console, signals))
