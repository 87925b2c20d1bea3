"""Pacote do mês: what a package holds, checked file by file against the stored notes; the
sweep's day, toggle and idempotence; the accountant's e-mail (attachment or link by size);
the gestor's one message; tenancy and roles; the signed link's 404 and 410."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import App
from domain.clients import Role
from domain.fiscal import Modelo, Situacao
from domain.money import format_brl
from services import fiscal_documents, notice_settings
from services.errors import Forbidden, NotFound
from services.fiscal_prepare import TipoNota
from services.pacote import chat
from services.principal import Principal
from storage.models import AuditEntry, Notice, OutboxMessage
from storage.models_pacote import PacoteEnvio
from tests.integration.pacote_support import (
    SWEEP_AT,
    links,
    options,
    package_of,
    packages,
    seed,
    set_contador,
    sweep,
    unzip_stored,
)
from tests.support import add_member
from web.downloads import downloads_router


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """The sweep and its jobs run on 1 November 2026, 06:00 in São Paulo."""
    with time_machine.travel(SWEEP_AT, tick=True):
        yield


def stored(app: App, principal: Principal, client_id: int, tipo: TipoNota) -> dict[str, bytes]:
    """Every stored XML of the client's October (notes and cancellation events), by name."""
    found = fiscal_documents.list_documents(
        app.uow_factory(),
        principal,
        client_id,
        tipo=tipo,
        competencia="2026-10",
        page_size=fiscal_documents.MAX_PAGE_SIZE,
    )
    files = {}
    for note in found.items:
        xml = fiscal_documents.get_xml(app.uow_factory(), principal, client_id, note.chave)
        folder = (
            "fornecedores"
            if tipo is TipoNota.FORNECEDOR
            else f"emitidas/{'NF-e' if note.modelo is Modelo.NFE else 'NFC-e'}"
        )
        files[f"{folder}/{xml.nome}"] = xml.data
        if note.situacao is Situacao.CANCELADA:
            event = fiscal_documents.get_xml(
                app.uow_factory(), principal, client_id, note.chave, cancelamento=True
            )
            files[f"{folder}/{event.nome}"] = event.data
    return files


def test_the_package_holds_every_stored_xml_with_cancellations_the_reports_and_the_resumo(
    app: App,
) -> None:
    seeded = seed(app)
    gestor = seeded.office.gestor

    swept = sweep(app)

    assert swept.competencia == "2026-10"
    assert swept.queued == 2
    acme = package_of(app, seeded.acme.id)
    assert acme.nome == "ACME_Comercio_Ltda_2026-10_pacote.zip"
    members = unzip_stored(app, acme.file_key or "")
    expected = {
        **stored(app, gestor, seeded.acme.id, TipoNota.EMITIDA),
        **stored(app, gestor, seeded.acme.id, TipoNota.FORNECEDOR),
    }
    xmls = {name: data for name, data in members.items() if name.endswith(".xml")}
    assert xmls == expected  # file by file, bytes included; November's note is not here
    assert sum(name.endswith("-cancelamento.xml") for name in xmls) == 1
    assert len([n for n in xmls if n.startswith("emitidas/NF-e/")]) == 5  # 4 notes + 1 event
    assert len([n for n in xmls if n.startswith("emitidas/NFC-e/")]) == 2
    assert len([n for n in xmls if n.startswith("fornecedores/")]) == 3
    reports = sorted(n for n in members if n.startswith("relatorios/"))
    assert reports == [
        "relatorios/relatorio_NF-e_emitidas_2026-10.pdf",
        "relatorios/relatorio_NF-e_emitidas_2026-10.xlsx",
        "relatorios/relatorio_NFC-e_emitidas_2026-10.pdf",
        "relatorios/relatorio_NFC-e_emitidas_2026-10.xlsx",
        "relatorios/relatorio_fornecedores_2026-10.pdf",
        "relatorios/relatorio_fornecedores_2026-10.xlsx",
    ]
    assert members[reports[0]].startswith(b"%PDF")
    assert members[reports[1]].startswith(b"PK")  # an XLSX is a ZIP

    resumo = members["resumo.txt"].decode()
    nfe = fiscal_documents.month_counts(
        app.uow_factory(),
        gestor,
        seeded.acme.id,
        tipo=TipoNota.EMITIDA,
        modelo=Modelo.NFE,
        competencia="2026-10",
    )
    assert nfe.quantidade[Situacao.CANCELADA] == 1
    total_nfe = format_brl(nfe.valor_autorizadas)
    assert (
        f"NF-e emitidas: 4 notas (3 autorizadas, 1 cancelada, 0 outras); "
        f"total autorizado {total_nfe}"
    ) in resumo
    assert "NFC-e emitidas: 2 notas (2 autorizadas" in resumo
    assert "NF-e de fornecedores: 3 notas (3 autorizadas" in resumo
    assert "Total: 9 notas" in resumo
    assert "Eventos de cancelamento incluídos: 1 evento" in resumo
    assert "Competência: 10/2026" in resumo
    assert (acme.notas, acme.eventos) == (9, 1)


def test_a_second_sweep_of_the_month_builds_and_sends_nothing_again(app: App) -> None:
    seed(app)
    sweep(app)
    first = [(p.id, p.file_key) for p in packages(app.uow_factory)]

    again = sweep(app, SWEEP_AT + timedelta(minutes=5))

    assert again.queued == 0
    assert [(p.id, p.file_key) for p in packages(app.uow_factory)] == first
    uow = app.uow_factory()
    with uow:
        assert len(uow.session.scalars(select(PacoteEnvio)).all()) == 1
        ready = select(Notice).where(Notice.kind == "pacote.pronto")
        assert len(uow.session.scalars(ready).all()) == 1
        emails = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        ).all()
        assert len(emails) == 1


def test_the_sweep_packs_only_on_pacote_dia_unless_a_month_is_named(app: App) -> None:
    seeded = seed(app)

    assert sweep(app, SWEEP_AT + timedelta(days=1)).queued == 0
    assert packages(app.uow_factory) == []

    by_hand = sweep(
        app, SWEEP_AT + timedelta(days=1), competencia="2026-10", documento=seeded.beta.documento
    )
    assert by_hand.queued == 1
    assert [p.client_id for p in packages(app.uow_factory)] == [seeded.beta.id]


def test_the_toggle_follows_the_contract_until_the_gestor_chooses(app: App) -> None:
    seeded = seed(app)
    gestor = seeded.office.gestor
    from tests.support import add_client
    from tests.unit.fiscal_chat.chat_support import store_emitted

    teste = add_client(app.uow_factory, gestor, 150, name="Gama em Teste Ltda")
    store_emitted(app.uow_factory, teste, 1, seed=31)
    assert chat.is_on(app.uow_factory(), gestor, teste.id) is False  # Teste: off by default
    assert chat.is_on(app.uow_factory(), gestor, seeded.acme.id) is True  # Efetivado: on
    chat.set_on(app.uow_factory(), gestor, seeded.acme.id, on=False)
    chat.set_on(app.uow_factory(), gestor, teste.id, on=True)

    sweep(app)

    assert sorted(p.client_id for p in packages(app.uow_factory)) == sorted(
        [seeded.beta.id, teste.id]
    )
    uow = app.uow_factory()
    with uow:
        actions = uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "client.pacote_mensal")
        ).all()
    assert len(actions) == 2


def test_the_gestor_is_told_once_with_the_months_totals(app: App) -> None:
    seed(app)
    sweep(app)
    uow = app.uow_factory()
    with uow:
        [notice] = uow.session.scalars(select(Notice).where(Notice.kind == "pacote.pronto")).all()
        assert notice.payload == {"competencia": "2026-10", "clientes": 2, "notas": 11}


def test_a_muted_office_gets_its_packages_but_no_message(app: App) -> None:
    seeded = seed(app)
    notice_settings.set_muted(app.uow_factory(), seeded.office.gestor, "pacote", muted=True)

    sweep(app)

    assert len(packages(app.uow_factory)) == 2
    uow = app.uow_factory()
    with uow:
        assert (
            uow.session.scalars(select(Notice).where(Notice.kind == "pacote.pronto")).all() == []
        )


def email_rows(app: App) -> list[OutboxMessage]:
    uow = app.uow_factory()
    with uow:
        rows = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        ).all()
        uow.session.expunge_all()
        return list(rows)


def test_a_small_package_goes_attached_to_the_accountant(app: App) -> None:
    seeded = seed(app)
    sweep(app)

    acme = package_of(app, seeded.acme.id)
    [row] = email_rows(app)  # Beta has no accountant e-mail
    assert row.address == "contador@acme.com.br"
    [attachment] = row.payload["attachments"]
    assert attachment["name"] == acme.nome
    assert attachment["file"] == {
        "key": acme.file_key,
        "size": acme.file_size,
        "sha256": acme.file_sha256,
    }
    assert row.blob is None  # a reference, never the bytes
    uow = app.uow_factory()
    with uow:
        [envio] = uow.session.scalars(select(PacoteEnvio)).all()
        assert (envio.destino, envio.via, envio.size, envio.sha256) == (
            "contador@acme.com.br",
            "anexo",
            acme.file_size,
            acme.file_sha256,
        )


def test_a_package_over_the_limit_goes_as_a_link_that_expires(app: App) -> None:
    seeded = seed(app)
    sweep(app, opts=options(app, email_max_bytes=1000))

    acme = package_of(app, seeded.acme.id)
    assert (acme.file_size or 0) > 1000
    [row] = email_rows(app)
    assert "attachments" not in row.payload
    text = row.payload["text"]
    url = next(line for line in text.splitlines() if line.startswith("https://"))
    assert url.startswith("https://revenda.example/arquivo/")
    token = url.rsplit("/", 1)[1]
    web = FastAPI()
    web.include_router(downloads_router(links(), app.files))
    client = TestClient(web)

    answer = client.get(f"/arquivo/{token}")
    assert answer.status_code == 200
    assert answer.content == (app.files.open(acme.file_key or "").read())
    assert acme.nome in answer.headers["content-disposition"]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/arquivo/{forged}").status_code == 404
    with time_machine.travel(SWEEP_AT + timedelta(days=7, minutes=1)):
        assert client.get(f"/arquivo/{token}").status_code == 410
    with time_machine.travel(SWEEP_AT + timedelta(days=6, hours=23)):
        assert client.get(f"/arquivo/{token}").status_code == 200


def test_no_email_is_queued_without_smtp_or_without_an_accountant(app: App) -> None:
    seeded = seed(app)
    set_contador(app.uow_factory, seeded.acme.id, None)
    sweep(app, opts=options(app, email=True))
    assert email_rows(app) == []


def test_another_office_never_gets_a_package(app: App) -> None:
    seeded = seed(app, 1)
    other = seed(app, 2)
    sweep(app)
    acme = package_of(app, seeded.acme.id)

    with pytest.raises(NotFound):
        chat.package_file(app.uow_factory(), other.office.gestor, acme.id)
    page = chat.month_page(app.uow_factory(), other.office.gestor, "2026-10")
    assert {item.id for item in page.items}.isdisjoint({acme.id})
    assert chat.package_file(app.uow_factory(), seeded.office.gestor, acme.id).nome == acme.nome


def test_a_contador_downloads_packages_but_cannot_change_the_toggle(app: App) -> None:
    seeded = seed(app)
    contador = add_member(app.uow_factory, seeded.office, "test:contadora", Role.CONTADOR)
    sweep(app)
    acme = package_of(app, seeded.acme.id)

    assert chat.package_file(app.uow_factory(), contador, acme.id).file.key == acme.file_key
    with pytest.raises(Forbidden):
        chat.set_on(app.uow_factory(), contador, seeded.acme.id, on=False)
    assert chat.is_on(app.uow_factory(), seeded.office.gestor, seeded.acme.id) is True
