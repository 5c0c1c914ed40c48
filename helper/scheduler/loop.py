"""PID 1: sleep until the earliest fire, start each due job as a worker child, stream its
output, reap every zombie, reload on SIGHUP and drain on SIGTERM or SIGINT.

No polling: one select() waits for the next fire time, a signal or a child's output.
No backlog: a tick is dispatched once, when due; ticks that passed meanwhile are not replayed
(only a start with MISSED_RUN_POLICY=once runs each job's latest missed tick, once).
A bug in here still ends with a drain: the workers get their SIGINT whatever happened.
"""

import os
import signal
from collections.abc import Callable
from pathlib import Path

from helper import events, stop
from helper.files import atomic_write_text
from helper.outcome import EXIT_FAILED, EXIT_OK
from helper.scheduler import catch_up, children, ticks
from helper.scheduler.state import Loop, earliest, plan_jobs, write_heartbeat

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
CAUGHT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
# In LOG_DIR: the traceback of an internal error, kept out of `docker logs`.
TRACEBACK_FILE_NAME = "scheduler-traceback.log"
# How often the fallback wait after a failed drain looks for exited workers.
FALLBACK_POLL_SECONDS = 0.1


def collect(loop: Loop, ready: list[int]) -> None:
    """Pass on children's output, then retire the finished ones."""
    by_output = {child.reader.fileno(): child for child in loop.children.values() if child.output_open}
    for descriptor in ready:
        if descriptor in by_output:
            by_output[descriptor].reader.read_available()
    finished = [child for child in loop.children.values() if child.finished]
    for child in finished:
        del loop.children[child.pid]
        job = loop.jobs.get(child.job)
        if job is not None and job.last_pid == child.pid:
            job.last_exit_code = child.exit_code
        if child.exit_code != EXIT_OK:
            loop.say(f"{child.job} worker (pid {child.pid}) exited {child.exit_code}")
    if finished:
        write_heartbeat(loop)


def handle(loop: Loop, received: list[int]) -> None:
    """Act on the signals the pipe delivered, in the loop, never inside a handler."""
    for signum in received:
        if signum in STOP_SIGNALS and loop.state == "running":
            loop.state = "stopping"
            loop.say(f"🛑 {signal.Signals(signum).name} received: no new ticks")
            events.emit("scheduler_stopping", signal=signal.Signals(signum).name)
        elif signum == signal.SIGHUP and loop.state == "running":
            ticks.reload(loop)
    if signal.SIGCHLD in received or loop.state != "running":
        loop.orphans_reaped += children.reap(loop.children)


def run(loop: Loop) -> int:
    """Schedule until a stop signal; return the exit code after draining the workers, or 1
    after an internal error, which is logged in one line and drains the workers as SIGTERM does."""
    scheduled, _ = guarded(loop, schedule)
    if not scheduled:
        loop.state = "stopping"
    deadline = loop.clock.monotonic() + loop.plan.settings.stop_grace_seconds
    guarded(loop, interrupt_all)
    drained, exit_code = guarded(loop, lambda loop: drain(loop, deadline))
    if not drained:  # never leave a worker behind, yet let restic remove its lock first
        guarded(loop, lambda loop: wait_out_grace(loop, deadline))
        guarded(loop, kill_remaining)
        guarded(loop, mark_stopped)
    exit_code = exit_code if scheduled and drained else EXIT_FAILED
    loop.say(f"stopped (exit {exit_code})")
    return exit_code


def guarded(loop: Loop, step: Callable[[Loop], int | None]) -> tuple[bool, int | None]:
    """Run one step of the scheduler; return (True, its result), or (False, None) after
    reporting an exception it raised."""
    try:
        return True, step(loop)
    except Exception as error:  # noqa: BLE001 - PID 1 must go on to stop its workers
        report_internal_error(loop, error)
        return False, None


def report_internal_error(loop: Loop, error: Exception) -> None:
    """One masked line on stdout; the masked traceback goes to LOG_DIR."""
    import traceback  # only this rare path needs it

    path = Path(loop.plan.settings.log_dir) / TRACEBACK_FILE_NAME
    try:
        atomic_write_text(path, loop.console.masker.mask(traceback.format_exc()))
        where = f"traceback in {path}"
    except (OSError, ValueError) as write_error:
        where = f"its traceback could not be written to {path}: {write_error}"
    loop.say(f"❌ internal error: {error!r} ({where}); stopping")


def schedule(loop: Loop) -> None:
    """Start each due tick until a stop signal."""
    loop.signals.catch(CAUGHT_SIGNALS)
    # A stop noted before the loop caught signals (during start-up or the probe) starts nothing.
    if stop.TOKEN.stopped():
        handle(loop, [stop.TOKEN.signal or signal.SIGTERM])
    children.become_subreaper()
    loop.jobs = plan_jobs(loop.plan.schedules, loop.plan.zone, loop.clock.now())
    ticks.announce(loop)
    write_heartbeat(loop)
    catch_up.start(loop)  # the probe, when on, has passed by now
    while loop.state == "running":
        ticks.tick(loop)
        wake = earliest(loop.jobs)
        timeout = None if wake is None else (wake - loop.clock.now()).total_seconds()
        outputs = [child.reader.fileno() for child in loop.children.values() if child.output_open]
        received, ready = loop.signals.wait(timeout, outputs)
        handle(loop, received)
        collect(loop, ready)


def interrupt_all(loop: Loop) -> None:
    """Hand SIGINT to every worker, once: the worker passes it on to restic, which then
    removes its lock."""
    for child in loop.children.values():
        children.interrupt(child)
    if loop.children:
        grace = loop.plan.settings.stop_grace_seconds
        loop.say(f"sending SIGINT to {len(loop.children)} running worker(s); waiting up to {grace}s")


def drain(loop: Loop, deadline: float) -> int:
    """Wait for the interrupted workers until `deadline` (STOP_GRACE_SECONDS after the stop),
    passing on their output, then SIGKILL what is left."""
    write_heartbeat(loop)
    while loop.children and loop.clock.monotonic() < deadline:
        outputs = [child.reader.fileno() for child in loop.children.values() if child.output_open]
        received, ready = loop.signals.wait(deadline - loop.clock.monotonic(), outputs)
        loop.orphans_reaped += children.reap(loop.children)
        collect(loop, ready)
        if STOP_SIGNALS & set(received):
            loop.say("second stop signal: not waiting any longer")
            break
    exit_code = kill_remaining(loop) if loop.children else 0
    mark_stopped(loop)
    return exit_code


def mark_stopped(loop: Loop) -> None:
    """Reap what the stop left and record it in the heartbeat."""
    loop.orphans_reaped += children.reap(loop.children)
    loop.state = "stopped"
    write_heartbeat(loop)


def wait_out_grace(loop: Loop, deadline: float) -> None:
    """The drain failed: trusting none of it, poll the workers' exits until they have all
    ended or `deadline` passed. Their output waits in the pipe (a worker writes a few lines
    while it stops) and is passed on by kill_remaining."""
    while loop.clock.monotonic() < deadline:
        loop.orphans_reaped += children.reap(loop.children)
        if all(child.exit_code is not None for child in loop.children.values()):
            return
        loop.clock.sleep(FALLBACK_POLL_SECONDS)


def kill_remaining(loop: Loop) -> int:
    """SIGKILL every worker still running and everything below it; collect them; return 1."""
    for child in loop.children.values():
        if child.exit_code is None:
            loop.say(
                f"❌ {child.job} worker (pid {child.pid}) still running: SIGKILL to it and its processes"
            )
        children.kill_tree(child)  # an exited worker may have left processes that hold its output
    for child in loop.children.values():
        if child.exit_code is None:
            try:
                child.exit_code = os.waitstatus_to_exitcode(os.waitpid(child.pid, 0)[1])
            except ChildProcessError:
                child.exit_code = -signal.SIGKILL
            child.process.returncode = child.exit_code
        child.reader.read_available()
        if child.output_open:  # a stray process still holds the pipe: stop reading it
            child.reader.close()
    loop.children.clear()
    return EXIT_FAILED
