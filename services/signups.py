"""The client's side of sign-up: open a contracting link, fill the form, become a client.

Also `/cadastro` without a link: a client whose "e-mail do contador" is one of a gestor's
linked e-mails becomes that gestor's client; otherwise the sign-up waits for the operator.
Every field is validated with the same domain rules as the chat; errors come back per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from domain.clients import CreatedVia, Payer
from domain.links import LinkState
from domain.money import format_brl, monthly_price
from services import catalog, notices
from services.clients import NewClient, create_client
from services.errors import Conflict, ServiceError
from services.links import hash_token, view
from services.signup_form import (
    DOC_TAKEN,
    GESTOR_EMAIL,
    PLAN_MISSING,
    FormInvalid,
    SignUpForm,
    Valid,
    validate,
)
from storage.links import LinkRow
from storage.models_links import SignUp
from storage.uow import UnitOfWork

WEB_ACTOR = "web:cadastro"
LINK_COMPLETED = "link.completed"
SIGNUP_LINKED = "signup.linked"
TOKEN_MAX = 100


class LinkUnknown(ServiceError):
    """No link with this token (HTTP 404)."""

    message = "Este link de contratação não existe. Confira se copiou o endereço inteiro."


class LinkGone(ServiceError):
    """The link existed but can no longer be used (HTTP 410)."""

    def __init__(self, state: LinkState) -> None:
        self.state = state
        super().__init__(_GONE[state])


_GONE = {
    LinkState.CONCLUIDO: "Este link de contratação já foi usado: o cadastro foi concluído.",
    LinkState.EXPIRADO: "Este link de contratação expirou. Peça um novo link a quem o enviou.",
    LinkState.CANCELADO: "Este link de contratação foi cancelado. Peça um novo a quem o enviou.",
}


@dataclass(frozen=True, slots=True)
class LinkOffer:
    gestor_name: str
    software: str
    plan: str
    price: Decimal
    payer: Payer


@dataclass(frozen=True, slots=True)
class PlanOption:
    id: int
    label: str


@dataclass(frozen=True, slots=True)
class Done:
    """The outcome shown on the confirmation page."""

    razao_social: str
    email: str
    gestor_name: str | None  # None: kept for the operator (no gestor found)
    software: str
    plan: str


def _offer(row: LinkRow) -> LinkOffer:
    payer = Payer(row.link.payer)
    return LinkOffer(
        gestor_name=row.gestor_name,
        software=row.software,
        plan=row.plan,
        price=monthly_price(row.list_price, gestor_pays=payer is Payer.GESTOR),
        payer=payer,
    )


def _find(uow: UnitOfWork, token: str, *, for_update: bool = False) -> LinkRow:
    if not token or len(token) > TOKEN_MAX:
        raise LinkUnknown()
    row = uow.links.by_hash(hash_token(token), for_update=for_update)
    if row is None:
        raise LinkUnknown()
    return row


def open_link(uow: UnitOfWork, token: str) -> LinkOffer:
    """What the page shows for a link; the first opening marks it "aberto"."""
    now = datetime.now(UTC)
    with uow:
        row = _find(uow, token)
        state = view(row, now).state
        if not state.pending:
            raise LinkGone(state)
        uow.links.mark_opened(row.link, now)
        uow.commit()
        return _offer(row)


def complete_link(uow: UnitOfWork, token: str, form: SignUpForm) -> Done:
    """Create the client for the link's gestor (status Teste, via link) and consume the link.

    The link row is locked, so two submissions of one form make one client: the second sees
    the link used by the same CPF/CNPJ and gets the same confirmation.
    """
    valid = validate(form, need_plan=False)
    now = datetime.now(UTC)
    with uow:
        row = _find(uow, token, for_update=True)
        link = row.link
        state = view(row, now).state
        if state is LinkState.CONCLUIDO and valid.documento and link.client_id is not None:
            client = uow.clients.get_of_gestor(link.gestor_id, link.client_id)
            if client is not None and client.documento == valid.documento:
                return Done(
                    client.razao_social, client.email, row.gestor_name, row.software, row.plan
                )
        if not state.pending:
            raise LinkGone(state)
        errors = dict(valid.errors)
        if valid.documento and uow.clients.by_documento(valid.documento) is not None:
            errors["documento"] = DOC_TAKEN
        if valid.email and uow.gestores.email_owner(valid.email) == link.gestor_id:
            errors["email"] = GESTOR_EMAIL
        if errors:
            raise FormInvalid(errors)
        card = _create(uow, link.gestor_id, valid, link.software_id, link.plan_id, link.payer)
        link.used_at = now
        link.client_id = card
        notices.publish(uow, link.gestor_id, LINK_COMPLETED, {"cid": card, "link": link.id})
        uow.commit()
        return Done(valid.razao_social, valid.email, row.gestor_name, row.software, row.plan)


def _create(
    uow: UnitOfWork,
    gestor_id: int,
    valid: Valid,
    software_id: int,
    plan_id: int,
    payer: str,
) -> int:
    try:
        card = create_client(
            uow,
            gestor_id=gestor_id,
            actor=WEB_ACTOR,
            new=NewClient(
                payer=Payer(payer),
                software_id=software_id,
                plan_id=plan_id,
                documento=valid.documento,
                razao_social=valid.razao_social,
                nome_fantasia=valid.nome_fantasia,
                email=valid.email,
                telefone=valid.telefone,
                cep=valid.cep,
                endereco=valid.endereco,
            ),
            created_via=CreatedVia.LINK,
            email_contador=valid.email_contador,
        )
        uow.session.flush()
    except (Conflict, IntegrityError) as exc:
        # Taken by a client committed a moment ago (Conflict), or registered at this very
        # moment by a concurrent submit (the unique constraint): the same answer either way.
        raise FormInvalid({"documento": DOC_TAKEN}) from exc
    return card.id


def plan_options(uow: UnitOfWork) -> list[PlanOption]:
    """The plans a client may pick on /cadastro, with the price the client pays."""
    return [
        PlanOption(plan.id, f"{software.name} — {plan.name} — {format_brl(plan.list_price)}/mês")
        for software in catalog.list_softwares(uow)
        for plan in software.plans
    ]


def sign_up(uow: UnitOfWork, form: SignUpForm) -> Done:
    """/cadastro: link the client to the gestor whose e-mail it gave as its contador's, or
    keep it for the operator. A repeated submission gets the same confirmation."""
    valid = validate(form, need_plan=True)
    errors = dict(valid.errors)
    now = datetime.now(UTC)
    with uow:
        chosen = None
        if "plano" not in errors:
            chosen = next((p for p in plan_options(uow) if p.id == int(form.plano)), None)
            if chosen is None:
                errors["plano"] = PLAN_MISSING
        if valid.documento:
            uow.lock(f"sign_up:{valid.documento}")
            replay = _replay(uow, valid)
            if replay is not None and not errors:
                return replay
            if replay is not None or uow.clients.by_documento(valid.documento) is not None:
                errors["documento"] = DOC_TAKEN
        gestor_id = (
            uow.gestores.email_owner(valid.email_contador) if valid.email_contador else None
        )
        if valid.email and gestor_id is not None and uow.gestores.email_owner(valid.email):
            # the client typed its gestor's e-mail as its own login
            errors["email"] = GESTOR_EMAIL
        if errors or chosen is None:
            raise FormInvalid(errors)
        software, plan = _plan(uow, chosen.id)
        if gestor_id is not None:
            client_id = _create(uow, gestor_id, valid, software[0], plan[0], Payer.CLIENTE.value)
            notices.publish(uow, gestor_id, SIGNUP_LINKED, {"cid": client_id})
            gestor = uow.gestores.get(gestor_id)
            uow.commit()
            return Done(
                valid.razao_social,
                valid.email,
                gestor.razao_social if gestor else None,
                software[1],
                plan[1],
            )
        try:
            uow.sign_ups.add(
                SignUp(
                    documento=valid.documento,
                    razao_social=valid.razao_social,
                    nome_fantasia=valid.nome_fantasia,
                    email=valid.email,
                    telefone=valid.telefone,
                    cep=valid.cep,
                    endereco=valid.endereco,
                    email_contador=valid.email_contador,
                    software_id=software[0],
                    plan_id=plan[0],
                    created_at=now,
                )
            )
        except IntegrityError as exc:
            raise FormInvalid({"documento": DOC_TAKEN}) from exc
        uow.commit()
        return Done(valid.razao_social, valid.email, None, software[1], plan[1])


def _plan(uow: UnitOfWork, plan_id: int) -> tuple[tuple[int, str], tuple[int, str]]:
    for software in catalog.list_softwares(uow):
        for plan in software.plans:
            if plan.id == plan_id:
                return (software.id, software.name), (plan.id, plan.name)
    raise FormInvalid({"plano": PLAN_MISSING})


def _replay(uow: UnitOfWork, valid: Valid) -> Done | None:
    """The same person sending the same form again (double click, reload): its first result."""
    client = uow.clients.by_documento(valid.documento)
    if client is not None and client.email == valid.email and client.created_via == "link":
        gestor = uow.gestores.get(client.gestor_id)
        return Done(
            client.razao_social,
            client.email,
            gestor.razao_social if gestor else None,
            client.software.name,
            client.plan.name,
        )
    pending = uow.sign_ups.by_documento(valid.documento)
    if pending is not None and pending.email == valid.email:
        software, plan = _plan(uow, pending.plan_id)
        return Done(pending.razao_social, pending.email, None, software[1], plan[1])
    return None


@dataclass(frozen=True, slots=True)
class SignUpView:
    id: int
    documento: str
    razao_social: str
    email: str
    telefone: str
    email_contador: str | None
    plan: str
    created_at: datetime


def list_sign_ups(uow: UnitOfWork) -> list[SignUpView]:
    """Sign-ups that reached no gestor, oldest first (the operator's `admin signups`)."""
    with uow:
        names = {
            plan.id: f"{software.name} {plan.name}"
            for software in catalog.list_softwares(uow)
            for plan in software.plans
        }
        return [
            SignUpView(
                s.id,
                s.documento,
                s.razao_social,
                s.email,
                s.telefone,
                s.email_contador,
                names.get(s.plan_id, "?"),
                s.created_at,
            )
            for s in uow.sign_ups.all()
        ]
