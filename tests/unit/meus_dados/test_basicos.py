"""Meus dados › Básicos: the company data, edited field by field, saved only with Salvar."""

from __future__ import annotations

import pytest

from domain.clients import Role
from handlers import texts
from services import gestor_profile
from services.errors import Forbidden, ServiceError
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, add_member, cnpj
from tests.unit.helpers import offer, step_of
from tests.unit.meus_dados.support import gestor_audit, gestor_row, open_dados

FIELD_LABELS = [
    "Razão social",
    "Nome fantasia",
    "CNPJ",
    "Telefone",
    "Endereço",
]


def overview(office: Office, **values: str) -> str:
    shown = {
        "razao_social": "Escritório 1 Ltda",
        "nome_fantasia": texts.NOT_INFORMED,
        "cnpj": office.cnpj[:2]
        + "."
        + office.cnpj[2:5]
        + "."
        + office.cnpj[5:8]
        + "/"
        + office.cnpj[8:12]
        + "-"
        + office.cnpj[12:],
        "telefone": texts.NOT_INFORMED,
        "endereco": texts.NOT_INFORMED,
        **values,
    }
    return texts.BASICOS_TEXT.format(**shown)


def test_basicos_shows_the_company_data_and_a_button_per_field(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.BASICOS)

    assert chat.last_text().text == f"{overview(office)}\n\n{texts.BASICOS_HINT}"
    assert chat.labels() == [*FIELD_LABELS, texts.VOLTAR, texts.MENU]


def test_an_edit_waits_for_salvar_and_then_is_saved_and_audited(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("Telefone")
    assert chat.last_text().text == texts.ASK_BASIC_CURRENT.format(
        question=texts.ASK_BASIC["telefone"], current=texts.NOT_INFORMED
    )

    chat.say("11 3333-4444")

    pending = texts.BASICOS_PENDING.format(
        changes=texts.BASICOS_PENDING_LINE.format(
            label="Telefone", before=texts.NOT_INFORMED, after="(11) 3333-4444"
        )
    )
    assert chat.last_text().text == overview(office) + pending
    assert gestor_row(uow_factory, office.gestor.gestor_id).telefone is None
    assert chat.labels()[-4:] == [
        texts.DADOS_SALVAR,
        texts.DADOS_DESCARTAR,
        texts.VOLTAR,
        texts.MENU,
    ]

    chat.press(texts.DADOS_SALVAR)

    assert gestor_row(uow_factory, office.gestor.gestor_id).telefone == "+551133334444"
    assert chat.received[-2].text == texts.BASICOS_SAVED  # type: ignore[union-attr]
    assert chat.last_text().text.startswith(overview(office, telefone="(11) 3333-4444"))
    [entry] = gestor_audit(uow_factory, office.gestor.gestor_id)
    assert (entry.action, entry.actor) == ("gestor.basicos", chat.identity_key)
    assert (entry.before, entry.after) == ({"telefone": None}, {"telefone": "+551133334444"})


def test_several_fields_are_saved_together_with_one_salvar(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("Razão social")
    chat.say("Contabilidade Exemplo Ltda")
    chat.press("Nome fantasia")
    chat.say("Exemplo Contábil")
    chat.press("Endereço")
    chat.say("Rua das Flores, 123 - Centro - Campinas/SP")
    chat.press("CNPJ")
    chat.say(cnpj(777))

    chat.press(texts.DADOS_SALVAR)

    row = gestor_row(uow_factory, office.gestor.gestor_id)
    assert (row.razao_social, row.nome_fantasia, row.endereco, row.cnpj) == (
        "Contabilidade Exemplo Ltda",
        "Exemplo Contábil",
        "Rua das Flores, 123 - Centro - Campinas/SP",
        cnpj(777),
    )


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("Razão social", "x", "A razão social precisa ter pelo menos 2 letras. Digite de novo."),
        ("Nome fantasia", "1", "O nome fantasia precisa ter pelo menos 2 letras. Digite de novo."),
        (
            "Telefone",
            "123",
            "Este telefone não é válido. Confira o DDD e os números, por exemplo (11) 98765-4321.",
        ),
        (
            "Endereço",
            "Rua sem cidade 12",
            "Faltou a cidade e o estado no fim do endereço. Digite assim: Rua das Flores, 123 - "
            "Centro - São Paulo/SP.",
        ),
    ],
)
def test_a_bad_value_is_refused_with_what_to_do_and_nothing_is_pending(
    chat: Chat, office: Office, field: str, typed: str, message: str
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press(field)

    chat.say(typed)

    assert chat.last_text().text.startswith(f"⚠️ {message}\n\n")
    assert step_of(chat) == ("dados", "campo")
    chat.press(texts.VOLTAR)
    assert chat.last_text().text == f"{overview(office)}\n\n{texts.BASICOS_HINT}"


def test_a_bad_cnpj_is_refused(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("CNPJ")

    chat.say("11.222.333/0001-00")

    assert chat.last_text().text.startswith("⚠️ ")
    assert step_of(chat) == ("dados", "campo")


def test_a_cnpj_of_one_repeated_digit_is_refused_with_its_own_reason(
    chat: Chat, office: Office
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("CNPJ")

    chat.say("11.111.111/1111-11")

    assert chat.last_text().text.startswith(
        "⚠️ CNPJ com todos os dígitos iguais não existe. Confira o número e digite de novo.\n\n"
    )
    assert step_of(chat) == ("dados", "campo")


def test_the_cnpj_of_another_gestor_is_refused_on_salvar(
    chat: Chat, office: Office, other_office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("CNPJ")
    chat.say(other_office.cnpj)

    chat.press(texts.DADOS_SALVAR)

    assert chat.last_text().text.startswith(
        "⚠️ Este CNPJ já pertence a outro cadastro de gestor.\n\n"
    )
    assert gestor_row(uow_factory, office.gestor.gestor_id).cnpj == office.cnpj


def test_descartar_drops_the_pending_changes(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("Telefone")
    chat.say("(11) 3333-4444")

    chat.press(texts.DADOS_DESCARTAR)

    assert chat.received[-2].text == texts.BASICOS_DISCARDED  # type: ignore[union-attr]
    assert chat.last_text().text == f"{overview(office)}\n\n{texts.BASICOS_HINT}"
    assert gestor_row(uow_factory, office.gestor.gestor_id).telefone is None
    assert gestor_audit(uow_factory, office.gestor.gestor_id) == []


def test_voltar_from_basicos_after_an_edit_goes_to_meus_dados(chat: Chat, office: Office) -> None:
    open_dados(chat, texts.BASICOS)
    chat.press("Telefone")
    chat.say("(11) 3333-4444")

    chat.press(texts.VOLTAR)

    assert step_of(chat) == ("dados", "inicio")


def test_a_contador_sees_basicos_read_only_and_a_forged_edit_is_refused(
    app_contador_chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    chat = app_contador_chat
    open_dados(chat, texts.BASICOS)
    assert chat.last_text().text == f"{overview(office)}\n\n{texts.BASICOS_READ_ONLY}"
    assert chat.labels() == [texts.VOLTAR, texts.MENU]
    offer(chat, "bas:telefone")

    chat.press_id("bas:telefone")

    assert chat.last_text().text.startswith(f"⚠️ {Forbidden.message}\n\n")
    assert step_of(chat) == ("dados", "basicos")


def test_the_service_refuses_a_contador_and_an_unknown_field(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    contador = add_member(uow_factory, office, "test:c2", Role.CONTADOR)

    with pytest.raises(Forbidden):
        gestor_profile.update_basics(uow_factory(), contador, {"telefone": "(11) 3333-4444"})
    with pytest.raises(ServiceError, match=r"Campo desconhecido\."):
        gestor_profile.update_basics(uow_factory(), office.gestor, {"senha": "x"})
