"""The faults, each one thing an operator's world does to a backup host, injected at random
moments from a seeded generator. A fault that lasts (a pause, a cut network) runs in its own
thread, so the stream of faults goes on; one host suffers one fault at a time.

Each injection is recorded with its start and end, which the invariants read: a lock whose
holder a fault killed may be removed, and a run that a fault killed may end unreported."""

import random
import threading
import time
from dataclasses import dataclass

from helper.restic import RESTIC_SHARE_OF_GRACE
from tests.chaos.stack import (
    OBSERVATION_WINDOW_SECONDS,
    RUN_TIME_LIMIT_SECONDS,
    STOP_GRACE_SECONDS,
    Host,
    Stack,
    in_host,
)
from tests.container.engine import docker

# A paused holder is alive: a pause on top of the longest run keeps its lock younger than the
# observation window (see stack.RUN_TIME_LIMIT_SECONDS).
LONGEST_PAUSE = 15.0
LONGEST_LOCK_LIFE = RUN_TIME_LIMIT_SECONDS + RESTIC_SHARE_OF_GRACE * STOP_GRACE_SECONDS + LONGEST_PAUSE
assert LONGEST_LOCK_LIFE < OBSERVATION_WINDOW_SECONDS, "a paused live lock would look stale"
WORKER_PATTERN = r"python3 -m helper (backup|forget|prune|check)"


@dataclass
class Fault:
    kind: str
    host: str
    started: float  # time.time()
    ended: float | None = None
    detail: str = ""


# Faults that kill a host's restic (and its locks' holder) for good. A restic that outlives its
# killed worker dies too, of SIGPIPE, at its next write to the dead worker's pipes, leaving its
# lock (seen in a long run: the lock then proven stale was called a live one's).
KILLS_RESTIC = frozenset({"kill", "kill_restic", "kill_worker", "restart_same_hostname", "stop"})
# Faults that kill the worker before it can report: its run may end without a "finished".
KILLS_WORKER = frozenset({"kill", "kill_worker", "restart_same_hostname"})


def kill(stack: Stack, host: Host, rng: random.Random) -> str:
    docker("kill", host.container, check=False)
    time.sleep(rng.uniform(0.5, 3))
    docker("start", host.container, check=False)
    return "docker kill, then docker start"


def stop(stack: Stack, host: Host, rng: random.Random) -> str:
    docker("stop", "-t", "10", host.container, check=False, timeout=60)
    docker("start", host.container, check=False)
    return "docker stop -t 10, then docker start"


def restart_same_hostname(stack: Stack, host: Host, rng: random.Random) -> str:
    docker("restart", "-t", "0", host.container, check=False, timeout=60)
    return "docker restart -t 0"


def kill_restic(stack: Stack, host: Host, rng: random.Random) -> str:
    completed = in_host(host, "pkill", "-9", "-x", "restic")
    return "restic killed" if completed.returncode == 0 else "no restic running"


def kill_worker(stack: Stack, host: Host, rng: random.Random) -> str:
    completed = in_host(host, "pkill", "-9", "-f", WORKER_PATTERN)
    return "worker killed" if completed.returncode == 0 else "no worker running"


def pause(stack: Stack, host: Host, rng: random.Random) -> str:
    seconds = rng.uniform(1, LONGEST_PAUSE)
    docker("pause", host.container, check=False)
    time.sleep(seconds)
    docker("unpause", host.container, check=False)
    return f"paused {seconds:.1f}s"


def disconnect(stack: Stack, host: Host, rng: random.Random) -> str:
    seconds = rng.uniform(1, 15)
    docker("network", "disconnect", stack.network, host.container, check=False)
    time.sleep(seconds)
    docker("network", "connect", "--alias", host.name, stack.network, host.container, check=False)
    return f"cut off {seconds:.1f}s"


def rest_restart(stack: Stack, host: Host, rng: random.Random) -> str:
    docker("restart", "-t", "2", stack.rest, check=False, timeout=60)
    # The server is free to be drawn whenever every host is busy: a pause keeps restarts to
    # a share of the faults rather than most of them.
    time.sleep(5)
    return "REST server restarted"


def full_logs(stack: Stack, host: Host, rng: random.Random) -> str:
    filler = host.logs / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    time.sleep(rng.uniform(2, 8))
    filler.unlink()
    return "log tmpfs full"


def manual_backup(stack: Stack, host: Host, rng: random.Random) -> str:
    completed = docker("exec", host.container, "/bin/backup", check=False, timeout=120)
    return f"docker exec /bin/backup exited {completed.returncode}"


def manual_unlock(stack: Stack, host: Host, rng: random.Random) -> str:
    completed = docker("exec", host.container, "/bin/unlock", check=False, timeout=120)
    return f"docker exec /bin/unlock exited {completed.returncode}"


# kind -> (injection, weight, which hosts it may hit)
KINDS = {
    "kill": (kill, 3, "any"),
    "stop": (stop, 2, "any"),
    "restart_same_hostname": (restart_same_hostname, 2, "any"),
    "kill_restic": (kill_restic, 6, "any"),
    "kill_worker": (kill_worker, 4, "any"),
    "pause": (pause, 4, "any"),
    "disconnect": (disconnect, 3, "any"),
    "rest_restart": (rest_restart, 1, "rest"),
    "full_logs": (full_logs, 1, "small_logs"),
    "manual_backup": (manual_backup, 2, "node"),
    "manual_unlock": (manual_unlock, 2, "owner"),
}


class Injector:
    """Draws faults from `seed` and runs each in a thread; records them all."""

    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack, self.rng = stack, random.Random(seed)
        self.faults: list[Fault] = []
        self.busy: set[str] = set()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def candidates(self, where: str) -> list[Host]:
        hosts = {
            "any": self.stack.hosts,
            "node": [h for h in self.stack.hosts if h.role == "node"],
            "owner": [h for h in self.stack.hosts if h.role == "owner"],
            "small_logs": [h for h in self.stack.hosts if h.small_logs],
            "rest": [self.stack.rest_host],
        }[where]
        return [host for host in hosts if host.name not in self.busy]

    def inject_one(self) -> Fault | None:
        """Draw a kind and a free host, start the fault; None when no host is free for it."""
        kinds = [kind for kind, (_, _, where) in KINDS.items() if self.candidates(where)]
        if not kinds:
            return None
        kind = self.rng.choices(kinds, weights=[KINDS[k][1] for k in kinds])[0]
        host = self.rng.choice(self.candidates(KINDS[kind][2]))
        fault = Fault(kind, host.name, time.time())
        seed = self.rng.getrandbits(32)
        with self.lock:
            self.busy.add(host.name)
            self.faults.append(fault)
        thread = threading.Thread(target=self._run, args=(fault, host, random.Random(seed)), daemon=True)
        thread.start()
        self.threads.append(thread)
        return fault

    def _run(self, fault: Fault, host: Host, rng: random.Random) -> None:
        try:
            fault.detail = KINDS[fault.kind][0](self.stack, host, rng)
        except Exception as error:
            fault.detail = f"injection failed: {error!r}"
        finally:
            fault.ended = time.time()
            with self.lock:
                self.busy.discard(host.name)

    def finish(self, timeout: float = 120) -> None:
        for thread in self.threads:
            thread.join(timeout)
