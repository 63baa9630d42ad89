"""A real SMTP server on 127.0.0.1 (aiosmtpd) that collects what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from aai_cli.localauth0.holds import HeldAnswer


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content()


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    credentials: tuple[str, str] | None = None  # when set, AUTH must match (else 535)
    logins: list[str] = field(default_factory=list)
    held: HeldAnswer | None = None  # when set, DATA is answered only once it is released
    _changed: threading.Condition = field(default_factory=threading.Condition)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.held is not None:
            await asyncio.to_thread(self.held.wait_here)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode()
        ok = self.credentials is None or (login, auth_data.password.decode()) == self.credentials
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

    def hold(self) -> HeldAnswer:
        """Answer DATA only once the returned hold is released (aai_cli/localauth0/holds.py)."""
        self.held = HeldAnswer("DATA", ".*")
        return self.held

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=_free_port())
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,  # test only: plain AUTH on loopback
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_env(smtp_server: SmtpServer, settings_env) -> SmtpServer:
    """EMAIL_BACKEND=smtp pointed at the local server (no STARTTLS, no login)."""
    settings_env(
        EMAIL_BACKEND="smtp",
        SMTP_HOST=smtp_server.host,
        SMTP_PORT=str(smtp_server.port),
        SMTP_STARTTLS="false",
        NO_REPLY_EMAIL_SENDER="no-reply@test.biocommons.org.au",
        AAI_PORTAL_URL="https://portal.test",
    )
    return smtp_server
