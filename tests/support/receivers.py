"""Real receivers on loopback for the reporters: an SMTP server (aiosmtpd) and an HTTP server
(http.server in a thread). Both record what they received, raw, for the tests to inspect."""

import contextlib
import email
import email.policy
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


@dataclass(frozen=True)
class ReceivedMail:
    """One SMTP transaction: envelope addresses, the raw DATA bytes and the login used."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    login: tuple[str, str] | None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    def text(self) -> str:
        """Everything a reader could see: raw bytes and the decoded subject and body."""
        return "\n".join([self.raw.decode(errors="replace"), self.subject, self.body])


@dataclass
class SmtpReceiver:
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


@contextlib.contextmanager
def smtp_receiver(user: str = "", password: str = "") -> Iterator[SmtpReceiver]:
    """Run an SMTP server on loopback. Given a user, it offers AUTH (over plain TCP) and
    accepts only that user and password."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver(free_port())
    logins: dict[int, tuple[str, str]] = {}

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            receiver.messages.append(
                ReceivedMail(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                    logins.get(id(session)),
                )
            )
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, data):
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (data.login.decode(), data.password.decode())
        if given != (user, password):
            return AuthResult(success=False, handled=False)
        logins[id(session)] = given
        return AuthResult(success=True)

    options = {"authenticator": authenticator, "auth_require_tls": False} if user else {}
    controller = Controller(Handler(), hostname="127.0.0.1", port=receiver.port, **options)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Records every request; answers each with the next scripted status (then 200)."""

    port: int
    statuses: list[int] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)
    delay_seconds: float = 0.0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.requests)


@contextlib.contextmanager
def http_receiver(statuses: list[int] | None = None, delay_seconds: float = 0.0) -> Iterator[HttpReceiver]:
    """Run an HTTP server on loopback that records requests and answers with `statuses` in turn."""
    receiver = HttpReceiver(0, list(statuses or []), delay_seconds=delay_seconds)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(ReceivedRequest("POST", self.path, dict(self.headers.items()), body))
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *arguments):
            pass  # keep pytest's output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
