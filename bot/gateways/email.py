"""E-mail through an SMTP server (settings SMTP_*), with STARTTLS when asked."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid

from services.email import DeliveryFailed, EmailMessage

log = logging.getLogger(__name__)


class SmtpEmailGateway:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        mime = MimeMessage()
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(localtime=False)
        mime["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip("> ") or None)
        mime.set_content(message.body)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mime.partition("/")
            mime.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.name,
            )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(mime)
        except (OSError, smtplib.SMTPException) as exc:
            # The class name only: SMTP replies may echo the login, never the password, but
            # there is no need to log either.
            log.warning(
                "SMTP delivery to %s:%s failed: %s", self.host, self.port, type(exc).__name__
            )
            raise DeliveryFailed(
                "Não consegui enviar o e-mail agora (o servidor de e-mail não respondeu). "
                "Tente de novo em alguns minutos ou envie o link de outro jeito."
            ) from None
