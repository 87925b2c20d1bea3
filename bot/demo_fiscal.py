"""Fiscal material for the demo office, made at demo time and genuinely signed.

A demo CA issues an e-CNPJ (shaped like ICP-Brasil's: the CNPJ in SubjectAltName otherName
2.16.76.1.3.3) to each company; NF-e/NFC-e (`nfeProc`, authorized, production environment) and
their cancellation events are signed with it the MOC way (`Assinante`), and the protocol's
`digVal` is the signature's digest. So the demo's notes pass every check of the ingest, like a
real emitter's. Two RSA keys are generated per run (the CA's and one shared by every holder):
key generation is the slow part, and the ingest does not check whose key it is, only the
certificate's CNPJ and validity.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree

from domain.fiscal import NFE_NS, digito_verificador
from domain.fiscal.signature import Assinante

OID_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")
CA_NAME = "AC DEMONSTRACAO REVENDABOT"

# IBGE codes of the demo's cities: the state (cUF, key positions 1-2) and the municipality.
CIDADES = {
    "São Paulo": ("SP", 35, 3550308),
    "Campinas": ("SP", 35, 3509502),
    "Belo Horizonte": ("MG", 31, 3106200),
    "Curitiba": ("PR", 41, 4106902),
    "Porto Alegre": ("RS", 43, 4314902),
    "Salvador": ("BA", 29, 2927408),
    "Recife": ("PE", 26, 2611606),
    "Goiânia": ("GO", 52, 5208707),
}
PRODUTOS = (
    ("Parafuso sextavado 8mm", "73181500", "UN"),
    ("Cimento CP-II 50kg", "25232910", "SC"),
    ("Tinta acrílica branca 18L", "32091010", "LT"),
    ("Cabo flexível 2,5mm 100m", "85444200", "RL"),
    ("Luva de vaqueta", "42032900", "PR"),
    ("Disjuntor bipolar 32A", "85362000", "UN"),
    ("Café torrado 500g", "09012100", "PC"),
    ("Água mineral 1,5L", "22011000", "UN"),
)


@dataclass(frozen=True, slots=True)
class Empresa:
    """A company on a note: emitter, recipient or supplier."""

    cnpj: str
    nome: str
    cidade: str = "São Paulo"

    @property
    def uf(self) -> str:
        return CIDADES[self.cidade][0]

    @property
    def c_uf(self) -> int:
        return CIDADES[self.cidade][1]

    @property
    def c_mun(self) -> int:
        return CIDADES[self.cidade][2]


@dataclass(frozen=True, slots=True)
class Nota:
    """One NF-e (55) or NFC-e (65); `itens` are (CFOP, value) pairs."""

    emitente: Empresa
    destinatario: Empresa | None
    modelo: str
    numero: int
    dh_emi: datetime
    cnf: int
    itens: tuple[tuple[str, Decimal], ...]
    serie: int = 1

    def chave(self) -> str:
        corpo = (
            f"{self.emitente.c_uf}{self.dh_emi:%y%m}{self.emitente.cnpj}{self.modelo}"
            f"{self.serie:03d}{self.numero:09d}1{self.cnf:08d}"
        )
        return corpo + digito_verificador(corpo)

    @property
    def v_nf(self) -> Decimal:
        return sum((valor for _, valor in self.itens), Decimal("0.00"))


class DemoPki:
    """The demo CA and the e-CNPJ certificates it issues (the keys are made once per run)."""

    def __init__(self) -> None:
        self._ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._holder_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        self._ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        self._key_pem = self._holder_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def e_cnpj(
        self, empresa: Empresa, not_before: datetime, not_after: datetime
    ) -> x509.Certificate:
        """An e-CNPJ of `empresa` valid from `not_before` to `not_after`."""
        cnpj_name = x509.OtherName(OID_CNPJ, _octet_string(empresa.cnpj))
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil (demonstração)"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"{_ascii_upper(empresa.nome)}:{empresa.cnpj}"
                ),
            ]
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._ca.subject)
            .public_key(self._holder_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([cnpj_name]), critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )

    def pfx(self, certificate: x509.Certificate, password: str) -> bytes:
        """The A1 file (.pfx) of the certificate, its key and the CA, under `password`."""
        return pkcs12.serialize_key_and_certificates(
            b"certificado",
            self._holder_key,
            certificate,
            [self._ca],
            # AES-256 as today's A1 files, with the 2048 PBKDF2 rounds CAs use (not the
            # library's default of many more): the demo opens each file twice when storing it.
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(password.encode()),
        )

    def assinante(self, certificate: x509.Certificate) -> Assinante:
        return _assinante(self._key_pem, certificate.public_bytes(serialization.Encoding.PEM))


@functools.lru_cache(maxsize=64)
def _assinante(key_pem: bytes, certificate_pem: bytes) -> Assinante:
    return Assinante(key_pem, certificate_pem)


def _octet_string(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([0x04, len(raw)]) + raw


def _ascii_upper(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.upper()


def _sign(xml: str, assinante: Assinante) -> tuple[str, str]:
    container = etree.fromstring(xml.encode())  # NFe / evento: its first child is signed
    digest = assinante.assinar(container, container[0])
    return etree.tostring(container, encoding="unicode"), digest


def _endereco(tag: str, empresa: Empresa) -> str:
    return (
        f"<{tag}><xLgr>Rua das Flores</xLgr><nro>100</nro><xBairro>Centro</xBairro>"
        f"<cMun>{empresa.c_mun}</cMun><xMun>{empresa.cidade}</xMun><UF>{empresa.uf}</UF>"
        f"<CEP>01310100</CEP><cPais>1058</cPais><xPais>BRASIL</xPais></{tag}>"
    )


def det_xml(
    n: int, cfop: str, valor: Decimal, produtos: tuple[tuple[str, str, str], ...] = PRODUTOS
) -> str:
    """Item `n` of a note as an NF-e `det` (product from `produtos`, Simples Nacional taxes),
    complete enough for a DANFE library to print."""
    x_prod, ncm, unidade = produtos[n % len(produtos)]
    quantidade = Decimal(1 + n % 4)
    unitario = (valor / quantidade).quantize(Decimal("0.0000000001"))
    return (
        f'<det nItem="{n}"><prod><cProd>P{n:04d}</cProd><cEAN>SEM GTIN</cEAN>'
        f"<xProd>{x_prod}</xProd><NCM>{ncm}</NCM><CFOP>{cfop}</CFOP><uCom>{unidade}</uCom>"
        f"<qCom>{quantidade:.4f}</qCom><vUnCom>{unitario}</vUnCom><vProd>{valor:.2f}</vProd>"
        f"<cEANTrib>SEM GTIN</cEANTrib><uTrib>{unidade}</uTrib><qTrib>{quantidade:.4f}</qTrib>"
        f"<vUnTrib>{unitario}</vUnTrib><indTot>1</indTot></prod>"
        f"<imposto><vTotTrib>0.00</vTotTrib><ICMS><ICMSSN102><orig>0</orig><CSOSN>102</CSOSN>"
        f"</ICMSSN102></ICMS><PIS><PISNT><CST>07</CST></PISNT></PIS>"
        f"<COFINS><COFINSNT><CST>07</CST></COFINSNT></COFINS></imposto></det>"
    )


def nfe_proc(nota: Nota, assinante: Assinante) -> bytes:
    """The authorized nfeProc (cStat 100) of `nota`, signed by `assinante`."""
    chave = nota.chave()
    emit = nota.emitente
    nfce = nota.modelo == "65"
    dest = ""
    if nota.destinatario is not None:
        dest = (
            f"<dest><CNPJ>{nota.destinatario.cnpj}</CNPJ>"
            f"<xNome>{nota.destinatario.nome}</xNome>"
            f"{_endereco('enderDest', nota.destinatario)}<indIEDest>9</indIEDest></dest>"
        )
    dets = "".join(det_xml(n, cfop, valor) for n, (cfop, valor) in enumerate(nota.itens, start=1))
    v_nf = nota.v_nf
    supl = ""
    if nfce:
        supl = (
            f"<infNFeSupl><qrCode><![CDATA[https://www.nfce.fazenda.sp.gov.br/qrcode?p="
            f"{chave}|2|1|1|ABC]]></qrCode>"
            f"<urlChave>https://www.nfce.fazenda.sp.gov.br/consulta</urlChave></infNFeSupl>"
        )
    nfe = (
        f'<NFe xmlns="{NFE_NS}"><infNFe Id="NFe{chave}" versao="4.00"><ide>'
        f"<cUF>{emit.c_uf}</cUF><cNF>{nota.cnf:08d}</cNF><natOp>VENDA DE MERCADORIA</natOp>"
        f"<mod>{nota.modelo}</mod><serie>{nota.serie}</serie><nNF>{nota.numero}</nNF>"
        f"<dhEmi>{nota.dh_emi.isoformat(timespec='seconds')}</dhEmi><tpNF>1</tpNF>"
        f"<idDest>1</idDest><cMunFG>{emit.c_mun}</cMunFG><tpImp>{4 if nfce else 1}</tpImp>"
        f"<tpEmis>1</tpEmis><cDV>{chave[-1]}</cDV><tpAmb>1</tpAmb><finNFe>1</finNFe>"
        f"<indFinal>{1 if nfce else 0}</indFinal><indPres>1</indPres><procEmi>0</procEmi>"
        f"<verProc>FazNota 3.2</verProc></ide>"
        f"<emit><CNPJ>{emit.cnpj}</CNPJ><xNome>{emit.nome}</xNome>"
        f"{_endereco('enderEmit', emit)}<IE>123456789110</IE><CRT>1</CRT></emit>"
        f"{dest}{dets}<total><ICMSTot><vBC>0.00</vBC><vICMS>0.00</vICMS>"
        f"<vICMSDeson>0.00</vICMSDeson><vFCP>0.00</vFCP><vBCST>0.00</vBCST><vST>0.00</vST>"
        f"<vFCPST>0.00</vFCPST><vFCPSTRet>0.00</vFCPSTRet><vProd>{v_nf:.2f}</vProd>"
        f"<vFrete>0.00</vFrete><vSeg>0.00</vSeg><vDesc>0.00</vDesc><vII>0.00</vII>"
        f"<vIPI>0.00</vIPI><vIPIDevol>0.00</vIPIDevol><vPIS>0.00</vPIS><vCOFINS>0.00</vCOFINS>"
        f"<vOutro>0.00</vOutro><vNF>{v_nf:.2f}</vNF></ICMSTot></total>"
        f"<transp><modFrete>9</modFrete></transp>"
        f"<pag><detPag><tPag>{'01' if nfce else '15'}</tPag><vPag>{v_nf:.2f}</vPag></detPag>"
        f"</pag><infAdic><infCpl>Documento emitido por ME ou EPP optante pelo Simples "
        f"Nacional.</infCpl></infAdic></infNFe>{supl}</NFe>"
    )
    nfe, digest = _sign(nfe, assinante)
    recibo = (nota.dh_emi + timedelta(seconds=40)).isoformat(timespec="seconds")
    prot = (
        f'<protNFe versao="4.00"><infProt><tpAmb>1</tpAmb><verAplic>SP_NFE_PL009_V4</verAplic>'
        f"<chNFe>{chave}</chNFe><dhRecbto>{recibo}</dhRecbto>"
        f"<nProt>1{emit.c_uf}{nota.dh_emi:%y}{nota.cnf:010d}</nProt><digVal>{digest}</digVal>"
        f"<cStat>100</cStat><xMotivo>Autorizado o uso da NF-e</xMotivo></infProt></protNFe>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{NFE_NS}" versao="4.00">'
        f"{nfe}{prot}</nfeProc>"
    ).encode()


def cancelamento(nota: Nota, quando: datetime, assinante: Assinante) -> bytes:
    """The registered cancellation (procEventoNFe 110111, cStat 135) of `nota` at `quando`."""
    chave = nota.chave()
    emit = nota.emitente
    momento = quando.isoformat(timespec="seconds")
    n_prot = f"1{emit.c_uf}{nota.dh_emi:%y}{nota.cnf:010d}"
    evento = (
        f'<evento xmlns="{NFE_NS}" versao="1.00"><infEvento Id="ID110111{chave}01">'
        f"<cOrgao>{emit.c_uf}</cOrgao><tpAmb>1</tpAmb><CNPJ>{emit.cnpj}</CNPJ>"
        f"<chNFe>{chave}</chNFe><dhEvento>{momento}</dhEvento><tpEvento>110111</tpEvento>"
        f'<nSeqEvento>1</nSeqEvento><verEvento>1.00</verEvento><detEvento versao="1.00">'
        f"<descEvento>Cancelamento</descEvento><nProt>{n_prot}</nProt>"
        f"<xJust>Pedido cancelado pelo cliente antes da entrega</xJust></detEvento>"
        f"</infEvento></evento>"
    )
    evento, _ = _sign(evento, assinante)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><procEventoNFe xmlns="{NFE_NS}" versao="1.00">'
        f'{evento}<retEvento versao="1.00"><infEvento><tpAmb>1</tpAmb>'
        f"<verAplic>SP_EVENTOS_PL_100</verAplic><cOrgao>{emit.c_uf}</cOrgao><cStat>135</cStat>"
        f"<xMotivo>Evento registrado e vinculado a NF-e</xMotivo><chNFe>{chave}</chNFe>"
        f"<tpEvento>110111</tpEvento><xEvento>Cancelamento registrado</xEvento>"
        f"<nSeqEvento>1</nSeqEvento><dhRegEvento>{momento}</dhRegEvento>"
        f"<nProt>2{emit.c_uf}{nota.dh_emi:%y}{nota.cnf:010d}</nProt></infEvento></retEvento>"
        f"</procEventoNFe>"
    ).encode()
