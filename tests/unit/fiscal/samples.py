"""Synthetic NF-e/NFC-e XMLs for the tests: a consistent key, one field changed at a time.

Notes and events are really signed with the emitter's test certificate (see the fiscal_chat
factory), and the protocol carries the signature's digest as digVal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from domain.fiscal import NFE_NS, digito_verificador
from tests.unit.fiscal_chat.factory import signed as sign

EMITENTE_CNPJ = "11222333000181"
DEST_CNPJ = "45723174000110"


@dataclass(frozen=True)
class Ide:
    """The fields the key is made of, plus the emission date."""

    cuf: str = "35"
    dh_emi: str = "2026-10-15T10:30:00-03:00"
    cnpj: str = EMITENTE_CNPJ
    mod: str = "55"
    serie: str = "1"
    nnf: str = "1234"
    tp_emis: str = "1"
    cnf: str = "12345678"
    tp_amb: str = "1"  # not part of the key

    def chave(self) -> str:
        corpo = (
            f"{self.cuf}{self.dh_emi[2:4]}{self.dh_emi[5:7]}{self.cnpj.zfill(14)}{self.mod}"
            f"{self.serie.zfill(3)}{self.nnf.zfill(9)}{self.tp_emis}{self.cnf.zfill(8)}"
        )
        return corpo + digito_verificador(corpo)

    def but(self, **changes: str) -> Ide:
        return replace(self, **changes)


def nfe(
    ide: Ide = Ide(),
    *,
    chave: str | None = None,
    cdv: str | None = None,
    v_nf: str = "150.00",
    itens: tuple[tuple[str, str], ...] = (("5102", "100.00"), ("5405", "50.00")),
    dest: str | None = f"<dest><CNPJ>{DEST_CNPJ}</CNPJ><xNome>CLIENTE LTDA</xNome></dest>",
    emit_doc: str | None = None,
    signed: bool = True,
    date_tag: str = "dhEmi",
    versao: str = "4.00",
    xmlns: bool = True,
) -> str:
    """A `<NFe>` element whose key agrees with its fields unless told otherwise."""
    chave = chave or ide.chave()
    emit_doc = emit_doc or f"<CNPJ>{ide.cnpj}</CNPJ>"
    emitted = ide.dh_emi[:10] if date_tag == "dEmi" else ide.dh_emi
    dets = "".join(
        f'<det nItem="{n}"><prod><cProd>P{n}</cProd><xProd>Produto {n}</xProd>'
        f"<CFOP>{cfop}</CFOP><vProd>{v_prod}</vProd></prod></det>"
        for n, (cfop, v_prod) in enumerate(itens, start=1)
    )
    ns = f' xmlns="{NFE_NS}"' if xmlns else ""
    xml = (
        f'<NFe{ns}><infNFe Id="NFe{chave}" versao="{versao}"><ide>'
        f"<cUF>{ide.cuf}</cUF><cNF>{ide.cnf}</cNF><natOp>Venda</natOp><mod>{ide.mod}</mod>"
        f"<serie>{ide.serie}</serie><nNF>{ide.nnf}</nNF><{date_tag}>{emitted}</{date_tag}>"
        f"<tpNF>1</tpNF><tpEmis>{ide.tp_emis}</tpEmis><cDV>{cdv or chave[-1]}</cDV>"
        f"<tpAmb>{ide.tp_amb}</tpAmb></ide>"
        f"<emit>{emit_doc}<xNome>EMPRESA EMITENTE LTDA</xNome></emit>{dest or ''}{dets}"
        f"<total><ICMSTot><vProd>150.00</vProd><vNF>{v_nf}</vNF></ICMSTot></total>"
        f"</infNFe></NFe>"
    )
    if not signed:
        return xml
    if not xmlns:  # outside the namespace nothing gets as far as the signature check
        return xml.replace("</NFe>", f'<Signature xmlns="{DSIG_NS}"/></NFe>')
    signer = _EMITENTE_DOC.search(emit_doc)
    return sign(xml, signer.group(1) if signer else ide.cnpj)[0]


DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_DIGEST = re.compile(r"<DigestValue>([^<]+)</DigestValue>")
_EMITENTE_DOC = re.compile(r"<(?:CNPJ|CPF)>([0-9A-Z]+)</")


def prot(chave: str, c_stat: int = 100, dig_val: str | None = None, tp_amb: str = "1") -> str:
    digest = f"<digVal>{dig_val}</digVal>" if dig_val else ""
    return (
        f'<protNFe versao="4.00"><infProt><tpAmb>{tp_amb}</tpAmb><chNFe>{chave}</chNFe>'
        f"<dhRecbto>2026-10-15T10:31:00-03:00</dhRecbto><nProt>135260000000001</nProt>"
        f"{digest}<cStat>{c_stat}</cStat><xMotivo>Motivo</xMotivo></infProt></protNFe>"
    )


def ret_evento(chave: str, tp_evento: str = "110111", c_stat: int = 135) -> str:
    return (
        f'<retEvento versao="1.00"><infEvento><tpAmb>1</tpAmb><cOrgao>35</cOrgao>'
        f"<cStat>{c_stat}</cStat><xMotivo>Evento registrado</xMotivo><chNFe>{chave}</chNFe>"
        f"<tpEvento>{tp_evento}</tpEvento><nSeqEvento>1</nSeqEvento>"
        f"<dhRegEvento>2026-10-16T09:00:00-03:00</dhRegEvento><nProt>135260000000002</nProt>"
        f"</infEvento></retEvento>"
    )


def nfe_proc(
    ide: Ide = Ide(),
    *,
    c_stat: int | None = 100,
    prot_chave: str | None = None,
    extra: str = "",
    body: str | None = None,
) -> bytes:
    """An nfeProc: `body` (default `nfe(ide)`), its protocol (unless `c_stat` is None), `extra`."""
    chave = ide.chave()
    body = body if body is not None else nfe(ide)
    digest = _DIGEST.search(body)
    dig_val = digest.group(1) if digest else None
    protocol = prot(prot_chave or chave, c_stat, dig_val, ide.tp_amb) if c_stat is not None else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{NFE_NS}" versao="4.00">'
        f"{body}{protocol}{extra}</nfeProc>"
    ).encode()


def proc_evento(
    chave: str, tp_evento: str = "110111", c_stat: int = 135, ret_chave: str | None = None
) -> bytes:
    evento = (
        f'<evento xmlns="{NFE_NS}" versao="1.00">'
        f'<infEvento Id="ID{tp_evento}{chave}01"><cOrgao>35</cOrgao><tpAmb>1</tpAmb>'
        f"<CNPJ>{EMITENTE_CNPJ}</CNPJ><chNFe>{chave}</chNFe>"
        f"<dhEvento>2026-10-16T08:59:00-03:00</dhEvento><tpEvento>{tp_evento}</tpEvento>"
        f'<nSeqEvento>1</nSeqEvento><verEvento>1.00</verEvento><detEvento versao="1.00">'
        f"<descEvento>Cancelamento</descEvento><nProt>135260000000001</nProt>"
        f"<xJust>Erro na digitacao do pedido</xJust></detEvento></infEvento></evento>"
    )
    return (
        f'<procEventoNFe xmlns="{NFE_NS}" versao="1.00">{sign(evento, EMITENTE_CNPJ)[0]}'
        f"{ret_evento(ret_chave or chave, tp_evento, c_stat)}</procEventoNFe>"
    ).encode()


def res_nfe(ide: Ide = Ide(), c_sit_nfe: int = 1, v_nf: str = "1000.00") -> bytes:
    return (
        f'<resNFe xmlns="{NFE_NS}" versao="1.01"><chNFe>{ide.chave()}</chNFe>'
        f"<CNPJ>{ide.cnpj}</CNPJ><xNome>FORNECEDOR LTDA</xNome><IE>123</IE>"
        f"<dhEmi>{ide.dh_emi}</dhEmi><tpNF>1</tpNF><vNF>{v_nf}</vNF><digVal>abc=</digVal>"
        f"<dhRecbto>2026-10-15T10:31:00-03:00</dhRecbto><nProt>135260000000001</nProt>"
        f"<cSitNFe>{c_sit_nfe}</cSitNFe></resNFe>"
    ).encode()


def res_evento(chave: str, tp_evento: str = "110111") -> bytes:
    return (
        f'<resEvento xmlns="{NFE_NS}" versao="1.01"><cOrgao>35</cOrgao>'
        f"<CNPJ>{EMITENTE_CNPJ}</CNPJ><chNFe>{chave}</chNFe>"
        f"<dhEvento>2026-10-16T08:59:00-03:00</dhEvento><tpEvento>{tp_evento}</tpEvento>"
        f"<nSeqEvento>1</nSeqEvento><xEvento>Cancelamento</xEvento>"
        f"<dhRecbto>2026-10-16T09:00:00-03:00</dhRecbto><nProt>135260000000002</nProt>"
        f"</resEvento>"
    ).encode()
