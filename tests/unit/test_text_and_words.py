"""Search folding, counts and numbers written the pt-BR way, and the contract's words."""

from __future__ import annotations

import io
import zipfile

import pytest

from domain.clients import ContractStatus, Payer, Role
from domain.fiscal import DocumentTooLargeError
from domain.fiscal.zipsafe import ZipLimits, ZipTooLargeError, check_directory
from domain.text import fill, fold, format_number, quantity
from handlers import texts


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("São João LTDA", "sao joao ltda"),
        ("  AÇÚCAR   e  Café ", "acucar e cafe"),
        ("Padaria Sao Bento", "padaria sao bento"),
        ("ﬁnanceira", "financeira"),  # compatibility ligature
    ],
)
def test_fold_ignores_accents_case_and_extra_spaces(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_status_labels_are_the_panels_words() -> None:
    assert [s.label for s in ContractStatus] == ["Efetivado", "Teste", "Bloqueado", "Cancelado"]


def test_only_bloqueado_and_cancelado_cut_access() -> None:
    assert {s for s in ContractStatus if s.cuts_access} == {
        ContractStatus.BLOQUEADO,
        ContractStatus.CANCELADO,
    }


def test_payer_labels_are_gestor_and_cliente() -> None:
    assert [p.label for p in Payer] == ["Gestor", "Cliente"]


def test_only_the_gestor_role_can_manage() -> None:
    assert Role.GESTOR.can_manage
    assert not Role.CONTADOR.can_manage


@pytest.mark.parametrize(
    ("value", "places", "written"),
    [
        (0, 0, "0"),
        (999, 0, "999"),
        (5000, 0, "5.000"),
        (100_000, 0, "100.000"),
        (1_234_567, 0, "1.234.567"),
        (1536.25, 1, "1.536,2"),
        (0.5, 1, "0,5"),
        (5120.4, 0, "5.120"),
    ],
)
def test_numbers_use_a_dot_for_thousands_and_a_comma_for_decimals(
    value: float, places: int, written: str
) -> None:
    assert format_number(value, places) == written


@pytest.mark.parametrize(
    ("count", "written"),
    [(0, "0 notas"), (1, "1 nota"), (2, "2 notas"), (5_000, "5.000 notas")],
)
def test_a_quantity_agrees_with_its_count(count: int, written: str) -> None:
    assert quantity(count, "nota") == written


def test_a_quantity_takes_an_irregular_plural() -> None:
    assert quantity(1, "nota não pôde", "notas não puderam") == "1 nota não pôde"
    assert quantity(3, "nota não pôde", "notas não puderam") == "3 notas não puderam"


def test_fill_writes_counts_with_their_word_and_leaves_other_fields_alone() -> None:
    template = "{titulo}: {notas:nota|notas} e {eventos:evento|eventos}; nº {numero}, {total:n}"

    written = fill(template, titulo="Out", notas=1, eventos=10_000, numero=12345, total=5000)

    assert written == "Out: 1 nota e 10.000 eventos; nº 12345, 5.000"


def test_a_count_template_is_not_silently_formatted_without_fill() -> None:
    with pytest.raises(ValueError, match="format"):
        texts.ZIP_CAPTION.format(titulo="x", notas=1, eventos=2)


COUNT_TEXTS = [
    (texts.EXPORT_FINISHED, {"partes": 1}, "✅ Pronto: enviado em 1 parte."),
    (texts.EXPORT_FINISHED, {"partes": 3}, "✅ Pronto: enviado em 3 partes."),
    (
        texts.EXPORT_PROGRESS,
        {"feito": 1_500, "total": 10_000},
        "⏳ Gerando… 1.500 de 10.000 notas",
    ),
    (
        texts.ZIP_CAPTION,
        {"titulo": "T", "notas": 1, "eventos": 1},
        "📦 T: 1 nota e 1 evento de cancelamento.",
    ),
    (
        texts.DANFE_CAPTION,
        {"titulo": "T", "notas": 1},
        "🧾 DANFEs — T: 1 PDF (as canceladas levam a marca CANCELADA).",
    ),
    (
        texts.GENERATING_FORN_ZIP,
        {"total": 1},
        "⏳ Gerando o ZIP com 1 nota… Envio aqui assim que ficar pronto.",
    ),
    (texts.FORN_LIST_CANCELADAS, {"n": 2}, ", mais 2 canceladas"),
]


@pytest.mark.parametrize(("template", "values", "written"), COUNT_TEXTS)
def test_fiscal_chat_texts_agree_with_their_counts(
    template: str, values: dict[str, object], written: str
) -> None:
    assert fill(template, **values) == written


def test_the_danfe_refusal_agrees_in_number_with_its_verb() -> None:
    one = fill(texts.DANFE_SKIPPED, n=1, notas="x")
    two = fill(texts.DANFE_SKIPPED, n=2, notas="x")

    assert one.startswith("⚠️ 1 nota não pôde ser impressa (")
    assert two.startswith("⚠️ 2 notas não puderam ser impressas (")


class _Directory:
    """A ZIP's central directory with `members` files, without building the archive."""

    def __init__(self, members: int) -> None:
        self.members = [zipfile.ZipInfo(f"{n}.xml") for n in range(members)]

    def infolist(self) -> list[zipfile.ZipInfo]:
        return self.members


@pytest.mark.parametrize(
    ("members", "said"),
    [
        (100_000, "O ZIP tem 100.000 arquivos, acima do limite de 5.000 por envio."),
        (2, "O ZIP tem 2 arquivos, acima do limite de 1 por envio."),
    ],
)
def test_the_member_cap_refusal_keeps_its_punctuation(members: int, said: str) -> None:
    limits = ZipLimits(max_members=5_000 if members > 5_000 else 1)

    with pytest.raises(ZipTooLargeError) as caught:
        check_directory(_Directory(members), limits)  # type: ignore[arg-type]

    assert caught.value.message == f"{said} Divida o lote em ZIPs menores."


def test_a_one_file_zip_over_a_zero_cap_says_one_file() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", b"<a/>")

    with zipfile.ZipFile(buffer) as archive, pytest.raises(ZipTooLargeError) as caught:
        check_directory(archive, ZipLimits(max_members=0))

    assert caught.value.message.startswith("O ZIP tem 1 arquivo, acima do limite de 0 por envio.")


def test_the_size_refusal_writes_kilobytes_the_pt_br_way() -> None:
    error = DocumentTooLargeError(6 * 1024 * 1024, 5 * 1024 * 1024)

    assert error.message.startswith("O arquivo tem 6.144 KB, acima do limite de 5.120 KB para")
