"""Reading restic's output while it runs: every line goes to the run log as it comes, and a
bounded part of it is kept for the workers (restic can print millions of lines)."""

import json
import logging
import threading
from collections import deque
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
# Logged stdout is kept as a tail; stdout kept out of the log (echo=False) is small and read whole.
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
    """What is kept of one restic call's output."""

    messages: list = field(default_factory=list)
    stdout: TextTail = field(default_factory=lambda: TextTail(None))
    stderr: TextTail = field(default_factory=lambda: TextTail(STDERR_KEPT_BYTES))
    other_messages: int = 0
    # An unexpected error of the stderr reader, raised again once restic has ended.
    failure: Exception | None = None

    def keep_message(self, message: dict) -> None:
        if message.get("message_type") not in KEPT_MESSAGE_TYPES:
            self.other_messages += 1
            if self.other_messages > OTHER_MESSAGES_KEPT:
                return
        self.messages.append(message)


def collector(echo: bool) -> Collected:
    return Collected(stdout=TextTail(LOGGED_STDOUT_KEPT_BYTES if echo else None))


def read_stdout(stream, collected: Collected, level: int, echo: bool) -> None:
    """Read restic's stdout to its end: JSON messages are kept, other lines logged (given echo)."""
    try:
        for line in stream:
            if line.startswith(PROGRESS_TYPES, 1):
                continue
            parsed = parse_json_line(line)
            if isinstance(parsed, dict):
                collected.keep_message(parsed)
            elif isinstance(parsed, list):
                collected.keep_message({"message_type": "list", "items": parsed})
            collected.stdout.add(line)
            if echo and parsed is None:
                logger.log(level, line, extra=FILE_ONLY)
    finally:
        discard(stream)


def read_stderr(stream, collected: Collected, level: int) -> None:
    try:
        for line in stream:
            text = error_text(line).replace("\x1b[2K", "").rstrip("\n")
            collected.stderr.add(text + "\n")
            # A --json error message holds several lines; each gets its own log stamp.
            for part in text.splitlines() or [""]:
                logger.log(level, part)
    except Exception as error:  # noqa: BLE001 - raised again in the main thread, after restic ends
        collected.failure = error
    finally:
        discard(stream)


def start_stderr_reader(stream, collected: Collected, level: int) -> threading.Thread:
    reader = threading.Thread(target=read_stderr, args=(stream, collected, level), daemon=True)
    reader.start()
    return reader


def discard(stream) -> None:
    """Read what is left of a stream, so restic is never killed by a closed pipe."""
    for _line in stream:
        pass
