"""The sign-up page over HTTP: the offer, per-field errors with the typed values kept, CSRF,
rate limit, escaping, the friendly pages for bad links, and the client it creates."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import lxml.html
import markupsafe
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.app import App
from domain.clients import Payer
from domain.links import LinkState
from services import links
from storage.models import Gestor
from tests.support import Office, make_office
from tests.unit.links.support import (
    GOOD_POST,
    elements,
    issue,
    stored_clients,
    stored_links,
    strings,
)
from web.app import create_app
from web.csrf import COOKIE
from web.ratelimit import SlidingWindowLimiter
from web.signup import CSRF_FAILED, TOO_MANY, signup_router


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Page:
    app: App
    client: TestClient
    woken: list[int]
    clock: Clock
    last: httpx.Response = field(init=False)

    def get(self, path: str) -> lxml.html.HtmlElement:
        self.last = self.client.get(path)
        return lxml.html.fromstring(self.last.text)

    def post(
        self, path: str, data: dict[str, str], *, csrf: str | None = "page"
    ) -> lxml.html.HtmlElement:
        """Post the form; by default with the CSRF token of a fresh render of the page."""
        fields = dict(data)
        if csrf == "page":
            fields["csrf"] = csrf_of(self.get(path))
        elif csrf is not None:
            fields["csrf"] = csrf
        self.last = self.client.post(path, data=fields)
        return lxml.html.fromstring(self.last.text)

    @property
    def status(self) -> int:
        return self.last.status_code


def csrf_of(doc: lxml.html.HtmlElement) -> str:
    [value] = strings(doc, '//input[@name="csrf"]/@value')
    return value


def field_error(doc: lxml.html.HtmlElement, name: str) -> str | None:
    found = elements(doc, f'//p[@id="erro-{name}"]')
    return found[0].text_content() if found else None


def value_of(doc: lxml.html.HtmlElement, name: str) -> str:
    [value] = strings(doc, f'//input[@name="{name}"]/@value')
    return value


def make_page(app: App, *, per_ip: int = 1000, per_token: int = 1000) -> Page:
    clock = Clock()
    woken: list[int] = []
    router = signup_router(
        app.uow_factory,
        secret="segredo-de-teste",
        notify=lambda: woken.append(1),
        per_ip=SlidingWindowLimiter(limit=per_ip, window=600, clock=clock),
        per_token=SlidingWindowLimiter(limit=per_token, window=600, clock=clock),
    )
    return Page(app, TestClient(create_app(app.uow_factory, routers=[router])), woken, clock)


@pytest.fixture
def page(app: App) -> Page:
    return make_page(app)


@pytest.fixture
def office(app: App) -> Office:
    return make_office(app.uow_factory, 1)


@pytest.fixture
def link(app: App, office: Office) -> links.IssuedLink:
    return issue(app.uow_factory, office.gestor, payer=Payer.CLIENTE, plan=1)


def text_of(doc: lxml.html.HtmlElement) -> str:
    return " ".join(doc.text_content().split())


# -- the offer ----------------------------------------------------------------------------------


def test_the_link_page_shows_the_gestor_software_plan_and_price(
    page: Page, link: links.IssuedLink
) -> None:
    doc = page.get(f"/c/{link.token}")

    assert page.status == 200
    offer = text_of(elements(doc, '//section[@class="oferta"]')[0])
    assert offer == (
        "Contratar FazNota Enviado por Escritório 1 Ltda Software FazNota Plano Prata "
        "Mensalidade R$ 119,90/mês"
    )
    labels = [text_of(label) for label in elements(doc, "//form//label")]
    assert labels == [
        "CPF ou CNPJ",
        "Razão social",
        "Nome fantasia (opcional)",
        "E-mail",
        "Telefone com DDD",
        "CEP",
        "Endereço",
        "E-mail do seu contador (opcional)",
        "Li e aceito os termos de uso",
    ]
    assert elements(doc, '//meta[@name="viewport"]')
    assert strings(doc, '//link[@rel="stylesheet"]/@href') == ["/static/signup.css"]


def test_when_the_gestor_pays_the_page_shows_the_gestor_price_and_who_pays(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    issued = issue(app.uow_factory, office.gestor, payer=Payer.GESTOR)
    page = make_page(app)

    doc = page.get(f"/c/{issued.token}")

    assert text_of(elements(doc, '//dd[@class="preco"]')[0]) == (
        "R$ 39,95/mês (paga por Escritório 1 Ltda)"
    )


def test_opening_the_page_marks_the_link_aberto(
    page: Page, link: links.IssuedLink, office: Office
) -> None:
    page.get(f"/c/{link.token}")

    [stored] = stored_links(page.app.uow_factory)
    assert stored.opened_at is not None
    assert links.get_link(page.app.uow_factory(), office.gestor, link.id).state is (
        LinkState.ABERTO
    )


def test_the_stylesheet_is_served_locally(page: Page) -> None:
    response = page.client.get("/static/signup.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "http" not in response.text  # no external fonts or CDNs


def test_pages_are_not_cached_framed_or_referred(page: Page, link: links.IssuedLink) -> None:
    response = page.client.get(f"/c/{link.token}")

    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


# -- success ------------------------------------------------------------------------------------


def test_a_good_form_creates_the_client_consumes_the_link_and_confirms(
    page: Page, link: links.IssuedLink
) -> None:
    doc = page.post(f"/c/{link.token}", GOOD_POST)

    assert page.status == 200
    assert text_of(elements(doc, "//main")[0]) == (
        "Cadastro concluído! Padaria Pão Quente Ltda, recebemos o seu cadastro para o FazNota "
        "(plano Prata). Próximos passos Escritório 1 Ltda já foi avisado e vai liberar o seu "
        "acesso. Você vai receber as instruções no e-mail contato@paoquente.com.br, que é o "
        "seu login no software. A conta começa em período de teste; para enviar notas "
        "fiscais, tenha em mãos o seu certificado digital A1. Pode fechar esta página."
    )
    [client] = stored_clients(page.app.uow_factory)
    assert (client.razao_social, client.status, client.created_via) == (
        "Padaria Pão Quente Ltda",
        "teste",
        "link",
    )
    assert stored_links(page.app.uow_factory)[0].client_id == client.id
    assert page.woken == [1]  # the notice dispatcher was woken for the gestor's push


@pytest.mark.parametrize(
    ("how", "status", "title", "message"),
    [
        (
            "unknown",
            404,
            "Link não encontrado",
            "Este link de contratação não existe. Confira se copiou o endereço inteiro.",
        ),
        (
            "used",
            410,
            "Link indisponível",
            "Este link de contratação já foi usado: o cadastro foi concluído.",
        ),
        (
            "cancelled",
            410,
            "Link indisponível",
            "Este link de contratação foi cancelado. Peça um novo a quem o enviou.",
        ),
        (
            "expired",
            410,
            "Link indisponível",
            "Este link de contratação expirou. Peça um novo link a quem o enviou.",
        ),
    ],
)
def test_an_unusable_link_shows_a_friendly_page(
    page: Page,
    link: links.IssuedLink,
    how: str,
    status: int,
    title: str,
    message: str,
    office: Office,
) -> None:
    token = link.token
    if how == "unknown":
        token = "x" * 43
    elif how == "used":
        page.post(f"/c/{token}", GOOD_POST)
    elif how == "cancelled":
        links.cancel_link(page.app.uow_factory(), office.gestor, link.id)
    else:
        _expire(page, link.id)

    for doc in (page.get(f"/c/{token}"), page.post(f"/c/{token}", GOOD_POST, csrf="x")):
        assert page.status == status
        assert text_of(elements(doc, "//main")[0]) == f"{title} {message}"
        assert not elements(doc, "//form")


def _expire(page: Page, link_id: int) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.models_links import ContractingLink

    with page.app.uow_factory() as uow:
        uow.session.execute(
            update(ContractingLink)
            .where(ContractingLink.id == link_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        uow.commit()


# -- validation ---------------------------------------------------------------------------------

BAD_FIELDS = [
    ("documento", "", "Digite o seu CPF ou CNPJ."),
    (
        "documento",
        "123",
        "Não reconheci um CPF (11 números) nem um CNPJ (14 caracteres). "
        "Exemplos: 123.456.789-09 ou 12.345.678/0001-95.",
    ),
    (
        "documento",
        "11.222.333/0001-82",
        "Este CNPJ não é válido (os dígitos verificadores não conferem): "
        "confira e digite de novo.",
    ),
    (
        "documento",
        "123.456.789-00",
        "Este CPF não é válido: confira os números e digite de novo.",
    ),
    (
        "documento",
        "00.000.000/0000-00",
        "CNPJ com todos os dígitos iguais não existe. Confira o número e digite de novo.",
    ),
    (
        "documento",
        "111.111.111-11",
        "CPF com todos os dígitos iguais não existe. Confira o número e digite de novo.",
    ),
    ("razao_social", "", "A razão social precisa ter pelo menos 2 letras. Digite de novo."),
    (
        "razao_social",
        "a" * 121,
        "A razão social pode ter no máximo 120 caracteres. Digite de novo.",
    ),
    ("nome_fantasia", "1", "O nome fantasia precisa ter pelo menos 2 letras. Digite de novo."),
    (
        "email",
        "nao-e-email",
        "Este e-mail não parece válido. Digite no formato nome@empresa.com.br.",
    ),
    (
        "telefone",
        "123",
        "Este telefone não é válido. Confira o DDD e os números, por exemplo (11) 98765-4321.",
    ),
    ("cep", "123", "O CEP tem 8 números, por exemplo 01310-100. Digite de novo."),
    (
        "endereco",
        "Rua sem cidade",
        "Faltou a cidade e o estado no fim do endereço. "
        "Digite assim: Rua das Flores, 123 - Centro - São Paulo/SP.",
    ),
    (
        "endereco",
        "Rua X, 1 - Centro - São Paulo/XX",
        "“XX” não é a sigla de um estado brasileiro. "
        "Digite assim: Rua das Flores, 123 - Centro - São Paulo/SP.",
    ),
    (
        "email_contador",
        "contador@",
        "Este e-mail não parece válido. Digite no formato nome@empresa.com.br.",
    ),
]


@pytest.mark.parametrize(("name", "typed", "message"), BAD_FIELDS)
def test_a_bad_field_is_refused_with_its_message_next_to_it_and_the_values_kept(
    page: Page, link: links.IssuedLink, name: str, typed: str, message: str
) -> None:
    doc = page.post(f"/c/{link.token}", {**GOOD_POST, name: typed})

    assert page.status == 422
    assert field_error(doc, name) == message
    assert strings(doc, f'//input[@name="{name}"]/@aria-invalid') == ["true"]
    others = [f for f in GOOD_POST if f not in (name, "termos")]
    assert [field_error(doc, f) for f in others] == [None] * len(others)
    assert value_of(doc, name) == typed
    for other in others:
        assert value_of(doc, other) == GOOD_POST[other]
    assert strings(doc, '//input[@name="termos"]/@checked')
    assert text_of(elements(doc, '//p[@class="alerta"]')[0]) == "Corrija o campo destacado abaixo."
    assert stored_clients(page.app.uow_factory) == []
    assert stored_links(page.app.uow_factory)[0].used_at is None


def test_the_terms_must_be_accepted(page: Page, link: links.IssuedLink) -> None:
    data = {k: v for k, v in GOOD_POST.items() if k != "termos"}

    doc = page.post(f"/c/{link.token}", data)

    assert page.status == 422
    assert field_error(doc, "termos") == "Para continuar, leia e aceite os termos de uso."
    assert not strings(doc, '//input[@name="termos"]/@checked')
    assert stored_clients(page.app.uow_factory) == []


def test_every_bad_field_is_reported_at_once(page: Page, link: links.IssuedLink) -> None:
    doc = page.post(f"/c/{link.token}", {"termos": ""})

    assert page.status == 422
    reported = [p.get("id") for p in elements(doc, '//p[@class="erro"]')]
    assert reported == [
        "erro-documento",
        "erro-razao_social",
        "erro-email",
        "erro-telefone",
        "erro-cep",
        "erro-endereco",
        "erro-termos",
    ]
    assert text_of(elements(doc, '//p[@class="alerta"]')[0]) == (
        "Corrija os 7 campos destacados abaixo."
    )


def test_a_cpf_or_cnpj_that_already_has_a_client_is_refused(
    page: Page, link: links.IssuedLink, office: Office
) -> None:
    other = issue(page.app.uow_factory, office.gestor)
    page.post(f"/c/{other.token}", GOOD_POST)

    doc = page.post(f"/c/{link.token}", {**GOOD_POST, "email": "outro@paoquente.com.br"})

    assert page.status == 422
    assert field_error(doc, "documento") == (
        "Este CPF/CNPJ já tem cadastro. Se é seu, fale com quem enviou o link."
    )
    assert len(stored_clients(page.app.uow_factory)) == 1


def test_the_gestors_own_email_is_refused_as_the_clients_login(
    page: Page, link: links.IssuedLink
) -> None:
    doc = page.post(f"/c/{link.token}", {**GOOD_POST, "email": "gestor1@escritorio1.com.br"})

    assert page.status == 422
    assert field_error(doc, "email") == (
        "Este é um e-mail do seu gestor. O e-mail do cadastro será o seu login: digite o seu."
    )


INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>&'


@pytest.mark.parametrize("name", [f for f in GOOD_POST if f != "termos"])
def test_html_typed_in_any_field_is_rendered_back_escaped(
    page: Page, link: links.IssuedLink, name: str
) -> None:
    page.post(f"/c/{link.token}", {**GOOD_POST, name: INJECTION, "termos": ""})

    raw = page.last.text
    assert page.status == 422
    assert "<script>" not in raw
    assert "<img" not in raw
    assert str(markupsafe.escape(INJECTION)) in raw
    assert value_of(lxml.html.fromstring(raw), name) == INJECTION


def test_a_gestor_name_with_html_is_escaped_on_the_page(app: App) -> None:
    office = make_office(app.uow_factory, 1)
    with app.uow_factory() as uow:
        uow.session.execute(
            update(Gestor).values(razao_social="<b>Escritório</b> & Cia <script>x</script>")
        )
        uow.commit()
    issued = issue(app.uow_factory, office.gestor)
    page = make_page(app)

    page.get(f"/c/{issued.token}")

    assert "&lt;b&gt;Escritório&lt;/b&gt; &amp; Cia &lt;script&gt;x&lt;/script&gt;" in (
        page.last.text
    )
    assert "<script>x" not in page.last.text


# -- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "csrf", [None, "", "123.abc.def", "forjado", "1000.x." + "0" * 64], ids=str
)
def test_a_post_without_a_valid_csrf_token_is_refused_and_the_form_kept(
    page: Page, link: links.IssuedLink, csrf: str | None
) -> None:
    page.get(f"/c/{link.token}")  # the session cookie exists: only the token is wrong

    doc = page.post(f"/c/{link.token}", GOOD_POST, csrf=csrf)

    assert page.status == 403
    assert text_of(elements(doc, '//p[@class="alerta"]')[0]) == CSRF_FAILED
    assert value_of(doc, "razao_social") == GOOD_POST["razao_social"]
    assert stored_clients(page.app.uow_factory) == []
    # the refusal carries a fresh token: sending again works
    page.post(f"/c/{link.token}", GOOD_POST, csrf=csrf_of(doc))
    assert page.status == 200


def test_a_csrf_token_of_another_link_or_without_the_cookie_is_refused(
    app: App, link: links.IssuedLink, office: Office
) -> None:
    page = make_page(app)
    other = issue(app.uow_factory, office.gestor)
    foreign = csrf_of(page.get(f"/c/{other.token}"))

    page.post(f"/c/{link.token}", GOOD_POST, csrf=foreign)
    assert page.status == 403

    token = csrf_of(page.get(f"/c/{link.token}"))
    page.client.cookies.clear()
    page.post(f"/c/{link.token}", GOOD_POST, csrf=token)
    assert page.status == 403
    assert stored_clients(app.uow_factory) == []


# -- rate limit ---------------------------------------------------------------------------------


def test_too_many_posts_from_one_ip_are_refused_until_the_window_passes(
    app: App, link: links.IssuedLink
) -> None:
    page = make_page(app, per_ip=3)
    bad = {**GOOD_POST, "cep": "1"}
    for _ in range(3):
        page.post(f"/c/{link.token}", bad)
        assert page.status == 422

    doc = page.post(f"/c/{link.token}", GOOD_POST)

    assert page.status == 429
    assert text_of(elements(doc, "//main")[0]) == f"Muitas tentativas {TOO_MANY}"
    assert page.last.headers["retry-after"] == "601"
    assert stored_clients(app.uow_factory) == []
    page.clock.now += 601
    page.post(f"/c/{link.token}", GOOD_POST)
    assert page.status == 200


def test_too_many_posts_to_one_link_are_refused_whatever_the_ip(
    app: App, link: links.IssuedLink, office: Office
) -> None:
    page = make_page(app, per_token=2)
    bad = {**GOOD_POST, "cep": "1"}
    page.post(f"/c/{link.token}", bad)
    page.post(f"/c/{link.token}", bad)

    page.post(f"/c/{link.token}", GOOD_POST)

    assert page.status == 429
    other = issue(app.uow_factory, office.gestor)
    page.post(f"/c/{other.token}", GOOD_POST)  # another link is counted on its own
    assert page.status == 200


def test_guessing_tokens_counts_against_the_ip(app: App) -> None:
    page = make_page(app, per_ip=2)
    page.get("/c/" + "a" * 43)
    page.get("/c/" + "b" * 43)

    page.get("/c/" + "c" * 43)

    assert page.status == 429


# -- errors -------------------------------------------------------------------------------------


def test_an_unexpected_failure_shows_a_reference_and_no_trace(
    page: Page, link: links.IssuedLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("segredo interno /srv/app.py line 42")

    monkeypatch.setattr("services.signups.complete_link", broken)

    doc = page.post(f"/c/{link.token}", GOOD_POST)

    assert page.status == 500
    text = text_of(elements(doc, "//main")[0])
    assert text.startswith("Erro inesperado Algo deu errado do nosso lado e nada foi salvo.")
    assert "segredo" not in page.last.text
    assert "Traceback" not in page.last.text
