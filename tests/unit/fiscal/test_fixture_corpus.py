"""Every real XML in ../shared/fixtures loads or is refused as its MANIFEST entry says.

The expected outcome is built by rules from the MANIFEST's kind and notes, plus one check the
MANIFEST does not record: a test-side reading (plain regular expressions, independent of the
parser) of whether the key agrees with the document's own ide/emit fields and attached
protocol/events. Several sample files were edited after being issued (tpEmis, cDV, the month…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest

from domain.fiscal import (
    Ambiente,
    DocumentoFiscal,
    EventoFiscal,
    FiscalDocumentError,
    InvalidKeyError,
    KeyMismatchError,
    NotaFiscal,
    Situacao,
    TipoDocumento,
    UnsupportedDocumentError,
    WrongNamespaceError,
    parse_document,
)
from tests.fixtures_manifest import ManifestEntry, fixtures_dir, load_manifest

FOLDER = fixtures_dir()
if not (FOLDER / "MANIFEST.tsv").is_file():
    pytest.skip(
        f"real fiscal files not found at {FOLDER} (set FIXTURES_DIR)", allow_module_level=True
    )

MANIFEST = load_manifest(FOLDER)
XML_FILES = sorted(str(path.relative_to(FOLDER)) for path in FOLDER.rglob("*.xml"))
SUPPORTED_ROOTS = {"nfeProc", "NFe", "procEventoNFe", "resNFe", "resEvento"}
# MANIFEST "INVALID chave" reasons → InvalidKeyError.reason
KEY_REASONS = {"len": "tamanho", "cUF": "uf", "bad month": "mes", "DV": "dv"}
CSIT_SITUACAO = {"1": Situacao.AUTORIZADA, "2": Situacao.DENEGADA, "3": Situacao.CANCELADA}


@dataclass(frozen=True)
class Refused:
    error: type[FiscalDocumentError]
    exact_type: bool = False


def key_disagreements(xml: str) -> set[tuple[str, str]]:
    """(value in the document, value in the key) for each field of an NFe that disagrees."""
    key_match = re.search(r'<infNFe\b[^>]*\bId="(?:NFe)?([0-9A-Z]{44})"', xml)
    if key_match is None:
        return set()
    key = key_match.group(1)

    def first(tag: str) -> str:
        found = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", xml)
        return found.group(1) if found else ""

    issued = first("dhEmi") or first("dEmi")
    emit = re.search(r"<emit>\s*<(CNPJ|CPF)>\s*([0-9A-Z]+)\s*<", xml)
    pairs = [
        (first("cUF"), key[0:2]),
        (issued[2:4] + issued[5:7], key[2:6]),
        (emit.group(2).zfill(14) if emit else "", key[6:20]),
        (first("mod"), key[20:22]),
        (first("serie").zfill(3), key[22:25]),
        (first("nNF").zfill(9), key[25:34]),
        (first("tpEmis"), key[34]),
        (first("cNF").zfill(8), key[35:43]),
        (first("cDV"), key[43]),
        *((ch_nfe, key) for ch_nfe in re.findall(r"<chNFe>\s*([^<]*?)\s*</chNFe>", xml)),
    ]
    return {(document, in_key) for document, in_key in pairs if document != in_key}


def expected_refusal(entry: ManifestEntry, xml: str) -> Refused | None:
    if "ns=(no ns)" in entry.notes:
        return Refused(WrongNamespaceError)
    if entry.root not in SUPPORTED_ROOTS or "SOAP envelope" in entry.notes:
        return Refused(UnsupportedDocumentError, exact_type=True)
    if entry.invalid_keys:
        return Refused(InvalidKeyError)
    if entry.root in {"nfeProc", "NFe"} and key_disagreements(xml):
        return Refused(KeyMismatchError)
    return None


@pytest.mark.parametrize("relpath", XML_FILES)
def test_each_real_file_loads_or_is_refused_as_its_manifest_entry_says(relpath: str) -> None:
    entry = MANIFEST.get(relpath)
    assert entry is not None, f"{relpath} is not in MANIFEST.tsv"
    data = (FOLDER / relpath).read_bytes()
    refusal = expected_refusal(entry, data.decode("utf-8", errors="replace"))

    if refusal is not None:
        with pytest.raises(FiscalDocumentError) as caught:
            parse_document(data)
        assert_refused_as(caught.value, refusal, entry, data)
        return
    document = parse_document(data)
    if entry.root in {"nfeProc", "NFe", "resNFe"}:
        assert_nota_as(document, entry)
    else:
        assert_evento_as(document, entry)


def assert_refused_as(
    error: FiscalDocumentError, refusal: Refused, entry: ManifestEntry, data: bytes
) -> None:
    assert isinstance(error, refusal.error), error.message
    if refusal.exact_type:
        assert type(error) is refusal.error
    assert error.message[:1].isupper()
    if isinstance(error, UnsupportedDocumentError) and not isinstance(error, WrongNamespaceError):
        assert error.root == ("Envelope" if "SOAP envelope" in entry.notes else entry.root)
    if isinstance(error, InvalidKeyError):
        assert error.chave in entry.invalid_keys, error.chave
        note_reason = entry.invalid_keys[error.chave]
        reasons = [ours for theirs, ours in KEY_REASONS.items() if note_reason.startswith(theirs)]
        assert reasons == [error.reason], (note_reason, error.reason)
    if isinstance(error, KeyMismatchError):
        disagreements = key_disagreements(data.decode("utf-8", errors="replace"))
        assert (error.no_documento, error.na_chave) in disagreements


def assert_nota_as(document: DocumentoFiscal, entry: ManifestEntry) -> None:
    assert isinstance(document, NotaFiscal)
    nota = document
    assert nota.tipo == TipoDocumento(entry.root)
    assert nota.modelo.value == (entry.model or nota.chave.modelo) == nota.chave.modelo
    assert nota.dh_emi.tzinfo is not None
    assert f"{nota.dh_emi:%y%m}" == nota.chave.aamm
    assert isinstance(nota.v_nf, Decimal)
    assert nota.emitente.documento
    tp_amb = entry.note("tpAmb")
    if tp_amb:
        assert nota.tp_amb is Ambiente(int(tp_amb))
    if entry.root != "resNFe":
        assert nota.itens, "an NFe has at least one det"
        assert all(re.fullmatch(r"[0-9]{4}", item.cfop) for item in nota.itens)
        assert all(isinstance(item.v_prod, Decimal) for item in nota.itens)
    assert nota.situacao is expected_situacao(entry, nota)


def expected_situacao(entry: ManifestEntry, nota: NotaFiscal) -> Situacao:
    if entry.root == "resNFe":
        return CSIT_SITUACAO[entry.note("cSitNFe") or ""]
    if entry.root == "NFe":
        assert nota.protocolo is None
        assert nota.assinado is (entry.kind.split()[-1] == "signed")
        return Situacao.NAO_AUTORIZADA
    c_stat = entry.kind_params["cStat"]
    embedded = re.search(r"embedded event\(s\) tpEvento=(\d+)", entry.notes)
    if embedded:
        assert embedded.group(1) in {evento.tp_evento for evento in nota.eventos}
    else:
        assert nota.eventos == ()
    if not c_stat.isdigit():
        assert nota.protocolo is None
        return Situacao.NAO_AUTORIZADA
    assert nota.protocolo is not None
    assert nota.protocolo.c_stat == int(c_stat)
    if embedded and embedded.group(1) in {"110111", "110112"}:
        return Situacao.CANCELADA
    if int(c_stat) in {100, 150}:
        return Situacao.AUTORIZADA
    if int(c_stat) in {110, 301, 302, 303}:
        return Situacao.DENEGADA
    return Situacao.NAO_AUTORIZADA


def assert_evento_as(document: DocumentoFiscal, entry: ManifestEntry) -> None:
    assert isinstance(document, EventoFiscal)
    assert document.tipo == TipoDocumento(entry.root)
    params = entry.kind_params
    assert document.evento.tp_evento == (params.get("tpEvento") or entry.note("tpEvento"))
    if params.get("cStat"):
        assert document.evento.c_stat == int(params["cStat"])
    if entry.model:
        assert document.chave.modelo == entry.model


def test_every_xml_file_in_the_folder_is_listed_in_the_manifest() -> None:
    assert XML_FILES, f"no XML under {FOLDER}"
    assert [name for name in XML_FILES if name not in MANIFEST] == []


def test_the_corpus_has_files_of_every_outcome() -> None:
    """Guards the rules above against silently expecting nothing but refusals."""
    outcomes: dict[str, int] = {}
    for relpath in XML_FILES:
        try:
            document = parse_document((FOLDER / relpath).read_bytes())
        except FiscalDocumentError as exc:
            key = type(exc).__name__
        else:
            key = document.situacao.value if isinstance(document, NotaFiscal) else "evento"
        outcomes[key] = outcomes.get(key, 0) + 1
    for outcome in ("autorizada", "cancelada", "nao_autorizada", "evento"):
        assert outcomes.get(outcome, 0) > 0, outcomes
    for error in (InvalidKeyError, KeyMismatchError, UnsupportedDocumentError):
        assert outcomes.get(error.__name__, 0) > 0, outcomes
    assert outcomes.get(WrongNamespaceError.__name__, 0) > 0, outcomes
