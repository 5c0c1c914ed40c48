"""What restic's output means while it runs: every line goes to the run log as it comes, and a
bounded part of it is kept for the workers (restic can print millions of lines)."""

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from helper.logs import FILE_ONLY

logger = logging.getLogger(__name__)

# restic prints dozens of progress messages a second when stdout is no terminal.
PROGRESS_TYPES = ('"message_type":"status"', '"message_type":"verbose_status"')
# Messages a worker reads its verdict from are always kept; others (one per file error) only
# up to a count.
KEPT_MESSAGE_TYPES = frozenset({"summary", "exit_error", "list"})
OTHER_MESSAGES_KEPT = 1000
STDERR_KEPT_BYTES = 64 * 1024
LOGGED_STDOUT_KEPT_BYTES = 64 * 1024


def parse_json_line(line: str) -> dict | list | None:
    if not line.startswith(("{", "[")):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def error_text(line: str) -> str:
    """Return the human message of a stderr line, unwrapping restic's --json error objects."""
    parsed = parse_json_line(line)
    if not isinstance(parsed, dict):
        return line
    nested = parsed.get("error")
    if isinstance(nested, dict) and "message" in nested:
        return str(nested["message"])
    return str(parsed.get("message", line))


@dataclass
class TextTail:
    """The last `limit` characters of a stream of lines (all of them when limit is None)."""

    limit: int | None
    lines: deque = field(default_factory=deque)
    size: int = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line)
        while self.limit is not None and self.size > self.limit and len(self.lines) > 1:
            self.size -= len(self.lines.popleft())

    def text(self) -> str:
        joined = "".join(self.lines)
        return joined if self.limit is None else joined[-self.limit :]


@dataclass
class Collected:
    """What is kept of one restic call's output, fed line by line as restic prints it; every
    line goes to the log at `level` as it comes (stdout only given `echo`). Progress messages
    are dropped, or handed to `on_status` when a worker shows progress."""

    level: int
    echo: bool
    on_status: Callable[[dict], None] | None = None
    messages: list = field(default_factory=list)
    stdout: TextTail = field(init=False)
    stderr: TextTail = field(default_factory=lambda: TextTail(STDERR_KEPT_BYTES))
    other_messages: int = 0

    def __post_init__(self) -> None:
        # Logged stdout is kept as a tail; stdout kept out of the log is small and read whole.
        self.stdout = TextTail(LOGGED_STDOUT_KEPT_BYTES if self.echo else None)

    def keep_message(self, message: dict) -> None:
        if message.get("message_type") not in KEPT_MESSAGE_TYPES:
            self.other_messages += 1
            if self.other_messages > OTHER_MESSAGES_KEPT:
                return
        self.messages.append(message)

    def on_stdout(self, line: str) -> None:
        """JSON messages are kept, other lines logged (given echo) and kept as text."""
        if line.startswith(PROGRESS_TYPES, 1):
            if self.on_status is not None and isinstance(status := parse_json_line(line), dict):
                self.on_status(status)
            return
        parsed = parse_json_line(line)
        if isinstance(parsed, dict):
            self.keep_message(parsed)
        elif isinstance(parsed, list):
            self.keep_message({"message_type": "list", "items": parsed})
        self.stdout.add(line + "\n")
        if self.echo and parsed is None:
            logger.log(self.level, line, extra=FILE_ONLY)

    def on_stderr(self, line: str) -> None:
        text = error_text(line).replace("\x1b[2K", "").rstrip("\r")
        self.stderr.add(text + "\n")
        # A --json error message holds several lines; each gets its own log stamp.
        for part in text.splitlines() or [""]:
            logger.log(self.level, part)
