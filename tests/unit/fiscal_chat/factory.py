"""Realistic NF-e/NFC-e XMLs for the chat-side tests and the ZIP benchmark: full nfeProc files
(addresses, items with taxes, payment, protocol) that a DANFE library can print, plus the
cancellation event of a note. Keys are consistent and their check digits valid.

Notes and events are really signed (XMLDSig, as the MOC prescribes) with an e-CNPJ certificate
of the emitter issued by the tests' CA, and the protocol's digVal is the signature's digest, so
they pass the ingest's integrity checks; `NotaSpec` can ask for each kind of defect.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from lxml import etree

from bot.demo_fiscal import PRODUTOS as DEMO_PRODUTOS
from bot.demo_fiscal import det_xml
from domain.fiscal import NFE_NS, digito_verificador
from domain.fiscal.signature import Assinante
from tests.unit.certificates.pfx_factory import Ecpf, holder_key, make_certificate

EMITENTE_CNPJ = "11222333000181"
DEST_CNPJ = "45723174000110"
CFOPS_NFE = ("5102", "5405", "6102", "5101", "6108")
CFOPS_NFCE = ("5102", "5405")
PRODUTOS = DEMO_PRODUTOS[:6]  # the notes' items cycle over these (golden files rely on it)


@dataclass(frozen=True)
class NotaSpec:
    numero: int
    dh_emi: datetime
    modelo: str = "55"
    serie: int = 1
    emitente_cnpj: str = EMITENTE_CNPJ
    emitente_nome: str = "ACME MATERIAIS DE CONSTRUCAO LTDA"
    dest_cnpj: str | None = DEST_CNPJ
    dest_nome: str = "CONSTRUTORA BOA OBRA LTDA"
    itens: tuple[tuple[str, Decimal], ...] = (
        ("5102", Decimal("100.00")),
        ("5405", Decimal("50.00")),
    )
    frete: Decimal = Decimal("0.00")
    tp_amb: int = 1
    cnf: int = 12345678
    c_uf: int = 35
    # defects on demand: unsigned, signed by another company, a protocol of another version
    assinada: bool = True
    assinante_cnpj: str | None = None
    dig_val: str | None = None

    def chave(self) -> str:
        aamm = self.dh_emi.strftime("%y%m")
        corpo = (
            f"{self.c_uf}{aamm}{self.emitente_cnpj.zfill(14)}{self.modelo}{self.serie:03d}"
            f"{self.numero:09d}1{self.cnf:08d}"
        )
        return corpo + digito_verificador(corpo)

    @property
    def v_prod(self) -> Decimal:
        return sum((v for _, v in self.itens), Decimal("0.00"))

    @property
    def v_nf(self) -> Decimal:
        return self.v_prod + self.frete


def _endereco(tag: str, fone: bool = True) -> str:
    return (
        f"<{tag}><xLgr>Avenida Paulista</xLgr><nro>1000</nro><xBairro>Bela Vista</xBairro>"
        f"<cMun>3550308</cMun><xMun>Sao Paulo</xMun><UF>SP</UF><CEP>01310100</CEP>"
        f"<cPais>1058</cPais><xPais>BRASIL</xPais>{'<fone>1133334444</fone>' if fone else ''}"
        f"</{tag}>"
    )


def _det(n: int, cfop: str, v_prod: Decimal) -> str:
    return det_xml(n, cfop, v_prod, PRODUTOS)


def nfe_proc_xml(spec: NotaSpec) -> bytes:
    """An authorized nfeProc (cStat 100) for `spec`."""
    chave = spec.chave()
    dh = spec.dh_emi.isoformat(timespec="seconds")
    dest = ""
    if spec.dest_cnpj:
        dest = (
            f"<dest><CNPJ>{spec.dest_cnpj}</CNPJ><xNome>{spec.dest_nome}</xNome>"
            f"{_endereco('enderDest', fone=False)}<indIEDest>9</indIEDest></dest>"
        )
    dets = "".join(_det(n, cfop, v) for n, (cfop, v) in enumerate(spec.itens, start=1))
    v_nf = spec.v_nf
    supl = ""
    if spec.modelo == "65":
        url = "https://www.homologacao.nfce.fazenda.sp.gov.br/qrcode"
        supl = (
            f"<infNFeSupl><qrCode><![CDATA[{url}?p={chave}|2|{spec.tp_amb}|1|ABC]]></qrCode>"
            f"<urlChave>https://www.nfce.fazenda.sp.gov.br/consulta</urlChave></infNFeSupl>"
        )
    recibo = (spec.dh_emi + timedelta(seconds=40)).isoformat(timespec="seconds")
    nfe = (
        f'<NFe xmlns="{NFE_NS}"><infNFe Id="NFe{chave}" versao="4.00"><ide><cUF>{spec.c_uf}</cUF>'
        f"<cNF>{spec.cnf:08d}</cNF><natOp>VENDA DE MERCADORIA</natOp><mod>{spec.modelo}</mod>"
        f"<serie>{spec.serie}</serie><nNF>{spec.numero}</nNF><dhEmi>{dh}</dhEmi>"
        f"<tpNF>1</tpNF><idDest>1</idDest><cMunFG>3550308</cMunFG>"
        f"<tpImp>{4 if spec.modelo == '65' else 1}</tpImp><tpEmis>1</tpEmis>"
        f"<cDV>{chave[-1]}</cDV><tpAmb>{spec.tp_amb}</tpAmb><finNFe>1</finNFe>"
        f"<indFinal>{1 if spec.modelo == '65' else 0}</indFinal><indPres>1</indPres>"
        f"<procEmi>0</procEmi><verProc>FazNota 3.2</verProc></ide>"
        f"<emit><CNPJ>{spec.emitente_cnpj}</CNPJ><xNome>{spec.emitente_nome}</xNome>"
        f"<xFant>ACME</xFant>{_endereco('enderEmit')}<IE>123456789110</IE><CRT>1</CRT></emit>"
        f"{dest}{dets}<total><ICMSTot><vBC>0.00</vBC><vICMS>0.00</vICMS>"
        f"<vICMSDeson>0.00</vICMSDeson><vFCP>0.00</vFCP><vBCST>0.00</vBCST><vST>0.00</vST>"
        f"<vFCPST>0.00</vFCPST><vFCPSTRet>0.00</vFCPSTRet><vProd>{spec.v_prod:.2f}</vProd>"
        f"<vFrete>{spec.frete:.2f}</vFrete><vSeg>0.00</vSeg><vDesc>0.00</vDesc><vII>0.00</vII>"
        f"<vIPI>0.00</vIPI><vIPIDevol>0.00</vIPIDevol><vPIS>0.00</vPIS><vCOFINS>0.00</vCOFINS>"
        f"<vOutro>0.00</vOutro><vNF>{v_nf:.2f}</vNF></ICMSTot></total>"
        f"<transp><modFrete>{0 if spec.frete else 9}</modFrete></transp>"
        f"<pag><detPag><tPag>01</tPag><vPag>{v_nf:.2f}</vPag></detPag></pag>"
        f"<infAdic><infCpl>Documento emitido por ME ou EPP optante pelo Simples Nacional."
        f"</infCpl></infAdic></infNFe>{supl}</NFe>"
    )
    nfe, digest = signed(nfe, spec.assinante_cnpj or spec.emitente_cnpj, spec.assinada)
    prot = (
        f'<protNFe versao="4.00"><infProt><tpAmb>{spec.tp_amb}</tpAmb>'
        f"<verAplic>SP_NFE_PL009_V4</verAplic><chNFe>{chave}</chNFe>"
        f"<dhRecbto>{recibo}</dhRecbto><nProt>1352600{spec.numero:08d}</nProt>"
        f"<digVal>{spec.dig_val or digest}</digVal><cStat>100</cStat>"
        f"<xMotivo>Autorizado o uso da NF-e</xMotivo></infProt></protNFe>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{NFE_NS}" versao="4.00">'
        f"{nfe}{prot}</nfeProc>"
    ).encode()


@functools.cache
def assinante(documento: str) -> Assinante:
    """A signer holding an e-CNPJ of `documento` (an e-CPF for 11 digits), valid 2015–2040 so
    that any test date is inside."""
    start, end = datetime(2015, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    if len(documento) == 11:
        certificate = make_certificate(
            cnpj=None,
            common_name=f"PRODUTOR DE TESTE:{documento}",
            ecpf=Ecpf(date(1970, 1, 1), documento),
            not_before=start,
            not_after=end,
        )
    else:
        certificate = make_certificate(
            cnpj=documento,
            common_name=f"EMPRESA DE TESTE LTDA:{documento}",
            not_before=start,
            not_after=end,
        )
    key_pem = holder_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Assinante(key_pem, certificate.public_bytes(serialization.Encoding.PEM))


def signed(xml: str, documento: str, assinar: bool = True) -> tuple[str, str]:
    """`xml` (an NFe or evento) with its enveloped signature, and the signature's digest."""
    if not assinar:
        return xml, "AAAA"
    container = etree.fromstring(xml.encode())  # NFe / evento; its first child is signed
    digest = assinante(documento).assinar(container, container[0])
    return etree.tostring(container, encoding="unicode"), digest


def cancelamento_xml(
    spec: NotaSpec, when: datetime | None = None, *, desc_evento: str = "Cancelamento"
) -> bytes:
    """The registered cancellation event (procEventoNFe 110111, cStat 135) of `spec`."""
    chave = spec.chave()
    moment = (when or spec.dh_emi + timedelta(hours=2)).isoformat(timespec="seconds")
    evento = (
        f'<evento xmlns="{NFE_NS}" versao="1.00"><infEvento Id="ID110111{chave}01">'
        f"<cOrgao>{spec.c_uf}</cOrgao>"
        f"<tpAmb>{spec.tp_amb}</tpAmb><CNPJ>{spec.emitente_cnpj}</CNPJ><chNFe>{chave}</chNFe>"
        f"<dhEvento>{moment}</dhEvento><tpEvento>110111</tpEvento><nSeqEvento>1</nSeqEvento>"
        f'<verEvento>1.00</verEvento><detEvento versao="1.00"><descEvento>{desc_evento}'
        f"</descEvento><nProt>1352600{spec.numero:08d}</nProt>"
        f"<xJust>Erro na digitacao do pedido do cliente</xJust></detEvento></infEvento>"
        f"</evento>"
    )
    evento, _ = signed(evento, spec.assinante_cnpj or spec.emitente_cnpj, spec.assinada)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><procEventoNFe xmlns="{NFE_NS}" versao="1.00">'
        f"{evento}"
        f'<retEvento versao="1.00"><infEvento><tpAmb>{spec.tp_amb}</tpAmb>'
        f"<verAplic>SP_EVENTOS_PL_100</verAplic><cOrgao>35</cOrgao><cStat>135</cStat>"
        f"<xMotivo>Evento registrado e vinculado a NF-e</xMotivo><chNFe>{chave}</chNFe>"
        f"<tpEvento>110111</tpEvento><xEvento>Cancelamento registrado</xEvento>"
        f"<nSeqEvento>1</nSeqEvento><dhRegEvento>{moment}</dhRegEvento>"
        f"<nProt>1352600{spec.numero + 50_000_000:08d}</nProt></infEvento></retEvento>"
        f"</procEventoNFe>"
    ).encode()


def month_specs(
    count: int,
    *,
    year: int = 2026,
    month: int = 10,
    modelo: str = "55",
    seed: int = 7,
    emitente_cnpj: str = EMITENTE_CNPJ,
    dest_cnpj: str | None = DEST_CNPJ,
    tz: object = None,
) -> list[NotaSpec]:
    """`count` varied notes spread over the month (1 to 6 items, mixed CFOPs, some freight)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/Sao_Paulo")
    rng = random.Random(seed)
    cfops = CFOPS_NFE if modelo == "55" else CFOPS_NFCE
    specs = []
    for n in range(1, count + 1):
        day = 1 + (n * 7) % 28
        moment = datetime(year, month, day, 8 + n % 10, n % 60, n % 59, tzinfo=zone)
        itens = tuple(
            (rng.choice(cfops), Decimal(rng.randint(500, 250_000)) / 100)
            for _ in range(rng.randint(1, 6))
        )
        frete = Decimal(rng.choice((0, 0, 0, 1500))) / 100
        specs.append(
            NotaSpec(
                numero=n,
                dh_emi=moment,
                modelo=modelo,
                emitente_cnpj=emitente_cnpj,
                dest_cnpj=dest_cnpj if modelo == "55" else None,
                itens=itens,
                frete=frete,
                cnf=rng.randint(10_000_000, 99_999_999),
            )
        )
    return specs
