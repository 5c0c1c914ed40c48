"""Real receivers on loopback for the reporters: an SMTP server (aiosmtpd) and an HTTP server
(http.server in a thread). Both record what they received, raw, for the tests to inspect."""

import contextlib
import email
import email.policy
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


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


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key into `directory`; return both paths.
    The certificate is its own CA, so a client given it as SSL_CERT_FILE trusts the server."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificate_path, key_path


def server_tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def tls_options(tls: str, certificate: tuple[Path, Path] | None) -> dict:
    """aiosmtpd options for SMTP_TLS's modes: STARTTLS required before anything else, or TLS
    from the first byte (implicit TLS, as on port 465)."""
    if tls == "off":
        return {}
    context = server_tls_context(certificate)
    if tls == "starttls":
        return {"tls_context": context, "require_starttls": True}
    return {"ssl_context": context}


@contextlib.contextmanager
def smtp_receiver(
    user: str = "", password: str = "", tls: str = "off", certificate: tuple[Path, Path] | None = None
) -> Iterator[SmtpReceiver]:
    """Run an SMTP server on loopback. Given a user, it offers AUTH and accepts only that user
    and password; over plain TCP only when `tls` is off. Given tls "starttls" or "tls" and a
    certificate (see self_signed_certificate), it speaks TLS as SMTP_TLS says."""
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

    # aiosmtpd counts only STARTTLS as TLS for AUTH; with implicit TLS every byte is encrypted.
    options = {"authenticator": authenticator, "auth_require_tls": tls == "starttls"} if user else {}
    options |= tls_options(tls, certificate)
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
            self.answer("POST")

        def do_GET(self):
            self.answer("GET")

        def do_PUT(self):
            self.answer("PUT")

        def answer(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(ReceivedRequest(method, self.path, dict(self.headers.items()), body))
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


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A port on loopback that accepts connections and never answers: the kernel completes each
    handshake into the backlog, and nothing ever reads. Yield the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener.getsockname()[1]
    finally:
        listener.close()
