"""Whether a certificate serves the client (same CNPJ or a branch) and its status in the chat."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.certificates import (
    CertificateHealth,
    CertificateInfo,
    CertificateOfAnotherCompany,
    CertificateStatus,
    CertificateWithoutDocument,
    check_belongs_to,
    classify,
    days_left,
    read_certificate,
)
from domain.documents import complete_cnpj
from tests.unit.certificates.pfx_factory import (
    NOW,
    PASSWORD,
    make_certificate,
    make_pfx,
)

MATRIZ = "11222333000181"
FILIAL = complete_cnpj("112223330002")  # same root, branch 0002
OUTRA_EMPRESA = complete_cnpj("445556660001")


def info_for(cnpj: str | None = MATRIZ, cpf: str | None = None) -> CertificateInfo:
    return CertificateInfo(
        subject_cn=f"EMPRESA:{cnpj}",
        holder_name="EMPRESA",
        cnpj=cnpj,
        cpf=cpf,
        not_before=datetime(2025, 6, 1, 12, tzinfo=UTC),
        not_after=datetime(2026, 6, 1, 12, tzinfo=UTC),
        fingerprint="0" * 64,
        serial="01",
        issuer_cn="AC TESTE",
    )


@pytest.mark.parametrize(
    "client",
    [MATRIZ, "11.222.333/0001-81", FILIAL],
    ids=["same-cnpj", "typed-with-punctuation", "branch-same-root"],
)
def test_a_certificate_of_the_client_or_of_a_branch_is_accepted(client: str) -> None:
    check_belongs_to(info_for(MATRIZ), client)


def test_a_branch_certificate_serves_the_head_office() -> None:
    check_belongs_to(info_for(FILIAL), MATRIZ)


def test_a_certificate_of_another_company_is_refused_naming_both_cnpjs() -> None:
    with pytest.raises(CertificateOfAnotherCompany) as raised:
        check_belongs_to(info_for(OUTRA_EMPRESA), MATRIZ)

    message = raised.value.message
    assert f"{OUTRA_EMPRESA[:2]}.{OUTRA_EMPRESA[2:5]}.{OUTRA_EMPRESA[5:8]}/" in message
    assert "11.222.333/0001-81" in message
    assert raised.value.certificate_documento == OUTRA_EMPRESA
    assert raised.value.client_documento == MATRIZ


def test_the_branch_rule_holds_for_an_alphanumeric_cnpj() -> None:
    matriz = complete_cnpj("12ABC34501DE")
    filial = complete_cnpj("12ABC345000A")
    outra = complete_cnpj("12ABC346000A")

    check_belongs_to(info_for(filial), matriz)
    with pytest.raises(CertificateOfAnotherCompany):
        check_belongs_to(info_for(outra), matriz)


def test_an_ecpf_serves_only_a_client_with_that_cpf() -> None:
    ecpf = info_for(cnpj=None, cpf="52998224725")

    check_belongs_to(ecpf, "529.982.247-25")
    with pytest.raises(CertificateOfAnotherCompany, match=r"CPF 529\.982\.247-25"):
        check_belongs_to(ecpf, MATRIZ)


def test_a_company_certificate_does_not_serve_a_cpf_client_sharing_its_first_digits() -> None:
    with pytest.raises(CertificateOfAnotherCompany):
        check_belongs_to(info_for(complete_cnpj("529982240001")), "52998224725")


def test_a_certificate_without_a_document_cannot_be_matched() -> None:
    with pytest.raises(CertificateWithoutDocument, match="CNPJ"):
        check_belongs_to(info_for(cnpj=None), MATRIZ)


def test_a_generated_certificate_is_matched_through_read_certificate() -> None:
    info = read_certificate(make_pfx(make_certificate(cnpj=FILIAL)), PASSWORD, now=NOW)

    check_belongs_to(info, MATRIZ)
    with pytest.raises(CertificateOfAnotherCompany):
        check_belongs_to(info, OUTRA_EMPRESA)


# validity ends 01/06/2026 09:00 in Brasília
@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 1), CertificateHealth(CertificateStatus.VALID, 151)),
        (date(2026, 5, 1), CertificateHealth(CertificateStatus.VALID, 31)),
        (date(2026, 5, 2), CertificateHealth(CertificateStatus.EXPIRING, 30)),
        (date(2026, 5, 31), CertificateHealth(CertificateStatus.EXPIRING, 1)),
        (date(2026, 6, 1), CertificateHealth(CertificateStatus.EXPIRING, 0)),
        (date(2026, 6, 2), CertificateHealth(CertificateStatus.EXPIRED, -1)),
    ],
)
def test_the_status_is_valid_expiring_within_30_days_or_expired(
    today: date, expected: CertificateHealth
) -> None:
    info = info_for()

    assert classify(info, today) == expected
    assert days_left(info, today) == expected.days_left


def test_days_are_counted_to_the_last_day_in_brasilia() -> None:
    info = replace(info_for(), not_after=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))

    assert info.valid_until == date(2026, 5, 31)
    assert days_left(info, date(2026, 5, 31)) == 0


def test_the_warning_window_can_be_chosen() -> None:
    health = classify(info_for(), date(2026, 4, 1), warning_days=90)

    assert health == CertificateHealth(CertificateStatus.EXPIRING, 61)
