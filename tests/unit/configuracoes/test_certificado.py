"""Certificado digital: status, Enviar certificado (file, then password) and every refusal."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from bot.app import App
from bot.channels.telegram import CAPABILITIES as TELEGRAM
from domain.certificates import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateTooLarge,
    MissingPrivateKey,
    NotACertificate,
    WrongCertificatePassword,
)
from domain.certificates.errors import CertificateOfAnotherCompany
from domain.clients import Payer
from handlers import texts
from services import catalog, certificates, clients
from services.clients import ClientCard
from services.messages import ClearButtons, DeleteMessage, Text, TextBody
from services.types import UnitOfWorkFactory
from tests.support import Chat, Office, cnpj
from tests.unit.certificates.pfx_factory import (
    PASSWORD,
    Encryption,
    SanEncoding,
    make_certificate,
    make_pfx,
)
from tests.unit.configuracoes.helpers import (
    open_config,
    pfx_for,
    send_pfx,
    stored_certificate,
    type_password,
)
from tests.unit.helpers import audit_entries, state_of, step_of

FIXTURES = Path("/work/shared/fixtures")
if not FIXTURES.exists():  # the checkout's sibling, as the issue names it
    FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures"


def start_upload(chat: Chat, client: ClientCard) -> None:
    open_config(chat, client.razao_social, texts.CERTIFICADO_DIGITAL)
    chat.press(texts.ENVIAR_CERTIFICADO)


def warning(message: str) -> str:
    return texts.INVALID_PREFIX.format(message=message)


def ask_file_text() -> str:
    return texts.ASK_CERT_FILE.format(limit=64)


# -- status ----------------------------------------------------------------------------------


def test_a_client_without_certificate_is_told_why_it_matters_and_offered_to_send_one(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    open_config(chat, client.razao_social, texts.CERTIFICADO_DIGITAL)

    assert chat.last_text().text == texts.CERT_MISSING
    assert chat.labels() == [texts.ENVIAR_CERTIFICADO, texts.VOLTAR, texts.MENU]


def test_a_valid_certificate_is_saved_and_congratulated_with_its_date_cnpj_and_holder(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    assert chat.last_text().text == ask_file_text()

    send_pfx(chat, pfx_for(1, days_left=300))
    replies = type_password(chat, PASSWORD)

    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None
    until = stored.not_after.astimezone(certificates.BRASILIA).strftime("%d/%m/%Y")
    reminder, saved, status = replies
    assert reminder == Text(texts.APAGUE_A_SENHA)  # this chat cannot delete the password
    assert isinstance(saved, Text)
    assert isinstance(status, Text)
    assert saved.text == texts.CERT_SAVED.format(holder="PADARIA BOM PAO LTDA", until=until)
    today = datetime.now(UTC).astimezone(certificates.BRASILIA).strftime("%d/%m/%Y")
    assert status.text == texts.CERT_VALID.format(
        until=until,
        holder="PADARIA BOM PAO LTDA",
        doc="10.000.001/0001-90",
        uploaded=today,
    )
    assert status.text.startswith(f"✅ Parabéns! O certificado digital está válido até {until}.")
    assert step_of(chat) == ("config", "cert")
    assert stored.documento == cnpj(1)
    assert len(stored.fingerprint) == 64


def test_a_certificate_password_that_arrives_out_of_order_leaves_the_chat(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    """Ignored (sent before the message already answered), but it carried the password:
    deleted where the channel can, else the person is asked to delete it."""
    telegram = replace(chat, channel="telegram", capabilities=TELEGRAM, received=[], edits=[])
    start_upload(telegram, client)
    send_pfx(telegram, pfx_for(1))
    asked = step_of(telegram)
    late = replace(telegram.event(TextBody(PASSWORD)), message_ref="4101", out_of_order=True)

    replies = telegram.deliver(late)

    assert replies[0] == DeleteMessage("4101", if_kept=texts.APAGUE_A_SENHA)
    assert not [m for m in replies if isinstance(m, Text) and PASSWORD in m.text]
    assert stored_certificate(uow_factory, client.id) is None  # ignored: asked again
    assert step_of(telegram) == asked


def test_a_certificate_expiring_within_30_days_warns_with_the_days_left(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1, days_left=10))
    type_password(chat, PASSWORD)

    shown = chat.last_text().text
    assert shown.startswith("⚠️ O certificado digital vence em 10 dias (em ")
    assert "Titular: PADARIA BOM PAO LTDA\nCNPJ: 10.000.001/0001-90" in shown


def test_a_stored_certificate_that_has_expired_since_is_explained_with_enviar_certificado(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1, days_left=40))
    type_password(chat, PASSWORD)
    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None

    with time_machine.travel(datetime.now(UTC) + timedelta(days=60), tick=False):
        chat.say("/menu")
        open_config(chat, client.razao_social, texts.CERTIFICADO_DIGITAL)

    until = stored.not_after.astimezone(certificates.BRASILIA).strftime("%d/%m/%Y")
    assert chat.last_text().text == texts.CERT_EXPIRED.format(
        until=until, holder="PADARIA BOM PAO LTDA", doc="10.000.001/0001-90"
    )
    assert chat.labels()[0] == texts.ENVIAR_CERTIFICADO


def test_a_new_certificate_replaces_the_old_one_and_the_audit_says_before_and_after(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1, days_left=20))
    type_password(chat, PASSWORD)
    chat.press(texts.ENVIAR_CERTIFICADO)
    send_pfx(chat, pfx_for(1, days_left=300))
    type_password(chat, PASSWORD)

    uploads = [
        e for e in audit_entries(uow_factory, client.id) if e.action == "certificate.upload"
    ]
    assert len(uploads) == 2
    newest = uploads[0]
    assert newest.actor == office.gestor.identity_key
    assert newest.before is not None
    assert newest.after is not None
    assert newest.before["fingerprint"] != newest.after["fingerprint"]
    assert set(newest.after) == {"titular", "documento", "validade", "fingerprint"}
    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None
    assert stored.fingerprint == newest.after["fingerprint"]


# -- the file step ---------------------------------------------------------------------------


def test_text_instead_of_the_file_asks_for_the_file_again_and_to_delete_it_if_the_password(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)

    replies = chat.say("minha senha")

    assert replies == [
        Text(texts.CERT_TEXT_INSTEAD_OF_FILE),  # this chat cannot delete it: said at once
        Text(warning(texts.CERT_FILE_EXPECTED)),
        Text(ask_file_text(), chat.last_text().buttons),
    ]
    assert step_of(chat) == ("config_cert", "arquivo")


def test_text_instead_of_the_file_is_deleted_where_the_channel_can_as_it_may_be_the_password(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    telegram = replace(chat, channel="telegram", capabilities=TELEGRAM, received=[], edits=[])
    start_upload(telegram, client)

    replies = type_password(telegram, PASSWORD, ref="4100")

    assert replies[0] == DeleteMessage("4100", if_kept=texts.CERT_TEXT_INSTEAD_OF_FILE)
    # the question asked again is the live prompt: the earlier one loses its buttons
    assert [r for r in replies[1:] if not isinstance(r, ClearButtons)] == [
        Text(warning(texts.CERT_FILE_EXPECTED)),
        Text(ask_file_text(), telegram.last_text().buttons),
    ]
    assert step_of(telegram) == ("config_cert", "arquivo")


def test_a_command_like_text_instead_of_the_file_is_never_echoed(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    telegram = replace(chat, channel="telegram", capabilities=TELEGRAM, received=[], edits=[])
    start_upload(telegram, client)

    replies = type_password(telegram, "/Segredo-123", ref="4101")

    assert replies[0] == DeleteMessage("4101", if_kept=texts.CERT_TEXT_INSTEAD_OF_FILE)
    assert all("Segredo" not in getattr(m, "text", "") for m in telegram.received)
    assert step_of(telegram) == ("config_cert", "arquivo")


def test_a_file_that_is_not_pfx_or_p12_is_refused_by_name(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)

    send_pfx(chat, b"%PDF-1.7", name="contrato.pdf")

    message = certificates.NotAPfxFile("contrato.pdf").message
    assert chat.last_text().text == f"{warning(message)}\n\n{ask_file_text()}"
    assert step_of(chat) == ("config_cert", "arquivo")


def test_a_pfx_over_the_size_cap_is_refused_before_asking_the_password(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)

    send_pfx(chat, b"\x30" * (65 * 1024))

    message = CertificateTooLarge(65 * 1024, 64 * 1024).message
    assert chat.last_text().text == f"{warning(message)}\n\n{ask_file_text()}"


def test_a_file_the_channel_would_not_fetch_is_said_to_be_too_big(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)

    send_pfx(chat, None, name="enorme.pfx")

    message = texts.CERT_TOO_BIG_TO_FETCH.format(name="enorme.pfx")
    assert chat.last_text().text == f"{warning(message)}\n\n{ask_file_text()}"


def test_a_corrupted_file_named_pfx_is_refused_as_not_a_certificate(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)

    send_pfx(chat, pfx_for(1)[:300])

    shown = chat.last_text().text
    assert shown == f"{warning(NotACertificate().message)}\n\n{ask_file_text()}"
    assert step_of(chat) == ("config_cert", "arquivo")


# -- the password step -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            lambda: pfx_for(1, days_left=-1),
            lambda: "Este certificado venceu em",
            id="expired",
        ),
        pytest.param(
            lambda: make_pfx(
                make_certificate(
                    cnpj=cnpj(1),
                    not_before=datetime.now(UTC) + timedelta(days=5),
                    not_after=datetime.now(UTC) + timedelta(days=365),
                )
            ),
            lambda: "Este certificado só passa a valer em",
            id="not-yet-valid",
        ),
        pytest.param(
            lambda: pfx_for(1, with_key=False),
            lambda: MissingPrivateKey().message,
            id="no-private-key",
        ),
        pytest.param(
            lambda: pfx_for(1, documento=cnpj(7)),
            lambda: CertificateOfAnotherCompany(cnpj(7), cnpj(1)).message,
            id="another-company",
        ),
    ],
)
def test_a_refused_certificate_says_why_and_asks_for_another_file(
    chat: Chat,
    office: Office,
    client: ClientCard,
    uow_factory: UnitOfWorkFactory,
    make: object,
    expected: object,
) -> None:
    start_upload(chat, client)
    send_pfx(chat, make())  # type: ignore[operator]

    type_password(chat, PASSWORD)

    refusal = chat.received[-2]
    assert isinstance(refusal, Text)
    assert refusal.text.startswith(texts.INVALID_PREFIX.format(message=expected()))  # type: ignore[operator]
    assert chat.last_text().text == ask_file_text()
    assert step_of(chat) == ("config_cert", "arquivo")
    state = state_of(chat)
    assert state is not None
    assert "pfx" not in state.data
    assert stored_certificate(uow_factory, client.id) is None


def test_the_expired_and_not_yet_valid_messages_are_the_domains(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    """The messages above come from domain/certificates; check one in full."""
    start_upload(chat, client)
    pfx = pfx_for(1, days_left=-3)
    send_pfx(chat, pfx)
    type_password(chat, PASSWORD)

    info = certificates.open_certificate(pfx, PASSWORD)
    refusal = chat.received[-2]
    assert isinstance(refusal, Text)
    assert refusal.text == warning(CertificateExpired(info).message)
    assert CertificateNotYetValid(info).message.startswith("Este certificado só passa a valer")


@pytest.mark.parametrize(
    "pfx",
    [
        pytest.param(lambda: pfx_for(1, encryption=Encryption.LEGACY_3DES), id="legacy-3des"),
        pytest.param(
            lambda: make_pfx(
                make_certificate(
                    cnpj=cnpj(1),
                    san_encoding=SanEncoding.PRINTABLE_STRING,
                    not_before=datetime.now(UTC) - timedelta(days=1),
                    not_after=datetime.now(UTC) + timedelta(days=200),
                )
            ),
            id="san-printable-string",
        ),
        pytest.param(
            lambda: make_pfx(
                make_certificate(
                    cnpj=cnpj(1),
                    san_encoding=None,
                    not_before=datetime.now(UTC) - timedelta(days=1),
                    not_after=datetime.now(UTC) + timedelta(days=200),
                )
            ),
            id="cnpj-only-in-the-common-name",
        ),
    ],
)
def test_certificates_in_every_accepted_shape_are_saved(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory, pfx: object
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx())  # type: ignore[operator]
    type_password(chat, PASSWORD)

    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None
    assert stored.documento == cnpj(1)


def test_a_branchs_certificate_with_the_same_cnpj_root_is_accepted(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    from domain.documents import complete_cnpj

    branch = complete_cnpj(cnpj(1)[:8] + "0002")
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1, documento=branch))
    type_password(chat, PASSWORD)

    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None
    assert stored.documento == branch


def test_a_wrong_password_asks_again_and_the_right_one_then_saves(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1))

    replies = type_password(chat, "senha-errada")

    reminder, refusal, again = replies
    assert reminder == Text(texts.APAGUE_A_SENHA)
    assert isinstance(refusal, Text)
    assert isinstance(again, Text)
    assert refusal.text == warning(WrongCertificatePassword().message)
    assert again.text.endswith("\nTentativa 2 de 3.")
    assert step_of(chat) == ("config_cert", "senha")
    type_password(chat, PASSWORD)
    assert stored_certificate(uow_factory, client.id) is not None


def test_three_wrong_passwords_drop_the_file_and_go_back_to_the_certificate_screen(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1))

    type_password(chat, "errada-1")
    type_password(chat, "errada-2")
    replies = type_password(chat, "errada-3")

    assert replies[:2] == [
        Text(texts.APAGUE_A_SENHA),
        Text(texts.CERT_TOO_MANY_TRIES.format(max=3)),
    ]
    assert chat.last_text().text == texts.CERT_MISSING
    assert step_of(chat) == ("config", "cert")
    state = state_of(chat)
    assert state is not None
    assert "pfx" not in state.data
    assert stored_certificate(uow_factory, client.id) is None


# -- secrecy ---------------------------------------------------------------------------------


def test_between_file_and_password_the_pfx_is_kept_only_sealed(
    chat: Chat, office: Office, client: ClientCard, app: App
) -> None:
    pfx = pfx_for(1)
    start_upload(chat, client)
    send_pfx(chat, pfx)

    state = state_of(chat)
    assert state is not None
    sealed = state.data["pfx"]
    import base64

    assert base64.b64encode(pfx).decode()[:40] not in str(state.data)
    box = app.conversation.dialogue.config.secret_box  # type: ignore[attr-defined]
    assert box.open(sealed.encode()) == pfx


def test_cancelar_at_the_password_wipes_the_file_and_saves_nothing(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1))

    chat.press(texts.CANCELAR)

    state = state_of(chat)
    assert state is not None
    assert state.data.get("pfx") is None
    assert "pfx" not in str(state.data)
    assert stored_certificate(uow_factory, client.id) is None


def test_the_password_is_stored_only_sealed_and_never_in_state_audit_or_logs(
    chat: Chat,
    office: Office,
    client: ClientCard,
    uow_factory: UnitOfWorkFactory,
    app: App,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQL statements and their parameters too: the password must not reach any of them.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    secret = "Segredo-Único-9876"
    pfx = pfx_for(1, password=secret)
    start_upload(chat, client)
    send_pfx(chat, pfx)
    type_password(chat, "Errado-Único-1234")
    type_password(chat, secret)

    stored = stored_certificate(uow_factory, client.id)
    assert stored is not None
    assert secret.encode() not in stored.password_encrypted
    assert pfx not in stored.pfx_encrypted
    box = app.conversation.dialogue.config.secret_box  # type: ignore[attr-defined]
    assert box.open(stored.password_encrypted) == secret.encode()
    assert box.open(stored.pfx_encrypted) == pfx
    assert certificates.stored_secret(uow_factory(), box, client.id) == (pfx, secret)
    state = state_of(chat)
    assert state is not None
    assert secret not in str(state.data)
    for entry in audit_entries(uow_factory, client.id):
        assert secret not in f"{entry.before} {entry.after}"
    assert "config_cert" in caplog.text  # the statements and their parameters were logged
    for wrong in (secret, "Errado-Único-1234"):
        assert wrong not in caplog.text
        assert all(wrong not in str(r.args) for r in caplog.records)


def test_on_a_channel_that_deletes_messages_the_password_message_is_deleted_first(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    telegram = replace(chat, channel="telegram", capabilities=TELEGRAM, received=[], edits=[])
    start_upload(telegram, client)
    send_pfx(telegram, pfx_for(1))
    assert telegram.last_text().text == texts.CERT_PROMPT_DELETES.format(name="certificado.pfx")

    wrong = type_password(telegram, "errada", ref="4242")
    right = type_password(telegram, PASSWORD, ref="4243")

    # if Telegram refuses after all, the channel asks the person to delete it instead
    assert wrong[0] == DeleteMessage("4242", if_kept=texts.APAGUE_A_SENHA)
    assert right[0] == DeleteMessage("4243", if_kept=texts.APAGUE_A_SENHA)
    assert not any(m == Text(texts.APAGUE_A_SENHA) for m in telegram.received)


def test_on_a_channel_that_cannot_delete_the_prompt_warns_and_then_asks_to_delete_it(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1))
    assert chat.last_text().text == texts.CERT_PROMPT_WARNS.format(name="certificado.pfx")

    replies = type_password(chat, PASSWORD)

    assert replies[0] == Text(texts.APAGUE_A_SENHA)
    assert not any(isinstance(m, DeleteMessage) for m in chat.received)


# -- real certificates -----------------------------------------------------------------------


def _client_with(uow_factory: UnitOfWorkFactory, office: Office, documento: str) -> ClientCard:
    software = catalog.list_softwares(uow_factory())[0]
    return clients.register_client(
        uow_factory(),
        office.gestor,
        clients.NewClient(
            payer=Payer.GESTOR,
            software_id=software.id,
            plan_id=software.plans[0].id,
            documento=documento,
            razao_social="Sped Nfe Ltda",
            nome_fantasia=None,
            email="sped@exemplo.com.br",
            telefone="(11) 98765-4321",
            cep="01310-100",
            endereco="Av. Paulista, 1000 - Bela Vista - São Paulo/SP",
        ),
    )


def test_the_real_sped_nfe_certificate_is_accepted_for_its_cnpj(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    real = FIXTURES / "sped-nfe/tests/fixtures/certs/cert_cnpj_06157250000116_senha_minhasenha.pfx"
    if not real.exists():
        pytest.skip("shared fixtures not present")
    owner = _client_with(uow_factory, office, "06157250000116")
    start_upload(chat, owner)
    send_pfx(chat, real.read_bytes(), name=real.name)

    type_password(chat, "minhasenha")

    stored = stored_certificate(uow_factory, owner.id)
    assert stored is not None
    assert stored.documento == "06157250000116"
    assert chat.last_text().text.startswith(
        "✅ Parabéns! O certificado digital está válido até 05/06/2034."
    )


def test_the_real_expired_certificate_is_refused_with_its_end_date(
    chat: Chat, office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    real = FIXTURES / "sped-nfe/tests/fixtures/certs/expired_certificate.pfx"
    if not real.exists():
        pytest.skip("shared fixtures not present")
    owner = _client_with(uow_factory, office, "99999090910270")
    start_upload(chat, owner)
    send_pfx(chat, real.read_bytes(), name=real.name)

    type_password(chat, "associacao")

    refusal = chat.received[-2]
    assert isinstance(refusal, Text)
    assert refusal.text.startswith("⚠️ Este certificado venceu em 02/10/2010.")
    assert stored_certificate(uow_factory, owner.id) is None


def test_a_password_that_looks_like_a_command_is_read_as_the_password_and_never_echoed(
    chat: Chat, office: Office, client: ClientCard, uow_factory: UnitOfWorkFactory
) -> None:
    telegram = replace(chat, channel="telegram", capabilities=TELEGRAM, received=[], edits=[])
    start_upload(telegram, client)
    send_pfx(telegram, pfx_for(1, password="/barra-secreta"))

    wrong = type_password(telegram, "/outra-coisa", ref="71")
    right = type_password(telegram, "/barra-secreta", ref="72")

    assert wrong[0] == DeleteMessage("71", if_kept=texts.APAGUE_A_SENHA)
    assert all("/outra-coisa" not in getattr(m, "text", "") for m in telegram.received)
    assert right[0] == DeleteMessage("72", if_kept=texts.APAGUE_A_SENHA)
    assert stored_certificate(uow_factory, client.id) is not None


def test_menu_still_works_while_the_password_is_asked(
    chat: Chat, office: Office, client: ClientCard
) -> None:
    start_upload(chat, client)
    send_pfx(chat, pfx_for(1))

    chat.say("/menu")

    assert step_of(chat) == ("menu", "inicio")
    state = state_of(chat)
    assert state is not None
    assert "pfx" not in state.data
