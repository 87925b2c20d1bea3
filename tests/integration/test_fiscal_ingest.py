"""Ingesting XMLs through the service: where each note goes, what is refused and why."""

from __future__ import annotations

import re
import zipfile
import zlib
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.fiscal import NFE_NS, Situacao
from domain.fiscal.zipsafe import ZipLimits, ZipRefusedError, ZipTooLargeError
from services import fiscal_documents
from services.fiscal_ingest import IncomingFile, IngestReport, ingest, ingest_upload
from services.fiscal_prepare import Status, TipoNota, inflate
from services.types import UnitOfWorkFactory
from storage.models_fiscal import FiscalDocument
from tests.integration.fiscal_support import (
    NFELIB_DESTINATARIO,
    NFELIB_EMITENTE,
    client_with_documento,
    nfelib_notes,
    zip_of,
)
from tests.support import Office, make_office
from tests.unit.fiscal.samples import (
    DEST_CNPJ,
    EMITENTE_CNPJ,
    Ide,
    nfe,
    nfe_proc,
    proc_evento,
    ret_evento,
)
from tests.unit.fiscal_chat.factory import month_specs, nfe_proc_xml

# A second emitter (valid CNPJ) for the factory's full notes.
SIGNED_EMITENTE = "34128745000152"

EMITENTE_CARD_NAME = "Empresa Emitente Ltda"


@pytest.fixture
def office(uow_factory: UnitOfWorkFactory) -> Office:
    return make_office(uow_factory, 1)


@pytest.fixture
def emitente(uow_factory: UnitOfWorkFactory, office: Office) -> int:
    """A client whose CNPJ is the synthetic notes' emitente."""
    return client_with_documento(uow_factory, office.gestor, EMITENTE_CNPJ, EMITENTE_CARD_NAME).id


class Target:
    def __init__(self, client_id: int, documento: str) -> None:
        self.client_id = client_id
        self.documento = documento


def run(
    uow_factory: UnitOfWorkFactory, client_id: int, documento: str, *files: tuple[str, bytes]
) -> IngestReport:
    return ingest(
        uow_factory(),
        Target(client_id, documento),
        [IncomingFile(name, data) for name, data in files],
        via="test",
    )


def stored(uow_factory: UnitOfWorkFactory, client_id: int) -> list[FiscalDocument]:
    uow = uow_factory()
    with uow:
        rows = list(
            uow.session.scalars(
                select(FiscalDocument)
                .where(FiscalDocument.client_id == client_id)
                .order_by(FiscalDocument.numero)
            )
        )
        uow.session.expunge_all()  # plain objects after the session closes
        return rows


def test_signed_notes_load_as_emitted_notes_of_the_emitting_client(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    specs = month_specs(10, year=2026, month=8, emitente_cnpj=SIGNED_EMITENTE)
    files = [(f"{spec.chave()}-nfe.xml", nfe_proc_xml(spec)) for spec in specs]
    client = client_with_documento(uow_factory, office.gestor, SIGNED_EMITENTE, "Emitente Ltda")

    report = run(uow_factory, client.id, SIGNED_EMITENTE, *files)

    assert [o.status for o in report.outcomes] == [Status.CARREGADO] * 10
    rows = stored(uow_factory, client.id)
    assert {(r.tipo, r.modelo, r.competencia, r.situacao) for r in rows} == {
        ("emitida", "55", "2026-08", "autorizada")
    }
    # vNF read from the files by a plain regular expression, independent of the parser
    v_nfs = [re.search(rb"<vNF>([0-9.]+)</vNF>", data) for _, data in files]
    expected = sum(Decimal(m.group(1).decode()) for m in v_nfs if m)
    assert expected == sum(spec.v_nf for spec in specs)
    assert sum(r.valor for r in rows) == expected
    counts = fiscal_documents.month_counts(
        uow_factory(), office.gestor, client.id,
        tipo=TipoNota.EMITIDA, modelo=None, competencia="2026-08",
    )  # fmt: skip
    assert counts.quantidade[Situacao.AUTORIZADA] == 10
    assert counts.valor_autorizadas == expected
    xml = fiscal_documents.get_xml(uow_factory(), office.gestor, client.id, rows[0].chave)
    assert xml.data == dict(files)[f"{rows[0].chave}-nfe.xml"]


def test_real_notes_reindented_after_signing_are_refused_with_the_signature_reason(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    paths = nfelib_notes()
    client = client_with_documento(uow_factory, office.gestor, NFELIB_EMITENTE, "Akretion Ltda")

    report = run(
        uow_factory, client.id, NFELIB_EMITENTE, *[(p.name, p.read_bytes()) for p in paths]
    )

    assert len(paths) == 10
    assert {o.codigo for o in report.outcomes} == {"assinatura_invalida"}
    assert all("a assinatura digital não confere" in (o.motivo or "") for o in report.outcomes)
    assert stored(uow_factory, client.id) == []


def test_a_note_addressed_to_the_client_is_a_supplier_note(
    uow_factory: UnitOfWorkFactory, office: Office
) -> None:
    [spec] = month_specs(1, emitente_cnpj=SIGNED_EMITENTE, dest_cnpj=NFELIB_DESTINATARIO)
    client = client_with_documento(uow_factory, office.gestor, NFELIB_DESTINATARIO, "Compradora")

    report = run(uow_factory, client.id, NFELIB_DESTINATARIO, ("nota.xml", nfe_proc_xml(spec)))

    assert report.outcomes[0].status is Status.CARREGADO
    assert report.outcomes[0].tipo is TipoNota.FORNECEDOR
    assert fiscal_documents.supplier_counts(
        uow_factory(), office.gestor, client.id
    ) == fiscal_documents.SupplierCounts(pendentes=1, reconhecidas=0, canceladas=0)


def test_a_note_with_its_cancellation_attached_is_stored_cancelled(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    ide = Ide(nnf="57366")
    data = nfe_proc(ide, extra=ret_evento(ide.chave()))  # non-standard, written by some ERPs

    report = run(uow_factory, emitente, EMITENTE_CNPJ, ("cancelada.xml", data))

    assert report.outcomes[0].status is Status.CARREGADO
    [row] = stored(uow_factory, emitente)
    assert row.situacao == "cancelada"
    assert row.cancelada_em is not None


def test_a_cancellation_event_marks_the_stored_note_cancelled_and_keeps_the_event(
    uow_factory: UnitOfWorkFactory, office: Office, emitente: int
) -> None:
    chave = Ide().chave()
    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc()))
    event = proc_evento(chave)

    report = run(uow_factory, emitente, EMITENTE_CNPJ, ("cancelamento.xml", event))

    assert report.outcomes[0].status is Status.CANCELAMENTO
    [row] = stored(uow_factory, emitente)
    assert row.situacao == "cancelada"
    assert row.cancelada_em is not None
    xml = fiscal_documents.get_xml(
        uow_factory(), office.gestor, emitente, chave, cancelamento=True
    )
    assert xml.data == event
    counts = fiscal_documents.month_counts(
        uow_factory(), office.gestor, emitente,
        tipo=TipoNota.EMITIDA, modelo=None, competencia="2026-10",
    )  # fmt: skip
    assert counts.quantidade[Situacao.CANCELADA] == 1
    assert counts.valor_autorizadas == Decimal("0.00")


def test_resending_the_cancellation_is_a_duplicate(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    chave = Ide().chave()
    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc()))
    run(uow_factory, emitente, EMITENTE_CNPJ, ("c.xml", proc_evento(chave)))

    report = run(uow_factory, emitente, EMITENTE_CNPJ, ("c.xml", proc_evento(chave)))

    assert report.outcomes[0].status is Status.DUPLICADO


def test_a_cancellation_before_its_note_in_the_same_batch_still_applies(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    chave = Ide().chave()

    report = run(
        uow_factory,
        emitente,
        EMITENTE_CNPJ,
        ("a-cancelamento.xml", proc_evento(chave)),
        ("b-nota.xml", nfe_proc()),
    )

    assert [o.status for o in report.outcomes] == [Status.CANCELAMENTO, Status.CARREGADO]
    assert stored(uow_factory, emitente)[0].situacao == "cancelada"


def test_a_cancellation_of_an_unknown_note_is_refused_with_the_reason(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    report = run(uow_factory, emitente, EMITENTE_CNPJ, ("c.xml", proc_evento(Ide().chave())))

    [outcome] = report.outcomes
    assert outcome.status is Status.RECUSADO
    assert outcome.codigo == "nota_desconhecida"
    assert "Envie antes o XML da nota" in (outcome.motivo or "")


def test_resending_the_same_chave_is_a_duplicate_and_stores_nothing_new(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc()))

    report = run(
        uow_factory, emitente, EMITENTE_CNPJ, ("de-novo.xml", nfe_proc()), ("x.xml", nfe_proc())
    )

    assert [o.status for o in report.outcomes] == [Status.DUPLICADO, Status.DUPLICADO]
    assert len(stored(uow_factory, emitente)) == 1


def test_the_same_chave_twice_in_one_batch_is_stored_once(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    report = run(
        uow_factory, emitente, EMITENTE_CNPJ, ("a.xml", nfe_proc()), ("b.xml", nfe_proc())
    )

    assert [o.status for o in report.outcomes] == [Status.CARREGADO, Status.DUPLICADO]
    assert len(stored(uow_factory, emitente)) == 1


@pytest.mark.parametrize(
    ("dh_emi", "competencia"),
    [
        ("2026-10-31T23:30:00-03:00", "2026-10"),  # already 1 November in UTC
        ("2026-11-30T23:30:00-04:00", "2026-11"),  # Manaus: already December in São Paulo
        ("2026-11-30T23:30:00-05:00", "2026-11"),  # Rio Branco
        ("2026-11-01T01:30:00+00:00", "2026-11"),  # the offset the note says, not São Paulo's
        ("2026-11-01T00:00:00-03:00", "2026-11"),
    ],
)
def test_the_competencia_is_the_month_the_note_itself_says(
    uow_factory: UnitOfWorkFactory, emitente: int, dh_emi: str, competencia: str
) -> None:
    ide = Ide(dh_emi=dh_emi)

    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc(ide)))

    [row] = stored(uow_factory, emitente)
    assert row.competencia == competencia
    assert row.emitida_em.utcoffset() is not None


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<nfeProc>&lol2;</nfeProc>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE nfeProc [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe">&xxe;</nfeProc>'
)


def _other_cnpj_note() -> bytes:
    ide = Ide(cnpj="45723174000110")
    return nfe_proc(ide, body=nfe(ide, dest="<dest><CNPJ>11444777000161</CNPJ></dest>"))


def _nfce_to_client() -> bytes:
    ide = Ide(cnpj=DEST_CNPJ, mod="65")
    return nfe_proc(ide, body=nfe(ide, dest=f"<dest><CNPJ>{EMITENTE_CNPJ}</CNPJ></dest>"))


def _wrong_check_digit() -> bytes:
    chave = Ide().chave()
    bad = chave[:-1] + str((int(chave[-1]) + 1) % 10)
    return nfe_proc(body=nfe(chave=bad, cdv=bad[-1]), prot_chave=bad)


@pytest.mark.parametrize(
    ("data", "codigo", "words"),
    [
        (b"<nfeProc><NFe>", "xml_invalido", "não é um XML de NF-e válido"),
        (BILLION_LAUGHS, "xml_perigoso", "DOCTYPE"),
        (XXE, "xml_perigoso", "DOCTYPE"),
        (nfe_proc().replace(NFE_NS.encode(), b"http://example.com/nfe"), "namespace_errado",
         "namespace"),
        (b"%PDF-1.7\n1 0 obj <<>> endobj", "xml_invalido", "PDF"),
        (_wrong_check_digit(), "chave_invalida", "dígito verificador"),
        (_other_cnpj_note(), "outro_cnpj", "Documento de outro CNPJ"),
        (nfe().encode(), "nao_autorizada", "protocolo de autorização"),
        (nfe(signed=False).encode(), "nao_autorizada", "nem assinada"),
        (nfe_proc(c_stat=204), "nao_autorizada", "cStat 204"),
        (nfe_proc(body=nfe(signed=False)), "sem_assinatura", "assinatura digital"),
        (nfe_proc().replace(b"<vNF>150.00</vNF>", b"<vNF>950.00</vNF>"), "assinatura_invalida",
         "alterado depois de assinado"),
        (_nfce_to_client(), "nfce_fornecedor", "NFC-e"),
        (nfe_proc(Ide(tp_amb="2")), "homologacao", "homologação"),
    ],
    ids=[
        "malformed", "entity-expansion", "external-entity", "wrong-namespace", "pdf-as-xml",
        "wrong-check-digit", "other-cnpj", "signed-not-authorized", "unsigned-not-authorized",
        "rejected-by-sefaz", "authorized-without-signature", "tampered-vnf",
        "nfce-as-supplier-note", "homologacao",
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_reason_and_nothing_is_stored(
    uow_factory: UnitOfWorkFactory, emitente: int, data: bytes, codigo: str, words: str
) -> None:
    report = run(uow_factory, emitente, EMITENTE_CNPJ, ("arquivo.xml", data))

    [outcome] = report.outcomes
    assert outcome.status is Status.RECUSADO
    assert outcome.codigo == codigo
    assert words in (outcome.motivo or "")
    assert stored(uow_factory, emitente) == []


def test_a_zip_with_three_good_notes_and_one_bad_stores_the_three(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    notes = {f"nota{n}.xml": nfe_proc(Ide(nnf=str(n))) for n in (1, 2, 3)}
    data = zip_of({**notes, "ruim.xml": b"<nfeProc>", "DANFE.pdf": b"%PDF-1.4"})

    report = ingest_upload(
        uow_factory(), Target(emitente, EMITENTE_CNPJ), data, nome="lote.zip", via="test"
    )

    assert (report.carregados, report.recusados, report.ignorados) == (3, 1, 1)
    assert report.refusals[0].nome == "ruim.xml"
    assert [r.numero for r in stored(uow_factory, emitente)] == [1, 2, 3]


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_stored(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    bomb = zip_of({"nota.xml": nfe_proc(), "bomba.xml": b"<a>" + b" " * 3_000_000 + b"</a>"})

    with pytest.raises(ZipTooLargeError, match="ZIP bomb"):
        ingest_upload(
            uow_factory(), Target(emitente, EMITENTE_CNPJ), bomb, nome="b.zip", via="test"
        )

    assert stored(uow_factory, emitente) == []


def test_a_member_that_lies_about_its_size_is_not_inflated_beyond_the_declared_size(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    bomb = bytearray(zip_of({"bomba.xml": b" " * 2_000_000}))
    # Lie in the central directory: declare 2 KB uncompressed, so the directory check passes.
    central = bomb.rfind(b"PK\x01\x02")
    bomb[central + 24 : central + 28] = (2000).to_bytes(4, "little")

    report = ingest_upload(
        uow_factory(), Target(emitente, EMITENTE_CNPJ), bytes(bomb), nome="b.zip", via="t"
    )

    [outcome] = report.outcomes
    assert outcome.status is Status.RECUSADO
    assert "corrompido" in (outcome.motivo or "")
    assert stored(uow_factory, emitente) == []


def test_an_empty_zip_is_refused_with_a_clear_message(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    with pytest.raises(ZipRefusedError, match="O ZIP está vazio"):
        ingest_upload(
            uow_factory(), Target(emitente, EMITENTE_CNPJ), zip_of({}), nome="v.zip", via="t"
        )


def test_a_zip_with_too_many_members_is_refused(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    data = zip_of({f"n{n}.xml": b"<a/>" for n in range(6)})

    with pytest.raises(ZipTooLargeError, match="6 arquivos"):
        ingest_upload(
            uow_factory(),
            Target(emitente, EMITENTE_CNPJ),
            data,
            nome="m.zip",
            via="t",
            limits=ZipLimits(max_members=5),
        )


def test_a_stored_member_keeps_its_place_in_the_summary(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    data = zip_of({"pasta/nota.xml": nfe_proc()}, zipfile.ZIP_STORED)

    report = ingest_upload(
        uow_factory(), Target(emitente, EMITENTE_CNPJ), data, nome="s.zip", via="t"
    )

    assert [(o.nome, o.status) for o in report.outcomes] == [("pasta/nota.xml", Status.CARREGADO)]


def test_the_stored_blob_is_raw_deflate_with_the_crc_and_size_a_zip_member_needs(
    uow_factory: UnitOfWorkFactory, office: Office, emitente: int
) -> None:
    data = nfe_proc()
    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", data))

    [entry] = list(
        fiscal_documents.compressed_xmls(
            uow_factory(), office.gestor, emitente,
            tipo=TipoNota.EMITIDA, modelo=None, competencia="2026-10",
        )
    )  # fmt: skip

    assert inflate(entry.deflated) == data
    assert entry.size == len(data)
    assert entry.crc32 == zlib.crc32(data)
    assert entry.name == f"{Ide().chave()}-nfe.xml"


def test_the_audit_log_records_each_ingest_that_changed_something(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    from storage.models import AuditEntry

    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc()))
    run(uow_factory, emitente, EMITENTE_CNPJ, ("nota.xml", nfe_proc()))  # duplicate: no entry

    uow = uow_factory()
    with uow:
        entries = uow.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "fiscal.ingest", AuditEntry.client_id == emitente)
        )
    assert entries == 1


def test_reading_in_worker_processes_gives_the_same_outcomes_in_the_same_order(
    uow_factory: UnitOfWorkFactory, emitente: int
) -> None:
    files = [IncomingFile(f"n{n}.xml", nfe_proc(Ide(nnf=str(n)))) for n in range(1, 8)]
    files.insert(3, IncomingFile("ruim.xml", b"<x"))
    files.append(IncomingFile("c.xml", proc_evento(Ide(nnf="2").chave())))

    report = ingest(
        uow_factory(), Target(emitente, EMITENTE_CNPJ), files, via="t", chunk_size=2, workers=2
    )

    assert [o.nome for o in report.outcomes] == [f.nome for f in files]
    assert report.carregados == 7
    assert report.refusals[0].nome == "ruim.xml"
    assert report.cancelamentos == 1
    assert [r.situacao for r in stored(uow_factory, emitente)][:2] == ["autorizada", "cancelada"]
