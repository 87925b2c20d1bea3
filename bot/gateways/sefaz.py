"""The SEFAZ web services over HTTPS with the client's A1 (mutual TLS), on nfelib's bindings.

Requests are nfelib's xsdata bindings (the SOAP actions of `nfelib.nfe.soap.v4_0`, `distDFeInt`,
`consSitNFe`, the MD-e `evento`/`envEvento`) serialized by xsdata's SOAP client; nothing here
writes an envelope by hand. nfelib's own façades (DfeClient, MdeClient) sit on
`brazil_fiscal_client` and sign through `erpbrasil.assinatura`, neither of which is a dependency
of this project: the transport is httpx, and the event is signed by `domain.fiscal.signature`'s
`Assinante` (libxmlsec1, the same XMLDSig profile the MOC prescribes).

TLS: the server is verified against the system store plus the ICP-Brasil chain shipped in
`certs/icp_brasil.pem` (SEFAZ_CA_BUNDLE replaces that file). Python's `ssl` loads a client key
only from a file, so the key goes to a 0600 file in a private temporary directory *encrypted
with a one-time random password*, is loaded, and the directory is removed at once: the clear key
never touches the disk and nothing about it is logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import ssl
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from nfelib.nfe.bindings.v4_0.cons_sit_nfe_v4_00 import ConsSitNfe
from nfelib.nfe.bindings.v4_0.leiaute_cons_sit_nfe_v4_00 import TconsSitNfeXServ
from nfelib.nfe.client.v4_0.servers import Endpoint
from nfelib.nfe.client.v4_0.servers import servers as NFE_SERVERS
from nfelib.nfe.soap.v4_0.nfeconsulta4 import NfeConsultaProtocolo4SoapNfeConsultaNf
from nfelib.nfe.soap.v4_0.nfedistribuicaodfe import NfeDistribuicaoDfeSoapNfeDistDfeInteresse
from nfelib.nfe.soap.v4_0.recepcaoevento4 import NfeRecepcaoEvento4SoapNfeRecepcaoEvento
from nfelib.nfe_dist_dfe.bindings.v1_0 import DistDfeInt
from nfelib.nfe_evento_mde.bindings.v1_0.conf_recebto_v1_00 import Evento
from nfelib.nfe_evento_mde.bindings.v1_0.env_conf_recebto_v1_00 import EnvEvento
from nfelib.nfe_evento_mde.bindings.v1_0.leiaute_conf_recebto_v1_00 import (
    DetEventoDescEvento1,
    InfEventoTpEvento,
    TcorgaoIbge,
    Tevento,
)
from xsdata.formats.dataclass.client import Client, Config
from xsdata.formats.dataclass.serializers import XmlSerializer

from domain.fiscal import NFE_NS, FiscalDocumentError, parse_chave
from domain.fiscal.distribuicao import decode_doc_zip
from domain.fiscal.manifestacao import MANIFESTACOES, TipoManifestacao
from domain.fiscal.safe_xml import load_xml
from domain.fiscal.signature import Assinante
from services.sefaz import (
    A1,
    DocumentoDistribuido,
    RetornoConsulta,
    RetornoDistribuicao,
    RetornoEvento,
    SefazIndisponivel,
)

log = logging.getLogger(__name__)

BUNDLED_CA = "certs/icp_brasil.pem"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
MAX_RESPONSE_BYTES = 40 * 1024 * 1024  # 50 docZip of full notes, base64
_NS = {"n": NFE_NS}
_BRASILIA = ZoneInfo("America/Sao_Paulo")
_AMBIENTES = {"producao": "1", "homologacao": "2"}

# Which authorizer answers NfeConsultaProtocolo4 for a UF (IBGE code): the SEFAZ's table of
# authorizers as nfelib 3.2 encodes it in `nfelib.nfe.client.v4_0.nfe._get_server_key_for_uf`
# (that module imports brazil_fiscal_client, so it cannot be imported here); the URLs themselves
# come from nfelib's `servers` table.
_OWN_SERVER = {
    "13": "AM", "29": "BA", "52": "GO", "31": "MG", "50": "MS",
    "51": "MT", "26": "PE", "41": "PR", "43": "RS", "35": "SP",
}  # fmt: skip
_SVAN = {"21", "15"}  # MA, PA
UF_SIGLAS = {
    "11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO",
    "21": "MA", "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL",
    "28": "SE", "29": "BA", "31": "MG", "32": "ES", "33": "RJ", "35": "SP", "41": "PR",
    "42": "SC", "43": "RS", "50": "MS", "51": "MT", "52": "GO", "53": "DF",
}  # fmt: skip


def authorizer_of(cuf: str) -> str:
    """The server key of nfelib's table (`SP`, `SVRS`, `SVAN`…) for a UF's IBGE code."""
    if cuf in _OWN_SERVER:
        return _OWN_SERVER[cuf]
    return "SVAN" if cuf in _SVAN else "SVRS"


@dataclass(frozen=True, slots=True)
class SefazEndpoints:
    """Where each service is: SEFAZ_URL_* overrides, else SEFAZ_URL_BASE, else nfelib's table."""

    ambiente: str = "homologacao"
    distribuicao: str | None = None
    evento: str | None = None
    consulta: dict[str, str] = field(default_factory=dict)  # UF sigla → URL
    base: str | None = None

    @property
    def tp_amb(self) -> str:
        return _AMBIENTES[self.ambiente]

    def _table(self, server: str, endpoint: Endpoint) -> str:
        config = NFE_SERVERS[server]
        urls = config["prod_endpoints"] if self.tp_amb == "1" else config["dev_endpoints"]
        return urls[endpoint]

    def url_distribuicao(self) -> str:
        if self.distribuicao:
            return self.distribuicao
        if self.base:
            return f"{self.base.rstrip('/')}/NFeDistribuicaoDFe"
        return self._table("AN", Endpoint.NFEDISTRIBUICAODFE)

    def url_evento(self) -> str:
        if self.evento:
            return self.evento
        if self.base:
            return f"{self.base.rstrip('/')}/NFeRecepcaoEvento4"
        return self._table("AN", Endpoint.RECEPCAOEVENTO)

    def soap_version(self, server: str) -> str:
        """ "1.1" or "1.2", as nfelib's table says the server speaks (kept for a stand-in too)."""
        return NFE_SERVERS[server].get("soap_version", "1.1")

    def url_consulta(self, cuf: str) -> str:
        sigla = UF_SIGLAS.get(cuf, cuf)
        if sigla in self.consulta:
            return self.consulta[sigla]
        if self.base:
            return f"{self.base.rstrip('/')}/NfeConsultaProtocolo4/{sigla}"
        return self._table(authorizer_of(cuf), Endpoint.NFECONSULTAPROTOCOLO)


def bundled_ca_path() -> Path:
    return Path(str(resources.files("bot.gateways").joinpath(BUNDLED_CA)))


class _Contexts:
    """TLS contexts by certificate (a sweep makes several calls with one A1); a few kept."""

    def __init__(self, ca_bundle: Path, size: int = 16) -> None:
        self.ca_bundle = ca_bundle
        self.size = size
        self._items: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, a1: A1) -> ssl.SSLContext:
        key = hashlib.sha256(a1.pfx + b"\0" + a1.password.encode()).hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        context = self._build(a1)
        with self._lock:
            self._items[key] = context
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return context

    def _build(self, a1: A1) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.load_verify_locations(cafile=str(self.ca_bundle))
        key, certificate, chain = _open_pfx(a1)
        once = secrets.token_urlsafe(32)
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(once.encode()),
        )
        pem_chain = b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (certificate, *chain)
        )
        with tempfile.TemporaryDirectory(prefix="a1-tls-") as folder:
            key_path, cert_path = Path(folder, "k.pem"), Path(folder, "c.pem")
            for path, data in ((key_path, pem_key), (cert_path, pem_chain)):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as stream:
                    stream.write(data)
            context.load_cert_chain(str(cert_path), str(key_path), password=once)
        return context


def _open_pfx(a1: A1) -> tuple[Any, Any, list[Any]]:
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(a1.pfx, a1.password.encode())
    except ValueError:
        raise SefazIndisponivel(
            "Não foi possível abrir o certificado A1 do cliente. Envie o certificado de novo em "
            "Configurações › Certificado digital."
        ) from None  # the library's text may echo details of the file: not chained on purpose
    if key is None or certificate is None:
        raise SefazIndisponivel(
            "O certificado A1 do cliente não tem a chave privada. Envie o .pfx completo."
        )
    return key, certificate, list(chain)


class HttpsSefazGateway:
    """services.sefaz.SefazGateway over HTTPS with mutual TLS."""

    def __init__(
        self,
        endpoints: SefazEndpoints,
        *,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        uf_autor: str = "35",
    ) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.uf_autor = uf_autor
        self._contexts = _Contexts(ca_bundle or bundled_ca_path())

    # --- the three services -----------------------------------------------------------------

    def distribuicao(
        self, a1: A1, *, cnpj: str, uf_autor: str, ult_nsu: str
    ) -> RetornoDistribuicao:
        pedido = self._dist_dfe(cnpj, uf_autor, distNSU=DistDfeInt.DistNsu(ultNSU=ult_nsu))
        return self._distribuir(a1, pedido, ult_nsu)

    def por_chave(self, a1: A1, *, cnpj: str, uf_autor: str, chave: str) -> RetornoDistribuicao:
        pedido = self._dist_dfe(cnpj, uf_autor, consChNFe=DistDfeInt.ConsChNfe(chNFe=chave))
        return self._distribuir(a1, pedido, "0" * 15)

    def _dist_dfe(self, cnpj: str, uf_autor: str, **pedido: Any) -> DistDfeInt:
        return DistDfeInt(
            versao="1.01",
            tpAmb=self.endpoints.tp_amb,
            cUFAutor=uf_autor or self.uf_autor,
            CNPJ=cnpj if len(cnpj) > 11 else None,
            CPF=cnpj if len(cnpj) <= 11 else None,
            **pedido,
        )

    def _distribuir(self, a1: A1, pedido: DistDfeInt, ult_nsu: str) -> RetornoDistribuicao:
        body = {"Body": {"nfeDistDFeInteresse": {"nfeDadosMsg": {"content": [pedido]}}}}
        ret = self._call(
            a1, NfeDistribuicaoDfeSoapNfeDistDfeInteresse, self.endpoints.url_distribuicao(),
            body, "retDistDFeInt", soap=self.endpoints.soap_version("AN"),
        )  # fmt: skip
        documentos = []
        for doc in ret.iterfind("n:loteDistDFeInt/n:docZip", _NS):
            try:
                xml = decode_doc_zip(doc.text or "")
            except FiscalDocumentError as error:
                raise SefazIndisponivel(f"A SEFAZ enviou um documento ilegível: {error}") from None
            documentos.append(DocumentoDistribuido(doc.get("NSU", ""), doc.get("schema", ""), xml))
        return RetornoDistribuicao(
            c_stat=_text(ret, "n:cStat"),
            x_motivo=_text(ret, "n:xMotivo"),
            ult_nsu=_text(ret, "n:ultNSU") or ult_nsu,
            max_nsu=_text(ret, "n:maxNSU") or ult_nsu,
            documentos=tuple(documentos),
        )

    def manifestar(
        self,
        a1: A1,
        *,
        cnpj: str,
        chave: str,
        tipo: TipoManifestacao,
        justificativa: str | None = None,
        n_seq: int = 1,
    ) -> RetornoEvento:
        evento = _evento(self.endpoints.tp_amb, cnpj, chave, tipo, justificativa, n_seq)
        signed = _sign_event(a1, evento)
        envelope = EnvEvento(versao="1.00", idLote="1", evento=[Evento()])
        body = {"Body": {"nfeDadosMsg": {"content": [envelope]}}}
        ret = self._call(
            a1, NfeRecepcaoEvento4SoapNfeRecepcaoEvento, self.endpoints.url_evento(), body,
            "retEnvEvento", replace_evento=signed, soap=self.endpoints.soap_version("AN"),
        )  # fmt: skip
        c_stat, x_motivo = _text(ret, "n:cStat"), _text(ret, "n:xMotivo")
        inf = ret.find("n:retEvento/n:infEvento", _NS)
        if inf is None:  # the whole batch was refused (e.g. 215 schema, 656)
            return RetornoEvento(c_stat, x_motivo)
        ret_evento = inf.getparent()
        assert ret_evento is not None  # noqa: S101 - found through its parent
        c_stat, x_motivo = _text(inf, "n:cStat"), _text(inf, "n:xMotivo")
        protocolo = _text(inf, "n:nProt") or None
        proc = None
        if c_stat in {"135", "136"}:
            proc = _proc_evento(signed, ret_evento)
        return RetornoEvento(c_stat, x_motivo, protocolo, proc)

    def consultar(self, a1: A1, *, chave: str) -> RetornoConsulta:
        pedido = ConsSitNfe(
            versao="4.00",
            tpAmb=self.endpoints.tp_amb,
            xServ=TconsSitNfeXServ.CONSULTAR,
            chNFe=chave,
        )
        cuf = parse_chave(chave).cuf
        body = {"Body": {"nfeDadosMsg": {"content": [pedido]}}}
        ret = self._call(
            a1, NfeConsultaProtocolo4SoapNfeConsultaNf, self.endpoints.url_consulta(cuf), body,
            "retConsSitNFe", soap=self.endpoints.soap_version(authorizer_of(cuf)),
        )  # fmt: skip
        return RetornoConsulta(
            c_stat=_text(ret, "n:cStat"),
            x_motivo=_text(ret, "n:xMotivo"),
            protocolo=_text(ret, "n:protNFe/n:infProt/n:nProt") or None,
            autorizada_em=_text(ret, "n:protNFe/n:infProt/n:dhRecbto") or None,
            xml=etree.tostring(ret),
        )

    # --- transport --------------------------------------------------------------------------

    def _call(
        self,
        a1: A1,
        action: type,
        url: str,
        body: dict[str, Any],
        answer: str,
        *,
        replace_evento: str | None = None,
        soap: str = "1.1",
    ) -> etree._Element:
        client = Client(Config.from_service(action, location=url))
        payload = client.prepare_payload(body)
        text = payload if isinstance(payload, str) else payload.decode("utf-8")
        if replace_evento is not None:
            # The signed <evento> goes in as signed (re-serializing would break the signature):
            # the same placeholder nfelib's MdeClient uses.
            text = re.sub(r"<(\w+:)?evento[^>]*/>", lambda _: replace_evento, text, count=1)
        headers = client.prepare_headers({})
        headers["content-type"] = "text/xml; charset=utf-8"
        if soap == "1.2":
            # nfelib's bindings are SOAP 1.1 envelopes; the servers its table marks 1.2 get the
            # same envelope in the SOAP 1.2 namespace, the action in the content type.
            text = text.replace(SOAP11_NS, SOAP12_NS, 1)
            action = headers.pop("SOAPAction", "")
            headers["content-type"] = f'application/soap+xml; charset=utf-8; action="{action}"'

        context = self._contexts.get(a1)
        try:
            with httpx.Client(verify=context, timeout=self.timeout) as http:
                response = http.post(url, content=text.encode("utf-8"), headers=headers)
        except httpx.HTTPError as error:
            log.warning("SEFAZ %s unreachable: %s", url, type(error).__name__)
            raise SefazIndisponivel(_unreachable(url, error)) from None
        return _result(response, answer)


def _unreachable(url: str, error: httpx.HTTPError) -> str:
    reason = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return (
            f"O certificado do servidor da SEFAZ ({httpx.URL(url).host}) não foi reconhecido "
            "pela cadeia ICP-Brasil configurada (SEFAZ_CA_BUNDLE). Nada foi enviado."
        )
    return "A SEFAZ não respondeu agora. Tente de novo em alguns minutos."


def _result(response: httpx.Response, answer: str) -> etree._Element:
    if response.status_code >= 500 and b"Fault" not in response.content[:2000]:
        raise SefazIndisponivel(
            f"A SEFAZ respondeu com erro HTTP {response.status_code}. Tente de novo mais tarde."
        )
    try:
        root = load_xml(response.content, MAX_RESPONSE_BYTES)
    except FiscalDocumentError:
        raise SefazIndisponivel(
            "A SEFAZ respondeu algo que não é XML. Tente mais tarde."
        ) from None
    found = root.find(f".//{{{NFE_NS}}}{answer}")
    if found is None:
        fault = root.find(".//{*}Fault")
        motivo = (
            " ".join(str(part) for part in fault.itertext()).strip()[:200]
            if fault is not None
            else ""
        )
        raise SefazIndisponivel(
            f"A SEFAZ não devolveu {answer}" + (f" (falha SOAP: {motivo})" if motivo else "") + "."
        )
    return found


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path, "", _NS) or "").strip()


def _evento(
    tp_amb: str, cnpj: str, chave: str, tipo: TipoManifestacao, xjust: str | None, n_seq: int
) -> Evento:
    now = datetime.now(_BRASILIA).replace(microsecond=0).isoformat()
    inf = Tevento.InfEvento(
        Id=f"ID{tipo.value}{chave}{n_seq:02d}",
        cOrgao=TcorgaoIbge.VALUE_91,
        tpAmb=tp_amb,
        CNPJ=cnpj if len(cnpj) > 11 else None,
        CPF=cnpj if len(cnpj) <= 11 else None,
        chNFe=chave,
        dhEvento=now,
        tpEvento=InfEventoTpEvento(tipo.value),
        nSeqEvento=str(n_seq),
        verEvento="1.00",
        detEvento=Tevento.InfEvento.DetEvento(
            versao="1.00",
            descEvento=DetEventoDescEvento1(MANIFESTACOES[tipo].desc_evento),
            xJust=xjust if tipo is TipoManifestacao.NAO_REALIZADA else None,
        ),
    )
    return Evento(versao="1.00", infEvento=inf)


def _sign_event(a1: A1, evento: Evento) -> str:
    """The <evento> as nfelib serializes it, signed with the A1 (key in memory only)."""
    key, certificate, _ = _open_pfx(a1)
    clear_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = Assinante(clear_key, certificate.public_bytes(serialization.Encoding.PEM))
    del clear_key
    namespaces: dict[Any, str] = {None: NFE_NS}  # the default namespace, as the MOC writes it
    xml = XmlSerializer().render(evento, ns_map=namespaces)
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    inf = root.find("n:infEvento", _NS)
    assert inf is not None  # noqa: S101 - built just above
    signer.assinar(root, inf)
    return etree.tostring(root, encoding="unicode")


def _proc_evento(signed: str, ret_evento: etree._Element) -> bytes:
    proc = etree.fromstring(f'<procEventoNFe xmlns="{NFE_NS}" versao="1.00"/>'.encode())
    proc.append(etree.fromstring(signed.encode("utf-8")))
    proc.append(ret_evento)
    return etree.tostring(proc, xml_declaration=True, encoding="UTF-8")


def gateway_from_settings(settings: Any) -> HttpsSefazGateway:
    """The gateway from SEFAZ_* settings (bot/settings.py)."""
    endpoints = SefazEndpoints(
        ambiente=settings.sefaz_ambiente,
        distribuicao=settings.sefaz_url_distribuicao,
        evento=settings.sefaz_url_evento,
        consulta=dict(settings.sefaz_url_consulta),
        base=settings.sefaz_url_base,
    )
    bundle = Path(settings.sefaz_ca_bundle) if settings.sefaz_ca_bundle else None
    return HttpsSefazGateway(endpoints, ca_bundle=bundle, timeout=settings.sefaz_timeout_seconds)
