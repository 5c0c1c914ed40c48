"""PID 1: sleep until the earliest fire, start each due job as a worker child, stream its
output, reap every zombie, reload on SIGHUP and drain on SIGTERM or SIGINT.

No polling: one select() waits for the next fire time, a signal or a child's output.
No backlog: a tick is dispatched once, when due; ticks that passed meanwhile are not replayed.
"""

import os
import signal
import time

from helper.scheduler import children, ticks
from helper.scheduler.state import Loop, earliest, plan_jobs, write_heartbeat

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
CAUGHT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
EXIT_KILLED_WORKERS = 1


def collect(loop: Loop, ready: list[int]) -> None:
    """Pass on children's output, then retire the finished ones."""
    by_output = {child.output: child for child in loop.children.values() if child.output_open}
    for descriptor in ready:
        if descriptor in by_output:
            children.pump(by_output[descriptor], loop.console.line)
    finished = [child for child in loop.children.values() if child.finished]
    for child in finished:
        del loop.children[child.pid]
        job = loop.jobs.get(child.job)
        if job is not None and job.last_pid == child.pid:
            job.last_exit_code = child.exit_code
        if child.exit_code != 0:
            loop.say(f"{child.job} worker (pid {child.pid}) exited {child.exit_code}")
    if finished:
        write_heartbeat(loop)


def handle(loop: Loop, received: list[int]) -> None:
    """Act on the signals the pipe delivered, in the loop, never inside a handler."""
    for signum in received:
        if signum in STOP_SIGNALS and loop.state == "running":
            loop.state = "stopping"
            loop.say(f"🛑 {signal.Signals(signum).name} received: no new ticks")
        elif signum == signal.SIGHUP and loop.state == "running":
            ticks.reload(loop)
    if signal.SIGCHLD in received or loop.state != "running":
        loop.orphans_reaped += children.reap(loop.children)


def run(loop: Loop) -> int:
    """Schedule until a stop signal; return the exit code after draining the workers."""
    loop.signals.catch(CAUGHT_SIGNALS)
    children.become_subreaper()
    loop.jobs = plan_jobs(loop.plan.schedules, loop.plan.zone, loop.clock())
    ticks.announce(loop)
    write_heartbeat(loop)
    while loop.state == "running":
        ticks.tick(loop)
        wake = earliest(loop.jobs)
        timeout = None if wake is None else (wake - loop.clock()).total_seconds()
        outputs = [child.output for child in loop.children.values() if child.output_open]
        received, ready = loop.signals.wait(timeout, outputs)
        handle(loop, received)
        collect(loop, ready)
    return drain(loop)


def drain(loop: Loop) -> int:
    """Hand SIGINT to every worker, wait up to STOP_GRACE_SECONDS, then SIGKILL what is left."""
    grace = loop.plan.settings.stop_grace_seconds
    if loop.children:
        loop.say(f"sending SIGINT to {len(loop.children)} running worker(s); waiting up to {grace}s")
    for child in loop.children.values():
        children.interrupt(child)
    write_heartbeat(loop)
    deadline = time.monotonic() + grace
    while loop.children and time.monotonic() < deadline:
        outputs = [child.output for child in loop.children.values() if child.output_open]
        received, ready = loop.signals.wait(deadline - time.monotonic(), outputs)
        loop.orphans_reaped += children.reap(loop.children)
        collect(loop, ready)
        if STOP_SIGNALS & set(received):
            loop.say("second stop signal: not waiting any longer")
            break
    exit_code = kill_remaining(loop) if loop.children else 0
    loop.orphans_reaped += children.reap(loop.children)
    loop.state = "stopped"
    write_heartbeat(loop)
    loop.say(f"stopped (exit {exit_code})")
    return exit_code


def kill_remaining(loop: Loop) -> int:
    """SIGKILL every worker still running and everything below it; collect them; return 1."""
    for child in loop.children.values():
        loop.say(f"❌ {child.job} worker (pid {child.pid}) still running: SIGKILL to it and its processes")
        children.kill_tree(child)
    for child in loop.children.values():
        if child.exit_code is None:
            try:
                child.exit_code = os.waitstatus_to_exitcode(os.waitpid(child.pid, 0)[1])
            except ChildProcessError:
                child.exit_code = -signal.SIGKILL
            child.process.returncode = child.exit_code
        children.pump(child, loop.console.line)
        if child.output_open:  # a stray process still holds the pipe: stop reading it
            child.process.stdout.close()
            child.output_open = False
    loop.children.clear()
    return EXIT_KILLED_WORKERS
