"""A local SEFAZ stand-in: HTTPS on 127.0.0.1 with its own CA, client certificate required.

It answers the three services the project calls, shaped like the real ones (SOAP envelope of
the request's version, `nfeDistDFeInteresseResponse/nfeDistDFeInteresseResult/retDistDFeInt`,
`nfeResultMsg/retEnvEvento`, `nfeResultMsg/retConsSitNFe`; docZip = base64 of gzip) and is
stateful enough to apply the distribution rules: pages of 50 in NSU order (138), 137 when
nothing is new, and 656 to a CNPJ that asks again within the hour after 137 / the last page
(or whenever `block` says so). Every request is recorded with the CNPJ of the client
certificate that made it, so tests can count calls per CNPJ.
"""

from __future__ import annotations

import base64
import copy
import gzip
import ipaddress
import ssl
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from domain.fiscal import NFE_NS
from domain.fiscal.signature import verificar as verificar_assinatura
from tests.unit.certificates.pfx_factory import test_ca

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL = "http://www.portalfiscal.inf.br/nfe/wsdl/"
_NS = {"n": NFE_NS}
PAGE = 50
OID_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class ServerPki:
    """The stand-in's own CA and its server certificate for 127.0.0.1, as PEM files."""

    folder: Path
    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    @classmethod
    def make(cls, folder: Path) -> ServerPki:
        now = datetime.now(UTC)
        ca_key = _key()
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SEFAZ STAND-IN TEST CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        server_key = _key()
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pki = cls(folder, folder / "ca.pem", folder / "server.pem", folder / "server.key")
        pki.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        pki.cert_pem.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        pki.key_pem.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pki


@dataclass
class Call:
    service: str  # distribuicao | evento | consulta
    cnpj_certificado: str | None
    cnpj_pedido: str | None
    body: bytes
    soap: str = SOAP11


@dataclass
class SefazState:
    """What the stand-in knows: documents per CNPJ and how it answers each key."""

    documentos: dict[str, list[tuple[str, bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # CNPJ → [(schema, xml)] in NSU order (NSU = index + 1)
    block: set[str] = field(default_factory=set)  # CNPJs answered 656 whatever they ask
    waiting_until: dict[str, datetime] = field(default_factory=dict)
    eventos: dict[str, tuple[str, str]] = field(default_factory=dict)  # chave → (cStat, xMotivo)
    notas: dict[str, tuple[str, str]] = field(default_factory=dict)  # chave → (cStat, xMotivo)
    # chave → CNPJs of its parties; when set, any other certificate is told 217 (not there)
    partes: dict[str, set[str]] = field(default_factory=dict)
    registrados: list[bytes] = field(default_factory=list)  # signed <evento> received
    # consChNFe: chave → the procNFe it hands out, or a rejection (cStat, xMotivo) for that key
    completos: dict[str, bytes] = field(default_factory=dict)
    recusas_chave: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def add(self, cnpj: str, schema: str, xml: bytes) -> None:
        self.documentos[cnpj].append((schema, xml))

    def count(self, service: str, cnpj: str | None = None) -> int:
        return sum(
            1
            for call in self.calls
            if call.service == service and (cnpj is None or call.cnpj_certificado == cnpj)
        )


def _cnpj_of(der: bytes | None) -> str | None:
    if not der:
        return None
    certificate = x509.load_der_x509_certificate(der)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    for other in san.value.get_values_for_type(x509.OtherName):
        if other.type_id == OID_CNPJ:
            return other.value[2:].decode("ascii", "replace")
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sock = self.connection
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        cnpj_cert = _cnpj_of(der)
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        soap = etree.QName(root).namespace or SOAP11
        state = self.server.state
        if (dist := root.find(".//n:distDFeInt", _NS)) is not None and (
            dist.find("n:consChNFe", _NS) is not None
        ):
            cnpj = dist.findtext("n:CNPJ", None, _NS)
            state.calls.append(Call("chave", cnpj_cert, cnpj, body, soap))
            inner = _por_chave(state, cnpj or "", dist)
            self._answer(soap, "NFeDistribuicaoDFe", "nfeDistDFeInteresseResponse", inner)
        elif (dist := root.find(".//n:distDFeInt", _NS)) is not None:
            cnpj = dist.findtext("n:CNPJ", None, _NS)
            state.calls.append(Call("distribuicao", cnpj_cert, cnpj, body, soap))
            inner = _dist(state, cnpj or "", dist)
            self._answer(soap, "NFeDistribuicaoDFe", "nfeDistDFeInteresseResponse", inner)
        elif (env := root.find(".//n:envEvento", _NS)) is not None:
            evento = env.find("n:evento", _NS)
            cnpj = evento.findtext("n:infEvento/n:CNPJ", None, _NS) if evento is not None else None
            state.calls.append(Call("evento", cnpj_cert, cnpj, body, soap))
            self._answer(soap, "NFeRecepcaoEvento4", "nfeResultMsg", _evento(state, env))
        elif (cons := root.find(".//n:consSitNFe", _NS)) is not None:
            state.calls.append(Call("consulta", cnpj_cert, None, body, soap))
            inner = _consulta(state, cons, cnpj_cert)
            self._answer(soap, "NFeConsultaProtocolo4", "nfeResultMsg", inner)
        else:
            self.send_response(400)
            self.end_headers()

    def _answer(self, soap: str, service: str, wrapper: str, inner: str) -> None:
        result = (
            f"<nfeDistDFeInteresseResult>{inner}</nfeDistDFeInteresseResult>"
            if wrapper == "nfeDistDFeInteresseResponse"
            else inner
        )
        xml = (
            f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{soap}">'
            f'<soap:Body><{wrapper} xmlns="{WSDL}{service}">{result}</{wrapper}>'
            f"</soap:Body></soap:Envelope>"
        ).encode()
        kind = "application/soap+xml" if soap == SOAP12 else "text/xml"
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(xml)))
        self.end_headers()
        self.wfile.write(xml)


def _ret_dist(c_stat: str, motivo: str, ult: int, maximo: int, docs: str = "") -> str:
    lote = f"<loteDistDFeInt>{docs}</loteDistDFeInt>" if docs else ""
    return (
        f'<retDistDFeInt xmlns="{NFE_NS}" versao="1.01"><tpAmb>2</tpAmb>'
        f"<verAplic>1.7.6</verAplic><cStat>{c_stat}</cStat><xMotivo>{motivo}</xMotivo>"
        f"<dhResp>2026-12-06T10:00:00-03:00</dhResp><ultNSU>{ult:015d}</ultNSU>"
        f"<maxNSU>{maximo:015d}</maxNSU>{lote}</retDistDFeInt>"
    )


def doc_zip(xml: bytes) -> str:
    return base64.b64encode(gzip.compress(xml)).decode("ascii")


def _dist(state: SefazState, cnpj: str, dist: etree._Element) -> str:
    now = state.clock()
    docs = state.documentos.get(cnpj, [])
    maximo = len(docs)
    ult = int(dist.findtext("n:distNSU/n:ultNSU", "0", _NS) or "0")
    if cnpj in state.block or (cnpj in state.waiting_until and now < state.waiting_until[cnpj]):
        # Consumo indevido; asking again restarts the hour (NT 2014.002).
        state.waiting_until[cnpj] = now + timedelta(hours=1)
        return _ret_dist("656", "Rejeicao: Consumo Indevido", ult, maximo)
    page = docs[ult : ult + PAGE]
    if not page:
        state.waiting_until[cnpj] = now + timedelta(hours=1)
        return _ret_dist("137", "Nenhum documento localizado", ult, maximo)
    last = ult + len(page)
    if last >= maximo:
        state.waiting_until[cnpj] = now + timedelta(hours=1)
    zips = "".join(
        f'<docZip NSU="{nsu:015d}" schema="{schema}">{doc_zip(xml)}</docZip>'
        for nsu, (schema, xml) in enumerate(page, start=ult + 1)
    )
    return _ret_dist("138", "Documento localizado", last, maximo, zips)


CONS_CHAVE_POR_HORA = 20


def _por_chave(state: SefazState, cnpj: str, dist: etree._Element) -> str:
    """consChNFe as the national service answers it: 138 with the procNFe, 641 to the
    emitente, 217 for a key it does not know, the key's own rejection (632 out of the download
    window, 640 not a party, 653 cancelled…), 656 past 20 queries an hour or when blocked."""
    chave = dist.findtext("n:consChNFe/n:chNFe", "", _NS)
    # (the stand-in's hour is the test's: every consChNFe it recorded for the CNPJ counts)
    recent = [c for c in state.calls if c.service == "chave" and c.cnpj_pedido == cnpj]
    if cnpj in state.block or len(recent) > CONS_CHAVE_POR_HORA:
        return _ret_dist("656", "Rejeicao: Consumo Indevido", 0, 0)
    if chave[6:20] == cnpj:
        return _ret_dist("641", "Rejeicao: NF-e indisponivel para o emitente", 0, 0)
    if chave in state.recusas_chave:
        return _ret_dist(*state.recusas_chave[chave], 0, 0)
    if chave not in state.completos:
        return _ret_dist("217", "Rejeicao: NF-e inexistente para a chave informada", 0, 0)
    xml = doc_zip(state.completos[chave])
    zipped = f'<docZip NSU="000000000000000" schema="procNFe_v4.00.xsd">{xml}</docZip>'
    return _ret_dist("138", "Documento localizado", 0, 0, zipped)


def _evento(state: SefazState, env: etree._Element) -> str:
    found = env.find("n:evento", _NS)
    assert found is not None
    # Like the real service, the event is read as its own document (out of the SOAP envelope's
    # namespace declarations) before its signature is checked.
    evento = copy.deepcopy(found)
    etree.cleanup_namespaces(evento)
    state.registrados.append(etree.tostring(evento))
    inf = evento.find("n:infEvento", _NS)
    assert inf is not None
    chave = inf.findtext("n:chNFe", "", _NS)
    tp = inf.findtext("n:tpEvento", "", _NS)
    seq = inf.findtext("n:nSeqEvento", "1", _NS)
    assinatura = verificar_assinatura(evento, inf)
    if assinatura.problema is not None:
        c_stat, motivo = "297", "Rejeicao: Assinatura difere do calculado"
    else:
        c_stat, motivo = state.eventos.get(chave, ("135", "Evento registrado e vinculado a NF-e"))
    prot = "<nProt>891260000000123</nProt>" if c_stat in {"135", "136"} else ""
    return (
        f'<retEnvEvento xmlns="{NFE_NS}" versao="1.00"><idLote>1</idLote><tpAmb>2</tpAmb>'
        f"<verAplic>AN_1.5.0</verAplic><cOrgao>91</cOrgao><cStat>128</cStat>"
        f"<xMotivo>Lote de evento processado</xMotivo>"
        f'<retEvento versao="1.00"><infEvento><tpAmb>2</tpAmb><verAplic>AN_1.5.0</verAplic>'
        f"<cOrgao>91</cOrgao><cStat>{c_stat}</cStat><xMotivo>{motivo}</xMotivo>"
        f"<chNFe>{chave}</chNFe><tpEvento>{tp}</tpEvento><nSeqEvento>{seq}</nSeqEvento>"
        f"<dhRegEvento>2026-12-06T10:00:00-03:00</dhRegEvento>{prot}</infEvento></retEvento>"
        f"</retEnvEvento>"
    )


def _consulta(state: SefazState, cons: etree._Element, cnpj_cert: str | None) -> str:
    chave = cons.findtext("n:chNFe", "", _NS)
    nao_consta = ("217", "Rejeicao: NF-e nao consta na base de dados")
    c_stat, motivo = state.notas.get(chave, nao_consta)
    if chave in state.partes and cnpj_cert not in state.partes[chave]:
        c_stat, motivo = nao_consta
    prot = ""
    if c_stat in {"100", "101", "110"}:
        prot = (
            f'<protNFe versao="4.00"><infProt><tpAmb>2</tpAmb><chNFe>{chave}</chNFe>'
            f"<dhRecbto>2026-10-15T10:31:00-03:00</dhRecbto><nProt>135260000000001</nProt>"
            f"<cStat>{c_stat}</cStat><xMotivo>{motivo}</xMotivo></infProt></protNFe>"
        )
    return (
        f'<retConsSitNFe xmlns="{NFE_NS}" versao="4.00"><tpAmb>2</tpAmb>'
        f"<verAplic>SP_NFE_PL009_V4</verAplic><cStat>{c_stat}</cStat><xMotivo>{motivo}</xMotivo>"
        f"<cUF>{chave[:2]}</cUF><dhRecbto>2026-12-06T10:00:00-03:00</dhRecbto>"
        f"<chNFe>{chave}</chNFe>{prot}</retConsSitNFe>"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: SefazState


@dataclass
class StandIn:
    url: str
    ca_bundle: Path
    state: SefazState


@contextmanager
def sefaz_stand_in(state: SefazState | None = None) -> Iterator[StandIn]:
    """Run the stand-in on a free port of 127.0.0.1 for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="sefaz-standin-") as folder:
        pki = ServerPki.make(Path(folder))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_pem, pki.key_pem)
        context.verify_mode = ssl.CERT_REQUIRED
        # Client certificates: the tests' A1s come from the tests' certificate authority.
        context.load_verify_locations(
            cadata=test_ca()[1].public_bytes(serialization.Encoding.PEM).decode()
        )
        server = _Server(("127.0.0.1", 0), _Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.state = state or SefazState()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield StandIn(f"https://127.0.0.1:{server.server_port}", pki.ca_pem, server.state)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
