"""The one reader of NF-e/NFC-e XML: nfeProc, bare NFe, procEventoNFe, resNFe and resEvento.

The bytes are loaded by `safe_xml` (size cap, no DTD/entities/network); then the root decides
the reader, and the access key is checked against the document's own fields. Every refusal is a
`FiscalDocumentError` with a pt-BR message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from functools import lru_cache

from lxml import etree

from domain.documents import normalize, parse_tax_id
from domain.errors import InvalidValue
from domain.fiscal.chave import ChaveAcesso, parse_chave
from domain.fiscal.errors import (
    InvalidFieldError,
    KeyMismatchError,
    UnsupportedDocumentError,
    WrongNamespaceError,
)
from domain.fiscal.fields import (
    BRASILIA,
    NFE_NS,
    SIGNATURE,
    ambiente,
    decimal,
    integer,
    ns_path,
    optional_datetime,
    parse_datetime,
    required,
    required_element,
    required_integer,
    text,
    zfill_digits,
)
from domain.fiscal.model import (
    Ambiente,
    DocumentoFiscal,
    Evento,
    EventoFiscal,
    Item,
    Modelo,
    NotaFiscal,
    Participante,
    Protocolo,
    TipoDocumento,
)
from domain.fiscal.safe_xml import MAX_XML_BYTES, load_xml
from domain.fiscal.signature import Assinatura, problema_do_signatario, recusada, verificar

__all__ = ["MAX_XML_BYTES", "NFE_NS", "parse_document", "read_document"]

_SOAP_NAMESPACES = frozenset(
    {"http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"}
)
_OTHER_ROOTS = {
    "enviNFe": "um lote de envio de NF-e (enviNFe), ainda sem a autorização da SEFAZ",
    "retEnviNFe": "o recibo de um lote enviado à SEFAZ (retEnviNFe)",
    "retConsReciNFe": "o retorno de uma consulta de recibo (retConsReciNFe)",
    "consSitNFe": "um pedido de consulta de situação (consSitNFe)",
    "retConsSitNFe": "o retorno de uma consulta de situação (retConsSitNFe)",
    "evento": "um pedido de evento sem o retorno da SEFAZ (evento, e não procEventoNFe)",
    "envEvento": "um lote de envio de eventos (envEvento), sem o retorno da SEFAZ",
    "retEnvEvento": "o retorno de um lote de eventos (retEnvEvento)",
    "inutNFe": "um pedido de inutilização de numeração (inutNFe)",
    "procInutNFe": "uma inutilização de numeração (procInutNFe)",
    "distDFeInt": "um pedido de distribuição de documentos (distDFeInt)",
    "retDistDFeInt": "uma resposta da distribuição de documentos (retDistDFeInt), que traz as "
    "notas compactadas dentro dela",
}


def parse_document(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> DocumentoFiscal:
    """Read one fiscal XML; raise a `FiscalDocumentError` saying why when it cannot be accepted."""
    return read_document(load_xml(data, max_bytes))


def read_document(root: etree._Element) -> DocumentoFiscal:
    """`parse_document` of a tree already loaded by `safe_xml.load_xml` (parsed once, when the
    caller also validates it against the XSD)."""
    qname = etree.QName(root)
    reader = _READERS.get(qname.localname)
    if qname.namespace != NFE_NS:
        if reader is not None:
            raise WrongNamespaceError(qname.localname, qname.namespace)
        raise UnsupportedDocumentError(qname.localname, _describe(qname))
    if reader is None:
        raise UnsupportedDocumentError(qname.localname, _describe(qname))
    return reader(root)


def _describe(qname: etree.QName) -> str:
    if qname.namespace in _SOAP_NAMESPACES or qname.localname == "Envelope":
        return "uma mensagem de web service (envelope SOAP)"
    if qname.namespace and qname.namespace.startswith(f"{NFE_NS}/wsdl"):
        return f"uma mensagem de web service da SEFAZ ({qname.localname})"
    return _OTHER_ROOTS.get(qname.localname, f"um XML <{qname.localname}>")


# --- nota ---------------------------------------------------------------------------------


def _read_nfe_proc(root: etree._Element) -> NotaFiscal:
    return _read_nfe(required_element(root, "NFe"), proc=root)


def _read_bare_nfe(root: etree._Element) -> NotaFiscal:
    return _read_nfe(root, proc=None)


def _read_nfe(nfe: etree._Element, proc: etree._Element | None) -> NotaFiscal:
    inf = required_element(nfe, "infNFe")
    ide = required_element(inf, "ide")
    id_attr = (inf.get("Id") or "").strip()
    if not id_attr:
        raise InvalidFieldError("infNFe/@Id", "(a chave de acesso) está vazio")
    chave = parse_chave(id_attr.removeprefix("NFe"))
    mod = required(ide, "mod")
    dh_emi = _dh_emi(ide)
    emitente = _participante(required_element(inf, "emit"))
    if emitente.cnpj is None and emitente.cpf is None:
        raise InvalidFieldError("emit/CNPJ", "(ou CPF) do emitente está ausente")
    _check_matches(
        chave,
        [
            ("cUF", required(ide, "cUF"), chave.cuf),
            ("o mês de dhEmi (AAMM)", f"{dh_emi:%y%m}", chave.aamm),
            ("o CNPJ/CPF do emitente", _emitente_na_chave(emitente), chave.emitente),
            ("mod", mod, chave.modelo),
            ("serie", zfill_digits(required(ide, "serie"), 3), chave.serie),
            ("nNF", zfill_digits(required(ide, "nNF"), 9), chave.numero),
            ("tpEmis", required(ide, "tpEmis"), chave.tp_emis),
            ("cNF", zfill_digits(required(ide, "cNF"), 8), chave.cnf),
            ("cDV", required(ide, "cDV"), chave.cdv),
        ],
    )
    inf_prot = proc.find(ns_path("protNFe/infProt")) if proc is not None else None
    protocolo = None
    if inf_prot is not None:
        _check_matches(chave, [("chNFe do protocolo", text(inf_prot, "chNFe"), chave.valor)])
        protocolo = _protocolo(inf_prot)
    embedded = list(_embedded_events(proc, chave)) if proc is not None else []
    eventos = tuple(evento for evento, _ in embedded)
    assinatura = _note_signature(nfe, inf, emitente, dh_emi, protocolo)
    for _, assinatura_evento in embedded:
        if assinatura.valida and assinatura_evento is not None and not assinatura_evento.valida:
            assinatura = recusada(
                assinatura_evento.codigo,
                f"no evento anexado ao nfeProc, {assinatura_evento.problema}",
            )
    dest = inf.find(ns_path("dest"))
    # SEFAZ's answer says where the note was really authorized (edited copies disagree).
    tp_amb_ide = ambiente(ide)
    tp_amb = protocolo.tp_amb if protocolo and protocolo.tp_amb else tp_amb_ide
    signed = nfe.find(SIGNATURE) is not None
    return NotaFiscal(
        tipo=TipoDocumento.NFE_PROC if proc is not None else TipoDocumento.NFE,
        chave=chave,
        modelo=Modelo(mod),
        serie=int(chave.serie),
        numero=int(chave.numero),
        dh_emi=dh_emi,
        emitente=emitente,
        destinatario=_participante(dest) if dest is not None else None,
        v_nf=decimal(inf, "total/ICMSTot/vNF"),
        tp_amb=tp_amb,
        protocolo=protocolo,
        eventos=eventos,
        itens=tuple(_item(det) for det in inf.iterfind(ns_path("det"))),
        assinado=signed,
        versao=inf.get("versao"),
        avisos=_avisos(emitente, tp_amb, tp_amb_ide, protocolo, signed),
        assinatura=assinatura,
    )


def _note_signature(
    nfe: etree._Element,
    inf: etree._Element,
    emitente: Participante,
    dh_emi: datetime,
    protocolo: Protocolo | None,
) -> Assinatura:
    """The note's signature, its signer (the emitter, valid at dhEmi) and the protocol's digVal."""
    assinatura = problema_do_signatario(
        verificar(nfe, inf), documento=emitente.documento, quando=dh_emi, papel="a nota"
    )
    if not assinatura.valida or protocolo is None:
        return assinatura
    if protocolo.dig_val is None:
        return recusada(
            "protocolo_sem_digval",
            "o protocolo de autorização não traz o digVal, que liga o protocolo a esta versão "
            "da nota. Baixe de novo o XML autorizado (nfeProc) no emissor.",
        )
    if protocolo.dig_val != assinatura.digest_value:
        return recusada(
            "protocolo_de_outra_versao",
            "o protocolo de autorização é de outra versão da nota: o digVal do protocolo não "
            "confere com a assinatura do XML. Baixe de novo o XML autorizado (nfeProc) no "
            "emissor.",
        )
    return assinatura


def _embedded_events(
    proc: etree._Element, chave: ChaveAcesso
) -> Iterator[tuple[Evento, Assinatura | None]]:
    """Events some ERPs write inside nfeProc (non-standard): retEvento or a whole procEventoNFe.

    A bare retEvento is SEFAZ's answer and carries no signature of the emitter; an embedded
    procEventoNFe does, and it is checked like one sent on its own.
    """
    for ret in proc.iterfind(ns_path("retEvento/infEvento")):
        _check_matches(chave, [("chNFe do evento anexado", text(ret, "chNFe"), chave.valor)])
        yield _evento_from_ret(ret, chave), None
    for inner in proc.iterfind(ns_path("procEventoNFe")):
        lido = _read_proc_evento(inner)
        _check_matches(chave, [("chNFe do evento anexado", lido.evento.chave.valor, chave.valor)])
        yield lido.evento, lido.assinatura


def _read_res_nfe(root: etree._Element) -> NotaFiscal:
    chave = parse_chave(required(root, "chNFe"))
    emitente = _participante(root)
    dh_emi = parse_datetime(required(root, "dhEmi"), "dhEmi")
    _check_matches(
        chave,
        [
            ("o mês de dhEmi (AAMM)", f"{dh_emi:%y%m}", chave.aamm),
            ("o CNPJ/CPF do emitente", _emitente_na_chave(emitente), chave.emitente),
        ],
    )
    c_sit = integer(root, "cSitNFe")
    return NotaFiscal(
        tipo=TipoDocumento.RES_NFE,
        chave=chave,
        modelo=Modelo(chave.modelo),
        serie=int(chave.serie),
        numero=int(chave.numero),
        dh_emi=dh_emi,
        emitente=emitente,
        destinatario=None,
        v_nf=decimal(root, "vNF"),
        tp_amb=None,
        protocolo=Protocolo(
            c_stat=None, n_prot=text(root, "nProt"), dh_recbto=optional_datetime(root, "dhRecbto")
        ),
        c_sit_nfe=c_sit,
        versao=root.get("versao"),
    )


# --- eventos ------------------------------------------------------------------------------


def _read_proc_evento(root: etree._Element) -> EventoFiscal:
    evento_el = required_element(root, "evento")
    inf = required_element(evento_el, "infEvento")
    chave = parse_chave(required(inf, "chNFe"))
    tp_evento = required(inf, "tpEvento")
    ret = root.find(ns_path("retEvento/infEvento"))
    answer = _evento_from_ret(ret, chave) if ret is not None else None
    if ret is not None:
        _check_matches(
            chave,
            [
                ("chNFe do retEvento", text(ret, "chNFe") or chave.valor, chave.valor),
                ("tpEvento do retEvento", text(ret, "tpEvento") or tp_evento, tp_evento),
            ],
        )
    evento = Evento(
        chave=chave,
        tp_evento=tp_evento,
        n_seq_evento=integer(inf, "nSeqEvento"),
        dh_evento=optional_datetime(inf, "dhEvento"),
        descricao=text(inf, "detEvento/descEvento"),
        autor=_participante(inf),
        c_stat=answer.c_stat if answer else None,
        x_motivo=answer.x_motivo if answer else None,
        n_prot=answer.n_prot if answer else None,
        dh_reg_evento=answer.dh_reg_evento if answer else None,
        tp_amb=ambiente(inf),
    )
    return EventoFiscal(
        tipo=TipoDocumento.PROC_EVENTO_NFE,
        evento=evento,
        assinado=evento_el.find(SIGNATURE) is not None,
        assinatura=_event_signature(evento_el, inf, evento),
    )


def _event_signature(evento_el: etree._Element, inf: etree._Element, evento: Evento) -> Assinatura:
    """The event's signature, made by its author; a cancellation only by the note's emitter."""
    autor = evento.autor.documento if evento.autor else None
    if evento.cancela and autor is not None and autor[:8] != evento.chave.emitente[:8]:
        return recusada(
            "cancelamento_de_outro_cnpj",
            f"o cancelamento foi pedido por outro CNPJ/CPF ({autor}), e só quem emitiu a nota "
            "pode cancelá-la.",
        )
    quando = evento.dh_evento or evento.dh_reg_evento
    return problema_do_signatario(
        verificar(evento_el, inf), documento=autor, quando=quando, papel="o evento"
    )


def _evento_from_ret(ret: etree._Element, chave: ChaveAcesso) -> Evento:
    return Evento(
        chave=chave,
        tp_evento=required(ret, "tpEvento"),
        n_seq_evento=integer(ret, "nSeqEvento"),
        descricao=text(ret, "xEvento"),
        c_stat=required_integer(ret, "cStat"),
        x_motivo=text(ret, "xMotivo"),
        n_prot=text(ret, "nProt"),
        dh_reg_evento=optional_datetime(ret, "dhRegEvento"),
        tp_amb=ambiente(ret),
    )


def _read_res_evento(root: etree._Element) -> EventoFiscal:
    evento = Evento(
        chave=parse_chave(required(root, "chNFe")),
        tp_evento=required(root, "tpEvento"),
        n_seq_evento=integer(root, "nSeqEvento"),
        dh_evento=optional_datetime(root, "dhEvento"),
        descricao=text(root, "xEvento"),
        autor=_participante(root),
        n_prot=text(root, "nProt"),
        dh_reg_evento=optional_datetime(root, "dhRecbto"),
    )
    return EventoFiscal(tipo=TipoDocumento.RES_EVENTO, evento=evento)


_READERS: dict[str, Callable[[etree._Element], DocumentoFiscal]] = {
    "nfeProc": _read_nfe_proc,
    "NFe": _read_bare_nfe,
    "procEventoNFe": _read_proc_evento,
    "resNFe": _read_res_nfe,
    "resEvento": _read_res_evento,
}


# --- shared pieces ------------------------------------------------------------------------


def _check_matches(chave: ChaveAcesso, pairs: list[tuple[str, str | None, str]]) -> None:
    for campo, no_documento, na_chave in pairs:
        if no_documento != na_chave:
            raise KeyMismatchError(chave.valor, campo, no_documento or "", na_chave)


def _emitente_na_chave(emitente: Participante) -> str | None:
    if emitente.cnpj is not None:
        return emitente.cnpj
    return emitente.cpf.zfill(14) if emitente.cpf is not None else None


def _participante(el: etree._Element) -> Participante:
    cnpj, cpf = text(el, "CNPJ"), text(el, "CPF")
    return Participante(
        cnpj=normalize(cnpj) if cnpj else None,
        cpf=normalize(cpf) if cpf else None,
        id_estrangeiro=text(el, "idEstrangeiro"),
        x_nome=text(el, "xNome"),
    )


def _protocolo(inf_prot: etree._Element) -> Protocolo:
    return Protocolo(
        c_stat=required_integer(inf_prot, "cStat"),
        n_prot=text(inf_prot, "nProt"),
        dh_recbto=optional_datetime(inf_prot, "dhRecbto"),
        x_motivo=text(inf_prot, "xMotivo"),
        tp_amb=ambiente(inf_prot),
        dig_val=text(inf_prot, "digVal"),
    )


def _item(det: etree._Element) -> Item:
    prod = required_element(det, "prod")
    n_item = det.get("nItem") or ""
    return Item(
        n_item=int(n_item) if n_item.isdigit() and n_item.isascii() else 0,
        cfop=required(prod, "CFOP"),
        v_prod=decimal(prod, "vProd"),
        c_prod=text(prod, "cProd"),
        x_prod=text(prod, "xProd"),
    )


def _avisos(
    emitente: Participante,
    tp_amb: Ambiente | None,
    tp_amb_ide: Ambiente | None,
    protocolo: Protocolo | None,
    signed: bool,
) -> tuple[str, ...]:
    avisos = []
    if tp_amb is Ambiente.HOMOLOGACAO:
        avisos.append("Nota de homologação (tpAmb=2): sem valor fiscal.")
    if tp_amb is not None and tp_amb_ide is not None and tp_amb_ide is not tp_amb:
        avisos.append(
            f"O tpAmb da nota ({tp_amb_ide.value}) difere do protocolo ({tp_amb.value}): "
            "vale o do protocolo."
        )
    if protocolo is None:
        avisos.append(
            "Nota sem protocolo de autorização da SEFAZ: não entra nos relatórios."
            + ("" if signed else " Ela nem está assinada.")
        )
    elif not signed:
        avisos.append("A nota autorizada não traz a assinatura digital.")
    if not _check_digits_ok(emitente.cnpj or emitente.cpf or ""):
        avisos.append("O CNPJ/CPF do emitente tem dígitos verificadores inválidos.")
    return tuple(avisos)


@lru_cache(maxsize=1024)
def _check_digits_ok(documento: str) -> bool:
    """Cached: the thousands of notes of a client share one emitter (and the check is slow)."""
    try:
        parse_tax_id(documento)
    except InvalidValue:
        return False
    return True


def _dh_emi(ide: etree._Element) -> datetime:
    dh_emi = optional_datetime(ide, "dhEmi")
    if dh_emi is not None:
        return dh_emi
    d_emi = text(ide, "dEmi")  # layout 2.00: date only
    if d_emi is None:
        raise InvalidFieldError("ide/dhEmi", "(data de emissão) está ausente")
    try:
        return datetime.combine(date.fromisoformat(d_emi), time(), tzinfo=BRASILIA)
    except ValueError as exc:
        raise InvalidFieldError("ide/dEmi", f"tem uma data inválida: {d_emi!r}") from exc
