"""Enviar certificado: the .pfx/.p12 as a document, then its password as a message.

Between the two steps the file is kept sealed (services/crypto.py) in the flow data; it leaves
with the flow (saved, Cancelar, /menu or too many wrong passwords). The password message is
deleted from the chat where the channel can; where it cannot, the prompt warns and the person
is asked to delete it. Text typed instead of the file may be the password: the same goes for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from handlers import texts
from handlers.config_nav import finish
from handlers.core import Answer, Ctx, Data, Flow, Goto, Retry, Step, nav, screen
from handlers.senha import can_delete, forget
from services import certificates
from services.certificates import CertificateRefused
from services.crypto import SecretBox
from services.errors import ServiceError
from services.messages import Body, FileBody, Outbound, Text, TextBody

MAX_TRIES = 3


def _box(ctx: Ctx) -> SecretBox:
    if ctx.config.secret_box is None:
        raise ServiceError("O envio de certificados não está configurado. Fale com o suporte.")
    return ctx.config.secret_box


def ask_file(ctx: Ctx, data: Data) -> Text:
    """Ask for the certificate file."""
    data.pop("pfx", None)
    limit = certificates.MAX_SIZE // 1024
    return screen(texts.ASK_CERT_FILE.format(limit=limit), nav())


def answer_file(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Check the file and keep it sealed for the password step."""
    if isinstance(body, TextBody):
        gone = forget(ctx.event, texts.CERT_TEXT_INSTEAD_OF_FILE)
        warning = Text(texts.INVALID_PREFIX.format(message=texts.CERT_FILE_EXPECTED))
        return Goto("arquivo", before=(*gone, warning))
    if not isinstance(body, FileBody):
        return Retry(texts.CERT_FILE_EXPECTED)
    if body.data is None and body.name.lower().endswith(certificates.EXTENSIONS):
        return Retry(texts.CERT_TOO_BIG_TO_FETCH.format(name=body.name))
    sealed = certificates.accept_file(
        ctx.uow,
        ctx.principal,
        int(data["cid"]),
        box=_box(ctx),
        name=body.name,
        size=body.size,
        data=body.data,
    )
    return Goto("senha", {"pfx": sealed, "arquivo": body.name[:80], "tentativas": 0})


def ask_password(ctx: Ctx, data: Data) -> Text:
    """Ask for the password, saying whether the message will be deleted."""
    name = data.get("arquivo", "")
    if can_delete(ctx.event):
        prompt = texts.CERT_PROMPT_DELETES.format(name=name)
    else:
        prompt = texts.CERT_PROMPT_WARNS.format(name=name)
    tries = int(data.get("tentativas", 0))
    if tries:
        prompt += "\n" + texts.CERT_TRIES.format(n=tries + 1, max=MAX_TRIES)
    return screen(prompt, nav())


def answer_password(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Open the certificate with the password, delete the message, store it or say why not."""
    if not isinstance(body, TextBody):
        return Retry(texts.USE_BUTTONS)
    removal: list[Outbound] = list(forget(ctx.event))
    sealed = data.get("pfx")
    if not sealed:
        return Goto("arquivo", {"pfx": None}, before=removal)
    try:
        view = certificates.save_certificate(
            ctx.uow,
            ctx.principal,
            int(data["cid"]),
            box=_box(ctx),
            sealed_pfx=str(sealed),
            password=body.text,
            now=datetime.now(UTC),
        )
    except CertificateRefused as exc:
        return _refused(data, exc, removal)
    saved = texts.CERT_SAVED.format(holder=view.holder_name, until=f"{view.valid_until:%d/%m/%Y}")
    return finish(data, before=[*removal, Text(saved)])


def _refused(data: Data, exc: CertificateRefused, removal: list[Outbound]) -> Answer:
    if not exc.wrong_password:
        # The file itself is refused: ask for another one.
        warning = Text(texts.INVALID_PREFIX.format(message=exc.message))
        return Goto("arquivo", {"pfx": None}, before=[*removal, warning])
    tries = int(data.get("tentativas", 0)) + 1
    if tries >= MAX_TRIES:
        warning = Text(texts.CERT_TOO_MANY_TRIES.format(max=MAX_TRIES))
        return finish(data, before=[*removal, warning])
    warning = Text(texts.INVALID_PREFIX.format(message=exc.message))
    return Goto("senha", {"tentativas": tries}, before=[*removal, warning])


CERT_UPLOAD_FLOW = Flow(
    "config_cert",
    {
        # secret_text: an unknown /command typed here may be the password too; never echoed
        "arquivo": Step(
            ask_file, answer_file, accepts_text=True, accepts_file=True, secret_text=True
        ),
        "senha": Step(ask_password, answer_password, accepts_text=True, secret_text=True),
    },
)
