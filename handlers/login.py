"""/entrar: a chat without access binds itself to a gestor with its e-mail and password.

Runs before there is a principal, so it is not a Flow: the router calls `login_turn` for a
stranger that sent /entrar or is in the middle of it. Only the e-mail waits in the state; the
password is checked in the step and its message deleted from the chat where the channel can.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.core import command_of
from handlers.senha import can_delete, forget
from services import passwords
from services.conversation import Outcome, State, Turn
from services.errors import ServiceError
from services.messages import Text, TextBody
from services.principal import Principal

FLOW = "entrar"
ASK_EMAIL, ASK_PASSWORD = "email", "senha"
MISSES, PAUSE = "misses", "pause_until"
# Wrong passwords one chat may type (over any e-mails) before it is paused for 15 minutes.
CHAT_MAX_MISSES = 10
# What typed at the password question is a command, not a password starting with "/" (/entrar
# and /cancelar are read before it; /start goes to the invite codes).
PASSWORD_COMMANDS = ("/menu", "/ajuda")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def wants_login(turn: Turn) -> bool:
    """/entrar, or an answer to one of its questions."""
    body = turn.event.body
    if isinstance(body, TextBody) and command_of(body.text) == "/entrar":
        return True
    if isinstance(body, TextBody) and command_of(body.text) == "/start":
        return False  # an invite code wins
    state = turn.state
    return state is not None and state.flow == FLOW and state.step in (ASK_EMAIL, ASK_PASSWORD)


def _password_question(turn: Turn) -> str:
    note = texts.SENHA_APAGADA_NOTE if can_delete(turn.event) else texts.SENHA_FICA_NO_CHAT
    return f"{texts.ENTRAR_ASK_SENHA}\n{note}"


def _pause_of(state: State | None, now: datetime) -> datetime | None:
    """Until when this chat may not try /entrar (too many wrong passwords from it)."""
    raw = state.data.get(PAUSE) if state is not None and state.flow == FLOW else None
    until = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    return until if until is not None and until > now else None


def _misses(state: State | None) -> int:
    if state is None or state.flow != FLOW:
        return 0
    return int(state.data.get(MISSES, 0))


def _paused(until: datetime) -> Text:
    local = until.astimezone(SAO_PAULO)
    return Text(f"⛔ {texts.ENTRAR_PAUSED.format(time=f'{local:%H:%M}')}")


def login_turn(turn: Turn) -> tuple[Outcome, Principal | None]:
    """Run one step of /entrar; with a principal when this chat has just been bound."""
    now = datetime.now(UTC)
    body = turn.event.body
    text = body.text if isinstance(body, TextBody) else ""
    command = command_of(text)
    misses = _misses(turn.state)
    pause = _pause_of(turn.state, now)
    if command == "/entrar":
        if pause is not None:
            return Outcome([_paused(pause)], turn.state), None
        return Outcome(
            [Text(texts.ENTRAR_ASK_EMAIL)], State(FLOW, ASK_EMAIL, {MISSES: misses})
        ), None
    if command == "/cancelar":
        return Outcome([Text(texts.ENTRAR_CANCELLED)], State(FLOW, "fim", {MISSES: misses})), None
    state = turn.state or State(FLOW, ASK_EMAIL, {})
    # at the password question only the commands a person means are commands: anything else
    # typed there, "/" first or not, is the password (checked, then deleted)
    at_password = state.step == ASK_PASSWORD and command not in PASSWORD_COMMANDS
    if not isinstance(body, TextBody) or (command and not at_password):
        question = texts.ENTRAR_ASK_EMAIL if state.step == ASK_EMAIL else _password_question(turn)
        return Outcome([Text(question)], state), None
    if state.step == ASK_EMAIL:
        email = text.strip()[:254]
        return Outcome(
            [Text(_password_question(turn))],
            State(FLOW, ASK_PASSWORD, {"email": email, MISSES: misses}),
        ), None
    gone = forget(turn.event)
    event = turn.event
    try:
        principal = passwords.log_in(
            turn.uow,
            email=str(state.data.get("email", "")),
            password=text,
            identity_key=event.identity_key,
            channel=event.channel,
            address=event.address,
            display_name=event.display_name,
        )
    except passwords.AccountLocked as exc:
        return Outcome([*gone, Text(f"⛔ {exc.message}")], State(FLOW, "fim", {})), None
    except ServiceError as exc:
        misses += 1
        if misses >= CHAT_MAX_MISSES:
            # Many e-mails tried from one chat: pause this chat too, whatever the accounts.
            until = now + passwords.LOCK_TIME
            paused = State(FLOW, "pausa", {PAUSE: until.isoformat()})
            return Outcome([*gone, _paused(until)], paused), None
        retry = Text(f"⚠️ {exc.message}\n\n{texts.ENTRAR_ASK_EMAIL}")
        return Outcome([*gone, retry], State(FLOW, ASK_EMAIL, {MISSES: misses})), None
    done = Text(texts.ENTRAR_OK.format(gestor=principal.gestor_name))
    return Outcome([*gone, done], None), principal
