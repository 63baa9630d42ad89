"""Where outgoing email goes: the log (`EMAIL_BACKEND=console`) or an SMTP server (`smtp`)."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from aai_cli.errors import AaiError, SmtpUnavailable
from aai_cli.models import EmailMessage
from aai_cli.settings import Settings

log = logging.getLogger("aai_cli.emails")
SMTP_TIMEOUT_S = 30


class EmailRejected(AaiError):
    """The message can never be delivered (a permanent refusal): no point retrying."""


class Backend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def build_mime(message: EmailMessage, sender: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    return mime


class ConsoleBackend:
    """Logs each message (the development default); never fails."""

    def __init__(self, sender: str) -> None:
        self.sender = sender

    def send(self, message: EmailMessage) -> None:
        log.info(
            "email (console backend) from=%s to=%s subject=%s\n%s",
            self.sender,
            message.to_address,
            message.subject,
            message.body_text,
        )


class SmtpBackend:
    """One SMTP connection per delivery run, reopened after a failure."""

    def __init__(self, settings: Settings) -> None:
        settings.require_smtp()
        self.settings = settings
        self.sender = settings.no_reply_email_sender
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=SMTP_TIMEOUT_S)
        try:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_user, password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(build_mime(message, self.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise EmailRejected(f"recipient refused by the SMTP server ({codes[0]})") from None
            self.close()
            raise SmtpUnavailable(f"recipient temporarily refused ({codes[0]})") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            kind = "SMTP authentication failed" if exc.smtp_code == 535 else "SMTP error"
            raise SmtpUnavailable(f"{kind}: {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            raise SmtpUnavailable(f"cannot send through {where}: {exc}") from None

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


@contextlib.contextmanager
def open_backend(settings: Settings) -> Iterator[Backend]:
    if settings.email_backend == "smtp":
        backend = SmtpBackend(settings)
        try:
            yield backend
        finally:
            backend.close()
        return
    yield ConsoleBackend(settings.no_reply_email_sender)
