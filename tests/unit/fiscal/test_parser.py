"""Reading notas and eventos: fields, situação, the key checked against the document's fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.documents import complete_cnpj
from domain.fiscal import (
    Ambiente,
    EventoFiscal,
    InvalidFieldError,
    InvalidKeyError,
    KeyMismatchError,
    Modelo,
    NotaFiscal,
    Situacao,
    TipoDocumento,
    parse_document,
)
from tests.unit.fiscal.samples import (
    DEST_CNPJ,
    EMITENTE_CNPJ,
    Ide,
    nfe,
    nfe_proc,
    proc_evento,
    res_evento,
    res_nfe,
    ret_evento,
)


def read_nota(data: bytes) -> NotaFiscal:
    document = parse_document(data)
    assert isinstance(document, NotaFiscal)
    return document


def test_an_authorized_nfe_proc_is_read_with_its_fields() -> None:
    ide = Ide()

    nota = read_nota(nfe_proc(ide))

    assert nota.tipo is TipoDocumento.NFE_PROC
    assert nota.chave.valor == ide.chave()
    assert nota.modelo is Modelo.NFE
    assert (nota.serie, nota.numero) == (1, 1234)
    assert nota.dh_emi == datetime(2026, 10, 15, 13, 30, tzinfo=UTC)
    assert nota.dh_emi.utcoffset() == timedelta(hours=-3)
    assert (nota.emitente.cnpj, nota.emitente.x_nome) == (EMITENTE_CNPJ, "EMPRESA EMITENTE LTDA")
    assert nota.destinatario is not None
    assert (nota.destinatario.cnpj, nota.destinatario.x_nome) == (DEST_CNPJ, "CLIENTE LTDA")
    assert nota.tp_amb is Ambiente.PRODUCAO
    assert nota.protocolo is not None
    assert (nota.protocolo.c_stat, nota.protocolo.n_prot) == (100, "135260000000001")
    assert nota.protocolo.dh_recbto == datetime(2026, 10, 15, 13, 31, tzinfo=UTC)
    assert [(item.cfop, item.v_prod) for item in nota.itens] == [
        ("5102", Decimal("100.00")),
        ("5405", Decimal("50.00")),
    ]
    assert nota.assinado
    assert nota.situacao is Situacao.AUTORIZADA
    assert nota.situacao.label == "Autorizada"
    assert nota.avisos == ()


def test_vnf_and_vprod_are_exact_decimals() -> None:
    data = nfe_proc(
        body=nfe(Ide(), v_nf="1234567890.30", itens=(("5102", "0.10"), ("5102", "0.20")))
    )

    nota = read_nota(data)

    assert nota.v_nf == Decimal("1234567890.30")
    assert isinstance(nota.v_nf, Decimal)
    assert nota.total_produtos == Decimal("0.30")  # 0.1 + 0.2 in float would not be


@pytest.mark.parametrize("v_nf", ["1e3", "NaN", "1,50", "R$ 10", "Infinity"])
def test_a_vnf_that_is_not_a_plain_decimal_is_refused(v_nf: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        parse_document(nfe_proc(body=nfe(Ide(), v_nf=v_nf)))

    assert caught.value.campo == "total/ICMSTot/vNF"


@pytest.mark.parametrize(
    ("c_stat", "situacao"),
    [
        (100, Situacao.AUTORIZADA),
        (150, Situacao.AUTORIZADA),
        (110, Situacao.DENEGADA),
        (301, Situacao.DENEGADA),
        (302, Situacao.DENEGADA),
        (303, Situacao.DENEGADA),
        (204, Situacao.NAO_AUTORIZADA),
        (539, Situacao.NAO_AUTORIZADA),
    ],
)
def test_the_situacao_follows_the_protocol_cstat(c_stat: int, situacao: Situacao) -> None:
    assert read_nota(nfe_proc(c_stat=c_stat)).situacao is situacao


def test_an_nfe_proc_without_protocol_is_not_authorized_and_says_so() -> None:
    nota = read_nota(nfe_proc(c_stat=None))

    assert nota.protocolo is None
    assert nota.situacao is Situacao.NAO_AUTORIZADA
    assert nota.situacao.label == "Não autorizada"
    assert any("sem protocolo" in aviso for aviso in nota.avisos)


def test_a_bare_unsigned_nfe_is_read_as_not_authorized() -> None:
    nota = read_nota(nfe(Ide(), signed=False).encode())

    assert nota.tipo is TipoDocumento.NFE
    assert not nota.assinado
    assert nota.protocolo is None
    assert nota.situacao is Situacao.NAO_AUTORIZADA


@pytest.mark.parametrize(
    ("tp_evento", "c_stat", "situacao"),
    [
        ("110111", 135, Situacao.CANCELADA),
        ("110111", 155, Situacao.CANCELADA),
        ("110112", 135, Situacao.CANCELADA),
        ("110111", 573, Situacao.AUTORIZADA),  # rejected cancellation
        ("110110", 135, Situacao.AUTORIZADA),  # carta de correção
    ],
)
def test_an_event_embedded_in_nfe_proc_decides_cancellation(
    tp_evento: str, c_stat: int, situacao: Situacao
) -> None:
    ide = Ide()

    nota = read_nota(nfe_proc(ide, extra=ret_evento(ide.chave(), tp_evento, c_stat)))

    assert [(e.tp_evento, e.c_stat) for e in nota.eventos] == [(tp_evento, c_stat)]
    assert nota.eventos[0].dh_reg_evento == datetime(2026, 10, 16, 12, 0, tzinfo=UTC)
    assert nota.situacao is situacao


def test_an_embedded_event_of_another_note_is_refused_as_a_mismatch() -> None:
    ide = Ide()
    other = ide.but(nnf="999").chave()

    with pytest.raises(KeyMismatchError) as caught:
        parse_document(nfe_proc(ide, extra=ret_evento(other)))

    assert caught.value.campo == "chNFe do evento anexado"
    assert caught.value.no_documento == other


def test_a_protocol_of_another_key_is_refused_as_a_mismatch() -> None:
    other = Ide().but(nnf="999").chave()

    with pytest.raises(KeyMismatchError) as caught:
        parse_document(nfe_proc(prot_chave=other))

    assert caught.value.campo == "chNFe do protocolo"


@pytest.mark.parametrize(
    ("changed", "campo"),
    [
        ({"cuf": "33"}, "cUF"),
        ({"dh_emi": "2026-11-01T00:10:00-03:00"}, "o mês de dhEmi (AAMM)"),
        ({"cnpj": "45723174000110"}, "o CNPJ/CPF do emitente"),
        ({"mod": "65"}, "mod"),
        ({"serie": "2"}, "serie"),
        ({"nnf": "1235"}, "nNF"),
        ({"tp_emis": "9"}, "tpEmis"),
        ({"cnf": "87654321"}, "cNF"),
    ],
)
def test_a_key_that_disagrees_with_a_field_is_refused_naming_the_field(
    changed: dict[str, str], campo: str
) -> None:
    ide = Ide()
    body = nfe(ide.but(**changed), chave=ide.chave())

    with pytest.raises(KeyMismatchError) as caught:
        parse_document(nfe_proc(ide, body=body))

    assert caught.value.campo == campo
    assert campo in caught.value.message


def test_a_cdv_that_disagrees_with_the_key_is_refused() -> None:
    ide = Ide()
    wrong = str((int(ide.chave()[-1]) + 1) % 10)

    with pytest.raises(KeyMismatchError) as caught:
        parse_document(nfe_proc(ide, body=nfe(ide, cdv=wrong)))

    assert caught.value.campo == "cDV"


def test_a_document_with_an_invalid_key_is_refused_with_the_invalid_key_error() -> None:
    ide = Ide()
    chave = ide.chave()
    tampered = chave[:43] + str((int(chave[-1]) + 1) % 10)

    with pytest.raises(InvalidKeyError) as caught:
        parse_document(nfe_proc(ide, body=nfe(ide, chave=tampered)))

    assert caught.value.reason == "dv"


def test_an_emitter_with_cpf_matches_the_zero_padded_key() -> None:
    cpf = "52998224725"
    ide = Ide(cnpj=cpf)

    nota = read_nota(nfe_proc(ide, body=nfe(ide, emit_doc=f"<CPF>{cpf}</CPF>")))

    assert nota.emitente.cpf == cpf
    assert nota.emitente.cnpj is None
    assert nota.chave.emitente == "000" + cpf


def test_an_nfce_without_recipient_has_no_destinatario() -> None:
    ide = Ide(mod="65")

    nota = read_nota(nfe_proc(ide, body=nfe(ide, dest=None)))

    assert nota.modelo is Modelo.NFCE
    assert nota.modelo.label == "NFC-e"
    assert nota.destinatario is None


def test_a_foreign_recipient_is_read_by_id_estrangeiro() -> None:
    dest = "<dest><idEstrangeiro>AR123456</idEstrangeiro><xNome>BUYER SA</xNome></dest>"

    nota = read_nota(nfe_proc(body=nfe(Ide(), dest=dest)))

    assert nota.destinatario is not None
    assert nota.destinatario.documento == "AR123456"


def test_a_layout_2_note_with_date_only_demi_gets_midnight_in_brasilia() -> None:
    ide = Ide(dh_emi="2013-06-17T00:00:00-03:00")

    nota = read_nota(nfe_proc(ide, body=nfe(ide, date_tag="dEmi", versao="2.00")))

    assert nota.dh_emi == datetime(2013, 6, 17, 3, 0, tzinfo=UTC)
    assert nota.versao == "2.00"


def test_a_note_without_issue_date_is_refused_naming_the_field() -> None:
    data = nfe_proc().replace(b"<dhEmi>2026-10-15T10:30:00-03:00</dhEmi>", b"")

    with pytest.raises(InvalidFieldError) as caught:
        parse_document(data)

    assert caught.value.campo == "ide/dhEmi"


def test_a_cancellation_proc_evento_is_read_as_an_event_that_cancels() -> None:
    chave = Ide().chave()

    document = parse_document(proc_evento(chave))

    assert isinstance(document, EventoFiscal)
    assert document.tipo is TipoDocumento.PROC_EVENTO_NFE
    assert document.chave.valor == chave
    evento = document.evento
    assert (evento.tp_evento, evento.c_stat, evento.n_prot) == ("110111", 135, "135260000000002")
    assert evento.dh_evento == datetime(2026, 10, 16, 11, 59, tzinfo=UTC)
    assert evento.autor is not None
    assert evento.autor.cnpj == EMITENTE_CNPJ
    assert evento.cancela
    assert document.assinado


def test_a_proc_evento_whose_answer_is_for_another_key_is_refused() -> None:
    ide = Ide()

    with pytest.raises(KeyMismatchError):
        parse_document(proc_evento(ide.chave(), ret_chave=ide.but(nnf="7").chave()))


def test_a_res_nfe_summary_is_read_with_its_csitnfe() -> None:
    ide = Ide()

    nota = read_nota(res_nfe(ide, c_sit_nfe=1))
    cancelled = read_nota(res_nfe(ide, c_sit_nfe=3))
    denied = read_nota(res_nfe(ide, c_sit_nfe=2))

    assert nota.tipo is TipoDocumento.RES_NFE
    assert (nota.serie, nota.numero, nota.modelo) == (1, 1234, Modelo.NFE)
    assert nota.v_nf == Decimal("1000.00")
    assert nota.itens == ()
    assert nota.situacao is Situacao.AUTORIZADA
    assert cancelled.situacao is Situacao.CANCELADA
    assert denied.situacao is Situacao.DENEGADA


def test_a_res_nfe_of_another_emitter_than_its_key_is_refused() -> None:
    data = res_nfe(Ide()).replace(
        f"<CNPJ>{EMITENTE_CNPJ}</CNPJ>".encode(), f"<CNPJ>{DEST_CNPJ}</CNPJ>".encode()
    )

    with pytest.raises(KeyMismatchError) as caught:
        parse_document(data)

    assert caught.value.campo == "o CNPJ/CPF do emitente"


def test_a_res_evento_of_cancellation_cancels() -> None:
    document = parse_document(res_evento(Ide().chave()))

    assert isinstance(document, EventoFiscal)
    assert document.tipo is TipoDocumento.RES_EVENTO
    assert document.evento.c_stat is None
    assert document.evento.cancela


def test_a_whole_proc_evento_embedded_in_nfe_proc_is_also_read() -> None:
    ide = Ide()
    inner = proc_evento(ide.chave()).decode()

    nota = read_nota(nfe_proc(ide, extra=inner))

    assert [e.tp_evento for e in nota.eventos] == ["110111"]
    assert nota.situacao is Situacao.CANCELADA


def test_the_protocol_environment_wins_over_the_note_and_the_difference_is_reported() -> None:
    data = nfe_proc().replace(
        b"<tpAmb>1</tpAmb><chNFe>", b"<tpAmb>2</tpAmb><chNFe>"
    )  # protocol from homologação on a note that says produção

    nota = read_nota(data)

    assert nota.tp_amb is Ambiente.HOMOLOGACAO
    assert "O tpAmb da nota (1) difere do protocolo (2): vale o do protocolo." in nota.avisos
    assert "Nota de homologação (tpAmb=2): sem valor fiscal." in nota.avisos


def test_a_note_of_an_alphanumeric_cnpj_emitter_is_read() -> None:
    cnpj = complete_cnpj("12ABC34501DE")
    ide = Ide(cnpj=cnpj)

    nota = read_nota(nfe_proc(ide))

    assert nota.emitente.cnpj == cnpj
    assert nota.chave.emitente == cnpj
    assert nota.avisos == ()


def test_an_emitter_cnpj_with_wrong_check_digits_is_read_with_a_warning() -> None:
    ide = Ide(cnpj="11222333000182")

    nota = read_nota(nfe_proc(ide))

    assert "O CNPJ/CPF do emitente tem dígitos verificadores inválidos." in nota.avisos
