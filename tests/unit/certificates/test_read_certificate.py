"""Reading an A1 certificate: who it belongs to, until when, and why it is refused."""

from __future__ import annotations

import re
import traceback
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from domain.certificates import (
    CertificateError,
    CertificateExpired,
    CertificateInfo,
    CertificateNotYetValid,
    CertificateTooLarge,
    MissingPrivateKey,
    NotACertificate,
    WrongCertificatePassword,
    open_certificate,
    read_certificate,
)
from domain.documents import complete_cnpj
from domain.errors import DomainError
from tests.unit.certificates.pfx_factory import (
    CNPJ,
    NOW,
    PASSWORD,
    RAZAO_SOCIAL,
    Ecpf,
    Encryption,
    SanEncoding,
    make_certificate,
    make_pfx,
)

ALPHANUMERIC_CNPJ = complete_cnpj("12ABC34501DE")


def test_a_valid_certificate_describes_its_holder_and_validity() -> None:
    certificate = make_certificate()

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == CNPJ
    assert info.cpf is None
    assert info.holder_name == RAZAO_SOCIAL
    assert info.subject_cn == f"{RAZAO_SOCIAL}:{CNPJ}"
    assert info.issuer_cn == "AC TESTE RFB v5"
    assert info.not_before == certificate.not_valid_before_utc
    assert info.not_after == certificate.not_valid_after_utc
    assert info.not_after.tzinfo is UTC
    assert info.serial == "1F2E3D"
    assert re.fullmatch(r"[0-9a-f]{64}", info.fingerprint)
    assert info.documento_formatado == "11.222.333/0001-81"


@pytest.mark.parametrize("encoding", list(SanEncoding))
def test_the_cnpj_is_read_from_the_san_whatever_the_string_type(encoding: SanEncoding) -> None:
    certificate = make_certificate(san_encoding=encoding, common_name=RAZAO_SOCIAL)

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == CNPJ
    assert info.holder_name == RAZAO_SOCIAL


def test_the_san_cnpj_wins_over_a_different_one_in_the_common_name() -> None:
    certificate = make_certificate(common_name="OUTRA EMPRESA:44555666000199")

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == CNPJ
    assert info.holder_name == "OUTRA EMPRESA"


def test_without_the_san_the_cnpj_comes_from_the_common_name() -> None:
    certificate = make_certificate(san_encoding=None)

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == CNPJ
    assert info.holder_name == RAZAO_SOCIAL


def test_a_common_name_that_is_only_the_cnpj_takes_the_holder_name_from_the_organization() -> None:
    certificate = make_certificate(
        san_encoding=None, common_name="11.222.333/0001-81", organization="Padaria Bom Pão"
    )

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == CNPJ
    assert info.holder_name == "Padaria Bom Pão"


@pytest.mark.parametrize("in_san", [True, False], ids=["san", "common-name"])
def test_an_alphanumeric_cnpj_is_read(in_san: bool) -> None:
    certificate = make_certificate(
        cnpj=ALPHANUMERIC_CNPJ, san_encoding=SanEncoding.PRINTABLE_STRING if in_san else None
    )

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cnpj == ALPHANUMERIC_CNPJ


def test_a_certificate_without_any_document_has_no_cnpj() -> None:
    certificate = make_certificate(cnpj=None, common_name="Servidor de testes")

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.documento is None
    assert info.holder_name == "Servidor de testes"


def test_an_ecpf_yields_the_holders_cpf_from_its_icp_brasil_field() -> None:
    certificate = make_certificate(
        cnpj=None,
        common_name="MARIA DA SILVA:52998224725",
        ecpf=Ecpf(date(1980, 5, 17), "52998224725"),
    )

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cpf == "52998224725"
    assert info.cnpj is None
    assert info.holder_name == "MARIA DA SILVA"
    assert info.documento_formatado == "529.982.247-25"


def test_an_ecpf_without_the_icp_field_falls_back_to_the_common_name() -> None:
    certificate = make_certificate(cnpj=None, common_name="MARIA DA SILVA:529.982.247-25")

    info = read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert info.cpf == "52998224725"


def test_a_legacy_triple_des_file_opens() -> None:
    pfx = make_pfx(encryption=Encryption.LEGACY_3DES)

    assert read_certificate(pfx, PASSWORD, now=NOW).cnpj == CNPJ


def test_the_holders_certificate_is_chosen_over_the_ca_in_the_file() -> None:
    info = read_certificate(make_pfx(with_chain=True), PASSWORD, now=NOW)

    assert info.issuer_cn == "AC TESTE RFB v5"
    assert info.subject_cn != "AC TESTE RFB v5"


@pytest.mark.parametrize("encryption", list(Encryption))
def test_a_wrong_password_is_told_apart(encryption: Encryption) -> None:
    pfx = make_pfx(encryption=encryption)

    with pytest.raises(WrongCertificatePassword) as raised:
        read_certificate(pfx, "senha-errada", now=NOW)

    assert "senha" in raised.value.message
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_password_differing_only_in_case_is_wrong() -> None:
    with pytest.raises(WrongCertificatePassword):
        read_certificate(make_pfx(password="Segredo"), "segredo", now=NOW)


def test_a_password_with_accents_opens_the_file() -> None:
    pfx = make_pfx(password="coração-ñ-2026")

    assert read_certificate(pfx, "coração-ñ-2026", now=NOW).cnpj == CNPJ


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b"", "vazio"),
        (b"   \n", "vazio"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (b"isto nao e um certificado", "não é um certificado"),
        (b"\x30\x82\xff\xff\x02\x01\x03", "não é um certificado"),
    ],
    ids=["empty", "blank", "pdf", "zip", "text", "truncated-der"],
)
def test_a_file_that_is_not_pkcs12_is_refused_with_what_it_is(content: bytes, hint: str) -> None:
    with pytest.raises(NotACertificate) as raised:
        read_certificate(content, PASSWORD, now=NOW)

    assert hint in raised.value.message
    assert raised.value.__cause__ is not None


def test_a_public_certificate_without_the_key_file_is_named_as_such() -> None:
    cer = make_certificate().public_bytes(Encoding.DER)

    with pytest.raises(NotACertificate, match=r"só o certificado público"):
        read_certificate(cer, PASSWORD, now=NOW)


def test_a_truncated_pfx_is_not_a_certificate_rather_than_a_wrong_password() -> None:
    pfx = make_pfx()

    with pytest.raises(NotACertificate):
        read_certificate(pfx[: len(pfx) - 40], PASSWORD, now=NOW)


def test_a_damaged_pfx_with_the_right_password_is_not_blamed_on_the_password() -> None:
    pfx = bytearray(make_pfx())
    pfx[len(pfx) // 2] ^= 0xFF

    with pytest.raises(NotACertificate, match="corrompido"):
        read_certificate(bytes(pfx), PASSWORD, now=NOW)


def test_a_file_above_the_size_cap_is_refused_before_being_read() -> None:
    with pytest.raises(CertificateTooLarge) as raised:
        read_certificate(b"\x00" * (64 * 1024 + 1), PASSWORD, now=NOW)

    assert raised.value.limit == 64 * 1024
    assert "65 KB" in raised.value.message
    assert "64 KB" in raised.value.message


def test_the_size_cap_can_be_chosen() -> None:
    pfx = make_pfx()

    with pytest.raises(CertificateTooLarge):
        read_certificate(pfx, PASSWORD, now=NOW, max_size=len(pfx) - 1)
    assert read_certificate(pfx, PASSWORD, now=NOW, max_size=len(pfx)).cnpj == CNPJ


def test_a_pfx_without_the_private_key_is_refused() -> None:
    with pytest.raises(MissingPrivateKey, match="chave privada"):
        read_certificate(make_pfx(with_key=False), PASSWORD, now=NOW)


def test_an_expired_certificate_is_refused_with_its_expiry_date() -> None:
    certificate = make_certificate(
        not_before=datetime(2025, 2, 1, 12, tzinfo=UTC),
        not_after=datetime(2026, 2, 1, 12, tzinfo=UTC),
    )

    with pytest.raises(CertificateExpired) as raised:
        read_certificate(make_pfx(certificate), PASSWORD, now=NOW)

    assert "01/02/2026" in raised.value.message
    assert raised.value.info.cnpj == CNPJ


def test_the_expiry_date_shown_is_the_day_in_brasilia() -> None:
    certificate = make_certificate(
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2026, 2, 1, 2, 0, tzinfo=UTC),  # 31/01 23:00 in Brasília
    )

    with pytest.raises(CertificateExpired, match="31/01/2026"):
        read_certificate(make_pfx(certificate), PASSWORD, now=NOW)


def test_a_certificate_is_valid_up_to_its_last_second() -> None:
    not_after = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    pfx = make_pfx(make_certificate(not_after=not_after))

    assert read_certificate(pfx, PASSWORD, now=not_after).not_after == not_after
    with pytest.raises(CertificateExpired):
        read_certificate(pfx, PASSWORD, now=not_after + timedelta(seconds=1))


def test_a_certificate_not_yet_valid_is_refused_with_its_start_date() -> None:
    certificate = make_certificate(
        not_before=datetime(2026, 4, 1, 12, tzinfo=UTC),
        not_after=datetime(2027, 4, 1, 12, tzinfo=UTC),
    )

    with pytest.raises(CertificateNotYetValid, match="01/04/2026"):
        read_certificate(make_pfx(certificate), PASSWORD, now=NOW)


def test_open_certificate_reads_an_expired_one_without_refusing_it() -> None:
    certificate = make_certificate(
        not_before=datetime(2020, 1, 1, tzinfo=UTC), not_after=datetime(2021, 1, 1, tzinfo=UTC)
    )

    assert open_certificate(make_pfx(certificate), PASSWORD).cnpj == CNPJ


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        read_certificate(make_pfx(), PASSWORD, now=datetime(2026, 3, 10))  # noqa: DTZ001


def test_every_refusal_is_a_domain_error_with_a_message_for_people() -> None:
    errors: list[CertificateError] = []
    for attempt in (
        lambda: read_certificate(b"", PASSWORD, now=NOW),
        lambda: read_certificate(make_pfx(), "errada", now=NOW),
        lambda: read_certificate(make_pfx(with_key=False), PASSWORD, now=NOW),
        lambda: read_certificate(make_pfx(), PASSWORD, now=NOW + timedelta(days=3650)),
        lambda: read_certificate(make_pfx(), PASSWORD, now=NOW - timedelta(days=3650)),
        lambda: read_certificate(b"x" * 70_000, PASSWORD, now=NOW),
    ):
        with pytest.raises(CertificateError) as raised:
            attempt()
        errors.append(raised.value)

    assert len({type(error) for error in errors}) == len(errors)
    for error in errors:
        assert isinstance(error, DomainError)
        assert error.message == str(error)
        assert error.message.endswith(".")


SECRET = "Sup3r-S3gr3d0-ÇÃ"


def _texts(error: BaseException) -> str:
    """Everything an error could leak into a log: str, repr, causes, formatted traceback."""
    parts = ["".join(traceback.format_exception(error))]
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen), repr(getattr(seen, "args", ()))]
        parts += [repr(value) for value in vars(seen).values()]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("scenario", "password"),
    [
        ("wrong password", SECRET),
        ("right password, expired", SECRET),
        ("right password, not yet valid", SECRET),
        ("right password, no key", SECRET),
        ("right password, damaged", SECRET),
        ("not a pfx", SECRET),
    ],
)
def test_the_password_never_appears_in_an_error(scenario: str, password: str) -> None:
    right = "outra-senha" if scenario == "wrong password" else password
    pfx = make_pfx(password=right, with_key=scenario != "right password, no key")
    now = {
        "right password, expired": NOW + timedelta(days=3650),
        "right password, not yet valid": NOW - timedelta(days=3650),
    }.get(scenario, NOW)
    if scenario == "right password, damaged":
        damaged = bytearray(pfx)
        damaged[len(damaged) // 2] ^= 0xFF
        pfx = bytes(damaged)
    if scenario == "not a pfx":
        pfx = b"%PDF-1.4 " + password.encode()

    with pytest.raises(CertificateError) as raised:
        read_certificate(pfx, password, now=now)

    texts = _texts(raised.value)
    assert password not in texts
    assert password.encode().hex() not in texts


def test_the_certificate_info_holds_neither_the_password_nor_the_key() -> None:
    info = read_certificate(make_pfx(password=SECRET), SECRET, now=NOW)

    assert SECRET not in repr(info)
    assert SECRET not in str(info)
    field_names = set(CertificateInfo.__dataclass_fields__)
    assert not {name for name in field_names if "key" in name or "password" in name}
    assert all(isinstance(getattr(info, name), str | datetime | None) for name in field_names)
