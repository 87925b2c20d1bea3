"""Meus dados › Senha: the new password twice, then Confirmar alteração (gestor only).

Each message carrying a password is deleted from the chat right after it is read where the
channel can delete; elsewhere the person is warned before typing and, right after, asked to
delete it. Only an argon2id hash of the first typing waits in the conversation state for the
second; never the password itself.
"""

from __future__ import annotations

from handlers import texts
from handlers.core import HISTORY, Answer, Ctx, Data, Goto, Retry, Step, chosen, nav, screen, typed
from services import gestor_profile, passwords
from services.errors import ServiceError
from services.messages import Body, Choice, DeleteMessage, Inbound, Outbound, Text

CONFIRM = Choice("pw:ok", texts.CONFIRMAR_ALTERACAO)
PENDING_HASH = "ph"


def can_delete(event: Inbound) -> bool:
    return event.capabilities.can_delete_messages


def forget(event: Inbound, ask: str = texts.APAGUE_A_SENHA) -> tuple[Outbound, ...]:
    """Remove the message the person just sent (it carried a password); where the channel
    cannot, or is refused, `ask` the person to delete it."""
    if event.message_ref is not None and can_delete(event):
        return (DeleteMessage(event.message_ref, if_kept=ask),)
    return (Text(ask),)


def reset_password_data(data: Data) -> None:
    data.pop(PENDING_HASH, None)


def _password_prompt(ctx: Ctx, question: str) -> str:
    note = texts.SENHA_APAGADA_NOTE if can_delete(ctx.event) else texts.SENHA_FICA_NO_CHAT
    return f"{question}\n{note}"


def ask_senha(ctx: Ctx, data: Data) -> Text:
    """Explain the rules and ask the new password."""
    data[HISTORY] = ["inicio"]
    reset_password_data(data)
    profile = gestor_profile.get_profile(ctx.uow, ctx.principal)
    status = texts.SENHA_SET if profile.has_password else texts.SENHA_UNSET
    intro = texts.SENHA_TEXT.format(status=status)
    return screen(f"{intro}\n\n{_password_prompt(ctx, texts.ASK_NOVA_SENHA)}", nav(cancel=False))


def answer_senha(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Check the strength; keep only its hash for the second typing."""
    password = typed(body)
    gone = forget(ctx.event)
    try:
        pending = passwords.prepare_new_password(ctx.uow, ctx.principal, password)
    except (ServiceError, ValueError) as exc:
        message = getattr(exc, "message", texts.USE_BUTTONS)
        return Goto("senha", before=(*gone, Text(texts.INVALID_PREFIX.format(message=message))))
    return Goto("senha2", {PENDING_HASH: pending}, before=gone)


def ask_senha2(ctx: Ctx, data: Data) -> Text:
    """Ask the same password again."""
    return screen(_password_prompt(ctx, texts.ASK_REPETIR_SENHA), nav(cancel=False))


def answer_senha2(ctx: Ctx, data: Data, body: Body) -> Answer:
    """The two must match; else start over from the first typing."""
    password = typed(body)
    gone = forget(ctx.event)
    pending = data.get(PENDING_HASH)
    if not pending:
        return Goto("senha", before=gone)
    try:
        passwords.confirm_repeat(pending, password)
    except passwords.PasswordsDiffer as exc:
        warning = Text(texts.INVALID_PREFIX.format(message=exc.message))
        return Goto("senha", {PENDING_HASH: None}, before=(*gone, warning))
    return Goto("senha_ok", before=gone)


def ask_senha_ok(ctx: Ctx, data: Data) -> Text:
    """Ask for the confirmation."""
    return screen(texts.CONFIRMAR_SENHA_TEXT, [CONFIRM], nav())


def answer_senha_ok(ctx: Ctx, data: Data, body: Body) -> Answer:
    """Store the new password."""
    if chosen(body) != CONFIRM.id:
        return Retry(texts.USE_BUTTONS)
    pending = data.get(PENDING_HASH)
    if not pending:
        return Goto("senha")
    passwords.change_password(ctx.uow, ctx.principal, pending)
    return Goto("inicio", {PENDING_HASH: None}, before=(Text(texts.SENHA_ALTERADA),))


# secret_text: a password may start with "/"; read as an unknown command it would be echoed
# back and its message left in the chat
SENHA_STEPS = {
    "senha": Step(ask_senha, answer_senha, accepts_text=True, secret_text=True),
    "senha2": Step(ask_senha2, answer_senha2, accepts_text=True, secret_text=True),
    "senha_ok": Step(ask_senha_ok, answer_senha_ok),
}
