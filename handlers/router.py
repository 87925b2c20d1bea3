"""The dialogue: turns one inbound event into replies and the next state.

What is the same for every step lives here (commands, stale buttons, Voltar/Cancelar/Menu,
re-prompting, the prompt's token); which flows and `go:` kinds exist is handlers/flows.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from domain.errors import InvalidValue
from handlers import texts
from handlers.access import invite_code_in, no_access, redeem
from handlers.core import (
    BACK,
    CANCEL,
    GO,
    HISTORY,
    MENU,
    OFFERED,
    PROMPT,
    RETURN,
    Ctx,
    DialogueConfig,
    Goto,
    Retry,
    Stay,
    UnexpectedInput,
    command_of,
    new_token,
    stamped,
    unstamped,
)
from handlers.flows import FLOWS, GO_OPENERS, HOME
from handlers.go import open_go
from handlers.login import login_turn, wants_login
from handlers.menu import help_text
from handlers.notices import NOTICE_RENDERERS
from handlers.ordering import ignored_out_of_order, stale_command
from handlers.senha import forget
from handlers.shortcuts import Land, listens, shortcut_answer
from services.conversation import Outcome, State, Turn
from services.errors import ServiceError
from services.jobs import JobRequest
from services.messages import (
    Body,
    ChoiceBody,
    FileBody,
    MediaBody,
    MediaKind,
    NoticeBody,
    Outbound,
    Text,
    TextBody,
)

log = logging.getLogger(__name__)

# The commands `Dialogue._command` acts on. At a step that reads a secret, any other text that
# starts with "/" is the answer (a password may start with one), never a command to echo back.
COMMANDS = ("/start", "/menu", "/entrar", "/cancelar", "/ajuda")


class Dialogue:
    """Callable handed to the conversation engine (services.conversation.ConversationEngine)."""

    def __init__(self, config: DialogueConfig | None = None) -> None:
        self.config = config or DialogueConfig()

    @staticmethod
    def takes_photo(flow: str, step: str) -> bool:
        """Whether this step reads a picture (a DANFE's barcode): only there is a chat photo
        worth downloading; anywhere else its kind alone is answered."""
        found = FLOWS.get(flow)
        at = found.steps.get(step) if found is not None else None
        return at is not None and at.accepts_photo

    def __call__(self, turn: Turn) -> Outcome:
        turn, token = _without_token(turn)
        event = turn.event
        if isinstance(event.body, MediaBody) and event.body.kind is MediaKind.REACTION:
            # An emoji put on (or taken off) one of our messages is a nod, not a request:
            # answering each one would flood the chat (and, on WhatsApp, the per-user pacing)
            # for nothing. So no reply and no state change, wherever the person is.
            return Outcome([], None)
        if turn.principal is None:
            return self._stranger(turn)
        ctx = Ctx(turn.uow, turn.principal, event, self.config)
        late = self._late(ctx, turn.state)
        if late is not None:
            return late
        body = event.body
        if isinstance(body, TextBody) and body.text.startswith("/"):
            return self._command(ctx, turn.state, body.text)
        if isinstance(body, NoticeBody):
            return self._notice(ctx, turn.state, body)
        if isinstance(body, MediaBody):
            return self._media(ctx, turn.state, body)
        if isinstance(body, ChoiceBody) and body.choice_id.startswith(GO):
            return self._go(ctx, turn.state, body.choice_id)
        state = turn.state
        if state is None or state.flow not in FLOWS or state.step not in FLOWS[state.flow].steps:
            if isinstance(body, ChoiceBody) and body.choice_id != MENU.id:
                return self._home(ctx, before=[Text(texts.EXPIRED)])
            if isinstance(body, TextBody):  # a shortcut as the first words, else the greeting
                shortcut = self._shortcut(ctx, State(*HOME, {}), body.text)
                if shortcut is not None:
                    return shortcut
            return self._home(ctx, greet=True)
        if isinstance(body, ChoiceBody):
            # (an id without a token, from a message older than tokens or crafted, is only
            # checked against the offered ids, as before)
            if token is not None and token != state.data.get(PROMPT):
                return self._expired(ctx, state)
            if body.choice_id == MENU.id:
                return self._home(ctx)
            if body.choice_id not in state.data.get(OFFERED, ()):
                return self._home(ctx, before=[Text(texts.EXPIRED)])
            if body.choice_id == CANCEL.id:
                return self._home(ctx, before=[Text(texts.CANCELLED)])
            if body.choice_id == BACK.id:
                return self._back(ctx, state)
        return self._answer(ctx, state)

    # -- the pieces ---------------------------------------------------------------------------

    def _stranger(self, turn: Turn) -> Outcome:
        if wants_login(turn):  # /entrar with e-mail and password
            outcome, bound = login_turn(turn)
            if bound is None:
                return outcome
            ctx = Ctx(turn.uow, bound, turn.event, self.config)
            return self._home(ctx, before=outcome.replies, greet=True)
        code = invite_code_in(turn.event)
        if code is None:
            return Outcome([no_access(self.config)], None)
        principal, replies = redeem(turn.uow, turn.event, code)
        if principal is None:
            return Outcome(replies, None)
        ctx = Ctx(turn.uow, principal, turn.event, self.config)
        return self._home(ctx, before=replies, greet=True)

    def _command(self, ctx: Ctx, state: State | None, text: str) -> Outcome:
        command = command_of(text)
        if command not in COMMANDS:
            return self._unknown_command(ctx, state, command)
        if command == "/start":
            code = invite_code_in(ctx.event)
            if code is not None:
                return self._home(ctx, before=[Text(texts.ALREADY_BOUND)])
            return self._home(ctx, greet=True)
        if command == "/menu":
            return self._home(ctx)
        if command == "/entrar":  # this chat already has access
            already = texts.ENTRAR_ALREADY.format(gestor=ctx.principal.gestor_name)
            return self._home(ctx, before=[Text(already)])
        if command == "/cancelar":
            busy = state is not None and state.flow != HOME[0]
            return self._home(
                ctx, before=[Text(texts.CANCELLED if busy else texts.NOTHING_TO_CANCEL)]
            )
        if command == "/ajuda":
            return self._home(ctx, before=[Text(help_text(ctx))])
        raise AssertionError(f"{command} is in COMMANDS but nothing here acts on it")

    def _unknown_command(self, ctx: Ctx, state: State | None, command: str) -> Outcome:
        if state is not None and state.flow in FLOWS:
            step = FLOWS[state.flow].steps.get(state.step)
            if step is not None and step.secret_text:
                return self._answer(ctx, state)  # a password starting with "/"
            return self._reask(ctx, state, texts.UNKNOWN_COMMAND.format(command=command))
        return self._home(ctx, before=[Text(texts.UNKNOWN_COMMAND.format(command=command))])

    def _late(self, ctx: Ctx, state: State | None) -> Outcome | None:
        """A command sent too long ago: a note (at a step that reads a secret, only one of
        COMMANDS is a command); a message dated before one already answered: named (a secret
        is not quoted), and the live question asked again. None when the event is on time."""
        flow = FLOWS.get(state.flow) if state is not None else None
        step = flow.steps.get(state.step) if flow is not None and state is not None else None
        body = ctx.event.body
        answer = (
            step is not None
            and step.secret_text
            and isinstance(body, TextBody)
            and command_of(body.text) not in COMMANDS
        )
        note = None if answer else stale_command(ctx.event)
        if note is not None:
            return Outcome([Text(note)], None)
        note = ignored_out_of_order(ctx.event, step)
        if note is None:
            return None
        live = state if step is not None and state is not None else State(*HOME, {})
        # a text at a step that reads a secret may be the secret: it leaves the chat as a
        # secret read there does (deleted, or the person asked to delete it)
        gone = list(forget(ctx.event)) if answer else []
        return self._show(ctx, live, gone, prefix=note)

    def _notice(self, ctx: Ctx, state: State | None, body: NoticeBody) -> Outcome:
        """Word a notice. Its buttons are `go:` ids (handlers/go.py), not tied to the live
        prompt, so the state stays as it is."""
        render = NOTICE_RENDERERS.get(body.kind)
        if render is None:
            log.warning("no renderer for notice kind %s", body.kind)
            return Outcome([], None)
        replies = list(render(ctx, dict(body.data)))
        stray = [
            c.id
            for m in replies
            if isinstance(m, Text)
            for c in m.choices
            if not c.id.startswith(GO)
        ]
        if stray:
            log.warning(
                "notice %s offers buttons that only work from a state: %s", body.kind, stray
            )
        return Outcome(replies, None)

    def _media(self, ctx: Ctx, state: State | None, body: MediaBody) -> Outcome:
        """A photo, voice note, sticker...: no step takes one, so say so where the person is
        and ask the same question again (in a flow: what the step needs; at the menu: what
        to do instead). The state stays as it was."""
        what = texts.MEDIA_NAMES.get(body.kind, texts.MEDIA_NAMES[MediaKind.OTHER])
        step = None
        if state is not None and state.flow in FLOWS:
            step = FLOWS[state.flow].steps.get(state.step)
        if state is None or step is None or (state.flow, state.step) == HOME:
            # (Reading a note's QR code or access key from a photo would start here.)
            note = texts.MEDIA_AT_MENU.get(body.kind, texts.MEDIA_AT_MENU[MediaKind.OTHER])
            home = state if state is not None and step is not None else State(*HOME, {})
            return self._reask(ctx, home, note)
        if step.accepts_photo and body.photo is not None:
            return self._answer(ctx, state, body.photo)
        if step.accepts_file:
            return self._reask(ctx, state, texts.MEDIA_WANTS_FILE.format(what=what))
        if step.accepts_text:
            return self._reask(ctx, state, texts.MEDIA_WANTS_TEXT.format(what=what))
        return self._reask(ctx, state, texts.MEDIA_WANTS_BUTTON.format(what=what))

    def _go(self, ctx: Ctx, state: State | None, choice_id: str) -> Outcome:
        """A `go:` button (a notice's, a Pendências item's: handlers/go.py): valid until its
        object changes, from any state; tenancy and role re-checked."""
        opened = open_go(ctx, choice_id, state.data if state else {}, GO_OPENERS)
        if isinstance(opened, str):
            return self._home(ctx, before=[Text(opened)])
        if opened.press is not None:
            return self._answer(ctx, opened.state, press=ChoiceBody(opened.press))
        return self._show(ctx, opened.state, [])

    def _home(self, ctx: Ctx, *, before: Sequence[Outbound] = (), greet: bool = False) -> Outcome:
        state = State(*HOME, {})
        replies = list(before)
        if greet:
            replies.append(Text(texts.WELCOME.format(name=ctx.principal.gestor_name)))
        return self._show(ctx, state, replies, hint=greet)

    def _expired(self, ctx: Ctx, state: State) -> Outcome:
        """A button of a message the flow has moved past: change nothing, say so, and ask the
        live question again where the person is looking (the old message stays as it was)."""
        said = texts.EXPIRED if (state.flow, state.step) == HOME else texts.EXPIRED_KEPT
        return self._show(ctx, state, [Text(said)])

    def _back(self, ctx: Ctx, state: State) -> Outcome:
        history = list(state.data.get(HISTORY, ()))
        if not history:
            ret = state.data.get(RETURN)
            if ret and ret.get("flow") in FLOWS:
                return self._show(ctx, State(ret["flow"], ret["step"], dict(ret["data"])), [])
            return self._home(ctx)
        previous = history.pop()
        data = {**state.data, HISTORY: history}
        return self._show(ctx, State(state.flow, previous, data), [])

    def _answer(
        self, ctx: Ctx, state: State, press: ChoiceBody | FileBody | None = None
    ) -> Outcome:
        step = FLOWS[state.flow].steps[state.step]
        body: Body = press or ctx.event.body
        # Typed shortcuts: which steps listen, and in what order, is in handlers/shortcuts.py.
        if isinstance(body, TextBody) and listens(
            ctx, state.flow, state.step, step, state.data, body.text
        ):
            shortcut = self._shortcut(ctx, state, body.text)
            if shortcut is not None:
                return shortcut
        if isinstance(body, TextBody) and not step.accepts_text:
            return self._reask(ctx, state, texts.USE_BUTTONS)
        if isinstance(body, FileBody) and not step.accepts_file:
            return self._reask(ctx, state, texts.NO_FILE_HERE)
        if isinstance(body, FileBody) and body.unavailable:
            return self._reask(ctx, state, texts.FILE_UNAVAILABLE.format(name=body.name))
        data = dict(state.data)
        try:
            answer = step.answer(ctx, data, body)
        except UnexpectedInput:
            return self._reask(ctx, state, texts.USE_BUTTONS)
        except InvalidValue as exc:
            answer = Retry(exc.message)
        except ServiceError as exc:
            answer = Retry(exc.message)
        if isinstance(answer, Land):
            return self._land(ctx, answer)
        if isinstance(answer, Retry):
            return self._reask(ctx, state, texts.INVALID_PREFIX.format(message=answer.message))
        if isinstance(answer, Stay):
            return self._reask(ctx, state, answer.message)
        outcome = self._goto(ctx, state, data, answer)
        if answer.jobs:
            _question_after_jobs(outcome, answer.jobs)
        return outcome

    def _shortcut(self, ctx: Ctx, state: State, text: str) -> Outcome | None:
        """Text read as a shortcut: land where the buttons lead, or ask which client."""
        try:
            answer = shortcut_answer(ctx, state.flow, state.step, state.data, text)
        except ServiceError as exc:
            return self._reask(ctx, state, f"⚠️ {exc.message}")
        if answer is None:
            return None
        if isinstance(answer, Land):
            return self._land(ctx, answer)
        if isinstance(answer, Goto):
            return self._goto(ctx, state, dict(state.data), answer)
        return self._reask(ctx, state, answer.message)

    def _land(self, ctx: Ctx, land: Land) -> Outcome:
        """Open the step with its data as given; press its button when the shortcut said all."""
        flow = land.flow or HOME[0]
        state = State(flow, land.step or FLOWS[flow].first, dict(land.data))
        if land.press is not None:
            return self._answer(ctx, state, press=ChoiceBody(land.press))
        return self._show(ctx, state, list(land.before), prefix=land.confirm or None)

    def _goto(self, ctx: Ctx, state: State, data: dict[str, Any], goto: Goto) -> Outcome:
        if goto.flow is not None and goto.flow != state.flow:
            step = goto.step or FLOWS[goto.flow].first
            next_state = State(goto.flow, step, dict(goto.data))
        else:
            history = [*data.get(HISTORY, ())]
            if goto.step != state.step:
                history.append(state.step)
            next_state = State(state.flow, goto.step, {**data, **goto.data, HISTORY: history})
        return self._show(ctx, next_state, list(goto.before))

    def _reask(self, ctx: Ctx, state: State, message: str) -> Outcome:
        return self._show(ctx, state, [], prefix=message)

    def _show(
        self,
        ctx: Ctx,
        state: State,
        replies: list[Outbound],
        *,
        prefix: str | None = None,
        hint: bool = False,
    ) -> Outcome:
        """Ask the state's question as the new prompt: a fresh token on its buttons, kept
        in the state with the ids it offered."""
        flow = FLOWS[state.flow]
        data = dict(state.data)
        try:
            question = flow.steps[state.step].ask(ctx, data)
        except ServiceError as exc:
            if (state.flow, state.step) == HOME:
                raise
            return self._home(ctx, before=[*replies, Text(f"⚠️ {exc.message}")])
        text = question.text
        if prefix and not text.startswith(prefix):  # a shortcut's line the question already says
            text = f"{prefix}\n\n{text}"
        if hint:
            text = f"{text}\n\n{texts.MENU_HINT}"
        capabilities = ctx.event.capabilities
        if capabilities.shows_as_list(len(question.choices)):
            for buttons, listed in texts.AS_LIST:
                text = text.replace(buttons, listed.format(list=capabilities.list_label))
        edit = isinstance(ctx.event.body, ChoiceBody) and not replies
        token = new_token()
        replies.append(Text(text, stamped(question.buttons, token), edit=edit, prompt=True))
        data[OFFERED] = [choice.id for choice in question.choices]
        data[PROMPT] = token
        return Outcome(replies, State(state.flow, state.step, data))


def _question_after_jobs(outcome: Outcome, jobs: Sequence[JobRequest]) -> None:
    """Long work sends its files later: the question, with the buttons to go on, comes under
    them as a new message (not now, above them, in place of the pressed one)."""
    *replies, question = outcome.replies
    if isinstance(question, Text):
        question = replace(question, edit=False)
    outcome.replies, outcome.after_jobs = replies, [question]
    outcome.jobs = jobs


def _without_token(turn: Turn) -> tuple[Turn, str | None]:
    """The turn with the pressed id freed of its prompt token (steps see plain ids), and the
    token; (turn, None) for anything but a press of a stamped button."""
    body = turn.event.body
    if not isinstance(body, ChoiceBody):
        return turn, None
    token, choice_id = unstamped(body.choice_id)
    if token is None:
        return turn, None
    return replace(turn, event=replace(turn.event, body=ChoiceBody(choice_id))), token
