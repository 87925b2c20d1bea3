"""The sign-up page: `/c/<token>` (a gestor's contracting link) and `/cadastro` (no link).

Thin transport: read the form, check the rate limit and the CSRF token, call one service,
render the answer. Every page is pt-BR, escaped (Jinja2 autoescape), never cached, never
framed, and sends no Referer (the link token is in the URL).

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from domain.clients import Payer
from domain.money import format_brl
from services import signup_form, signups
from services.errors import ServiceError
from services.links import hash_token
from services.types import UnitOfWorkFactory
from web.csrf import COOKIE, CsrfSigner
from web.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf"
MAX_TYPED = 500  # characters kept of each field (the validators refuse long ones anyway)
CSRF_FAILED = (
    "Não foi possível confirmar que o envio veio desta página (ela ficou aberta muito tempo "
    "ou os cookies estão bloqueados). Confira os dados e toque em Concluir cadastro de novo."
)
TOO_MANY = "Muitas tentativas em pouco tempo. Aguarde alguns minutos e tente de novo."
UNEXPECTED = (
    "Algo deu errado do nosso lado e nada foi salvo. Tente de novo em alguns minutos. "
    "Se persistir, informe a referência {ref} a quem enviou o link."
)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"
    autocomplete: str = "off"
    placeholder: str = ""
    hint: str = ""
    inputmode: str = "text"


FIELDS = (
    FieldSpec("documento", "CPF ou CNPJ", placeholder="12.345.678/0001-95"),
    FieldSpec(
        "razao_social",
        "Razão social",
        autocomplete="organization",
        hint="Se for CPF, o nome completo.",
    ),
    FieldSpec("nome_fantasia", "Nome fantasia (opcional)"),
    FieldSpec(
        "email",
        "E-mail",
        kind="email",
        autocomplete="email",
        placeholder="voce@empresa.com.br",
        hint="Será o seu login no software.",
        inputmode="email",
    ),
    FieldSpec(
        "telefone",
        "Telefone com DDD",
        kind="tel",
        autocomplete="tel",
        placeholder="(11) 98765-4321",
        inputmode="tel",
    ),
    FieldSpec(
        "cep", "CEP", autocomplete="postal-code", placeholder="01310-100", inputmode="numeric"
    ),
    FieldSpec(
        "endereco",
        "Endereço",
        autocomplete="street-address",
        placeholder="Rua das Flores, 123 - Centro - São Paulo/SP",
        hint="Rua e número, bairro, e no fim cidade/UF.",
    ),
    FieldSpec(
        "email_contador",
        "E-mail do seu contador (opcional)",
        kind="email",
        placeholder="contador@escritorio.com.br",
        inputmode="email",
    ),
)

TYPED_FIELDS = (
    "documento",
    "razao_social",
    "nome_fantasia",
    "email",
    "telefone",
    "cep",
    "endereco",
    "email_contador",
    "plano",
)


@dataclass(frozen=True)
class Posted:
    """What a sign-up form POST carried: the typed values (capped) and the CSRF token."""

    form: signup_form.SignUpForm
    csrf_token: str


async def posted_form(request: Request) -> Posted:
    """Read the form once for both sign-up routes; anything missing is an empty field."""
    data = await request.form()

    def field(name: str) -> str:
        value = data.get(name, "")
        return value[:MAX_TYPED] if isinstance(value, str) else ""

    values = {name: field(name) for name in TYPED_FIELDS}
    return Posted(
        signup_form.SignUpForm(**values, termos=field("termos") == "sim"),
        field(CSRF_FIELD),
    )


def signup_router(
    uow_factory: UnitOfWorkFactory,
    *,
    secret: str,
    notify: Callable[[], None],
    per_ip: SlidingWindowLimiter,
    per_token: SlidingWindowLimiter,
    secure_cookies: bool = False,
) -> APIRouter:
    """The sign-up routes; `notify` wakes the dispatcher that pushes the gestor's notice."""
    env = Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["brl"] = format_brl
    csrf = CsrfSigner(secret)
    router = APIRouter(include_in_schema=False)
    stylesheet = resources.files("web").joinpath("static/signup.css").read_bytes()

    def render(
        template: str, status: int = 200, *, session: str | None = None, **context: Any
    ) -> HTMLResponse:
        html = env.get_template(template).render(**context)
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        if session is not None:
            response.set_cookie(
                COOKIE, session, httponly=True, samesite="strict", secure=secure_cookies
            )
        return response

    def message(status: int, title: str, text: str) -> HTMLResponse:
        return render("signup_message.html", status, title=title, text=text)

    def form_page(
        request: Request,
        scope: str,
        action: str,
        *,
        offer: signups.LinkOffer | None = None,
        plans: list[signups.PlanOption] | None = None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        alert: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        session = request.cookies.get(COOKIE)
        fresh = session is None or len(session) > 100
        if fresh:
            session = CsrfSigner.new_session()
        return render(
            "signup_form.html",
            status,
            session=session if fresh else None,
            action=action,
            offer=offer,
            gestor_pays=offer is not None and offer.payer is Payer.GESTOR,
            plans=plans,
            fields=FIELDS,
            values=values or {},
            errors=errors or {},
            alert=alert,
            csrf_field=CSRF_FIELD,
            csrf=csrf.issue(session or "", scope),
        )

    def limited(request: Request, token_key: str | None = None) -> HTMLResponse | None:
        ip = request.client.host if request.client else "?"
        wait = per_ip.hit(f"ip:{ip}")
        if wait is None and token_key is not None:
            wait = per_token.hit(token_key)
        if wait is None:
            return None
        response = message(429, "Muitas tentativas", TOO_MANY)
        response.headers["Retry-After"] = str(max(1, int(wait) + 1))
        return response

    def failure() -> HTMLResponse:
        ref = secrets.token_hex(4).upper()
        log.exception("sign-up page failed (ref %s)", ref)
        return message(500, "Erro inesperado", UNEXPECTED.format(ref=ref))

    def gone(exc: ServiceError) -> HTMLResponse:
        if isinstance(exc, signups.LinkGone):
            return message(410, "Link indisponível", exc.message)
        return message(404, "Link não encontrado", exc.message)

    @router.get("/static/signup.css")
    def stylesheet_file() -> Response:
        return Response(
            stylesheet,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/c/{token}")
    def link_page(token: str, request: Request) -> Response:
        try:
            offer = signups.open_link(uow_factory(), token)
        except (signups.LinkUnknown, signups.LinkGone) as exc:
            return limited(request) or gone(exc)
        except Exception:
            return failure()
        return form_page(request, _scope(token), f"/c/{token}", offer=offer)

    @router.post("/c/{token}")
    def link_submit(
        token: str, request: Request, posted: Annotated[Posted, Depends(posted_form)]
    ) -> Response:
        scope = _scope(token)
        refused = limited(request, scope)
        if refused is not None:
            return refused
        form, csrf_token = posted.form, posted.csrf_token
        try:
            if not csrf.valid(csrf_token, request.cookies.get(COOKIE), scope):
                offer = signups.open_link(uow_factory(), token)
                return form_page(
                    request,
                    scope,
                    f"/c/{token}",
                    offer=offer,
                    values=_values(form),
                    alert=CSRF_FAILED,
                    status=403,
                )
            try:
                done = signups.complete_link(uow_factory(), token, form)
            except signup_form.FormInvalid as exc:
                offer = signups.open_link(uow_factory(), token)
                return form_page(
                    request,
                    scope,
                    f"/c/{token}",
                    offer=offer,
                    values=_values(form),
                    errors=exc.errors,
                    status=422,
                )
        except (signups.LinkUnknown, signups.LinkGone) as exc:
            return gone(exc)
        except Exception:
            return failure()
        notify()
        return render("signup_done.html", done=done)

    @router.get("/cadastro")
    def open_page(request: Request) -> Response:
        try:
            plans = signups.plan_options(uow_factory())
        except Exception:
            return failure()
        return form_page(request, "cadastro", "/cadastro", plans=plans)

    @router.post("/cadastro")
    def open_submit(request: Request, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
        refused = limited(request)
        if refused is not None:
            return refused
        form, csrf_token = posted.form, posted.csrf_token
        try:
            plans = signups.plan_options(uow_factory())
            if not csrf.valid(csrf_token, request.cookies.get(COOKIE), "cadastro"):
                return form_page(
                    request,
                    "cadastro",
                    "/cadastro",
                    plans=plans,
                    values=_values(form),
                    alert=CSRF_FAILED,
                    status=403,
                )
            try:
                done = signups.sign_up(uow_factory(), form)
            except signup_form.FormInvalid as exc:
                return form_page(
                    request,
                    "cadastro",
                    "/cadastro",
                    plans=plans,
                    values=_values(form),
                    errors=exc.errors,
                    status=422,
                )
        except Exception:
            return failure()
        if done.gestor_name is not None:
            notify()
        return render("signup_done.html", done=done)

    return router


def _scope(token: str) -> str:
    return "c:" + hash_token(token[:200])


def _values(form: signup_form.SignUpForm) -> dict[str, Any]:
    return {
        "documento": form.documento,
        "razao_social": form.razao_social,
        "nome_fantasia": form.nome_fantasia,
        "email": form.email,
        "telefone": form.telefone,
        "cep": form.cep,
        "endereco": form.endereco,
        "email_contador": form.email_contador,
        "plano": form.plano,
        "termos": form.termos,
    }
