"""LOCK_DOCKER_AWARE: what this host's Docker engine knows about a lock's hostname.

A container's hostname is its `hostname:` setting or, by default, the first 12 hex digits of
its id. A lock whose hostname is a container of this engine that is not running, or that
the engine destroyed after the lock was written, has no living holder. A hostname the
engine does not know says nothing: it may be another machine. The docker SDK is imported
only when this is switched on.
"""

import re
from dataclasses import dataclass, field

SHORT_ID = re.compile(r"^[0-9a-f]{12}$")
ENGINE_TIMEOUT_SECONDS = 5


@dataclass
class DockerView:
    """One snapshot of the engine's containers, built once per inspection."""

    hostnames: dict[str, str] = field(default_factory=dict)  # hostname or id -> "running"/"stopped"
    client: object | None = None
    problem: str = ""

    def state(self, hostname: str, since: float | None, until: float) -> str | None:
        """Return "running", "stopped", "destroyed" or None (not a known container)."""
        if not hostname or self.client is None:
            return None
        known = self.hostnames.get(hostname)
        if known is None and SHORT_ID.match(hostname):
            known = next((s for key, s in self.hostnames.items() if key.startswith(hostname)), None)
        if known is not None:
            return known
        if SHORT_ID.match(hostname) and since is not None and self._destroyed(hostname, since, until):
            return "destroyed"
        return None

    def _destroyed(self, short_id: str, since: float, until: float) -> bool:
        try:
            events = self.client.events(
                since=int(since) - 1,
                until=int(until) + 1,
                filters={"type": "container", "event": "destroy"},
                decode=True,
            )
            return any(str(event.get("id") or "").startswith(short_id) for event in events)
        except Exception:  # noqa: BLE001 - any engine problem only means "no evidence"
            return False


def look(enabled: bool) -> DockerView:
    """Return the engine's view when LOCK_DOCKER_AWARE is on and the engine answers."""
    if not enabled:
        return DockerView()
    try:
        from helper.report import wait_for_preload

        wait_for_preload()  # the SDK imports requests, which the webhook's preload may be importing
        import docker

        client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
        view = DockerView(client=client)
        for container in client.containers.list(all=True):
            state = "running" if container.status in ("running", "restarting", "paused") else "stopped"
            view.hostnames[container.id] = state
            hostname = (container.attrs.get("Config") or {}).get("Hostname")
            # A running container wins when two share a hostname.
            if hostname and view.hostnames.get(hostname) != "running":
                view.hostnames[hostname] = state
        return view
    except Exception as error:  # noqa: BLE001 - no socket, no SDK, no permission: no evidence
        return DockerView(problem=f"{type(error).__name__}: {error}")
