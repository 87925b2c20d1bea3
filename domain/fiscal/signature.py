"""XMLDSig of NF-e/NFC-e and their events: is this exactly what the emitter signed?

The MOC prescribes an enveloped signature over the `infNFe` (or `infEvento`) element: one
Reference to its `Id`, the transforms enveloped-signature + C14N 1.0, SHA-1 digest and RSA-SHA1
(RSA-SHA256 is accepted too), and the signer's X.509 certificate in `KeyInfo`.

The cryptography is xmlsec's (libxmlsec1, the reference implementation the field's signers use);
what is checked here first is the shape, so a signature that is valid but covers something else
(another element, a second copy of `infNFe`, extra transforms) is refused before xmlsec runs.
The result is a `Assinatura`: verified, or the reason in pt-BR — never an exception, so the
parser can still describe a document whose signature fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import xmlsec
from cryptography import x509
from lxml import etree

from domain.certificates.model import CertificateInfo
from domain.certificates.reader import describe

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_DS = {"ds": DSIG_NS}
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_SIGNATURE_METHODS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    }
)
_DIGEST_METHODS = frozenset(
    {"http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/04/xmlenc#sha256"}
)
# Compiled once: every element of the document carrying this Id (there must be one, the signed).
_WITH_ID = etree.XPath("//*[@Id=$id]")
# Clocks of emitters and of SEFAZ disagree by minutes, not days.
_CLOCK_SLACK = timedelta(minutes=10)

NAO_CONFERE = (
    "a assinatura digital não confere: o XML foi alterado depois de assinado (um valor "
    "editado, ou o arquivo reformatado/reindentado). Baixe de novo o XML original no emissor."
)


@dataclass(frozen=True, slots=True)
class Assinatura:
    """The outcome of checking one signature: `problema` is None when it verified."""

    codigo: str
    problema: str | None = None
    digest_value: str | None = None
    certificado: CertificateInfo | None = None

    @property
    def valida(self) -> bool:
        return self.problema is None


def recusada(codigo: str, problema: str) -> Assinatura:
    return Assinatura(codigo, problema)


def verificar(container: etree._Element, assinado: etree._Element) -> Assinatura:
    """Check the `Signature` child of `container` (NFe or evento) over `assinado`."""
    signatures = container.findall("ds:Signature", _DS)
    if not signatures:
        return recusada(
            "sem_assinatura",
            "o XML não traz a assinatura digital, então não há como saber se é o documento "
            "emitido. Baixe de novo o XML original no emissor.",
        )
    if len(signatures) > 1:
        return recusada("assinatura_malformada", "o XML traz mais de uma assinatura digital.")
    signature = signatures[0]
    shape = _shape_problem(signature, assinado)
    if shape is not None:
        return recusada("assinatura_malformada", f"a assinatura digital {shape}.")
    cert_der = _certificate_der(signature)
    if cert_der is None:
        return recusada(
            "assinatura_malformada", "a assinatura digital não traz o certificado de quem assinou."
        )
    key, info = _key_for(cert_der)
    if key is None or info is None:
        return recusada(
            "assinatura_malformada",
            "o certificado dentro da assinatura digital está corrompido.",
        )
    try:
        # Only this document's Ids are registered, so the reference cannot reach elsewhere.
        xmlsec.tree.add_ids(container, ["Id"])
        context = xmlsec.SignatureContext()
        context.key = key
        context.verify(signature)
    except xmlsec.Error:
        return recusada("assinatura_invalida", NAO_CONFERE)
    digest = signature.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", None, _DS) or ""
    return Assinatura("ok", None, digest.strip(), info)


def problema_do_signatario(
    assinatura: Assinatura, *, documento: str | None, quando: datetime | None, papel: str
) -> Assinatura:
    """Refuse a verified signature made by someone else than `documento`, or out of validity.

    A CNPJ matches by its root (the first 8 characters: branches share the company's
    certificate); a CPF must match whole. `papel` names the signer for the message.
    """
    info = assinatura.certificado
    if not assinatura.valida or info is None:
        return assinatura
    if documento:
        certificado = info.documento
        if certificado is None:
            return recusada(
                "assinatura_sem_documento",
                f"o certificado que assinou {papel} não identifica nenhum CNPJ ou CPF.",
            )
        mesmo = (
            certificado[:8] == documento[:8]
            if len(documento) == 14 and len(certificado) == 14
            else certificado == documento
        )
        if not mesmo:
            return recusada(
                "assinatura_outro_cnpj",
                f"{papel} foi assinada com o certificado de outro CNPJ/CPF "
                f"({info.documento_formatado}, {info.holder_name}), e não pelo de quem a emitiu.",
            )
    if quando is None:
        return assinatura
    if quando + _CLOCK_SLACK < info.not_before or quando - _CLOCK_SLACK > info.not_after:
        return recusada(
            "assinatura_fora_validade",
            f"o certificado que assinou {papel} não era válido na data da assinatura "
            f"(válido de {info.valid_from:%d/%m/%Y} a {info.valid_until:%d/%m/%Y}).",
        )
    return assinatura


def _shape_problem(signature: etree._Element, assinado: etree._Element) -> str | None:
    """What makes this signature not the MOC's enveloped signature of `assinado`, if anything."""
    signed_info = signature.find("ds:SignedInfo", _DS)
    if signed_info is None:
        return "não tem SignedInfo"
    c14n = signed_info.find("ds:CanonicalizationMethod", _DS)
    if c14n is None or c14n.get("Algorithm") != C14N:
        return "usa uma canonicalização fora do padrão da NF-e"
    method = signed_info.find("ds:SignatureMethod", _DS)
    if method is None or method.get("Algorithm") not in _SIGNATURE_METHODS:
        return "usa um algoritmo fora do padrão da NF-e"
    references = signed_info.findall("ds:Reference", _DS)
    if len(references) != 1:
        return "deveria ter exatamente uma referência"
    reference = references[0]
    wanted = assinado.get("Id") or ""
    if not wanted or reference.get("URI") != f"#{wanted}":
        return f"não se refere ao elemento assinado ({etree.QName(assinado).localname})"
    same_id = _WITH_ID(assinado.getroottree().getroot(), id=wanted)
    if not isinstance(same_id, list) or len(same_id) != 1 or same_id[0] is not assinado:
        return "se refere a um Id repetido no documento"
    transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", _DS)]
    if transforms not in ([ENVELOPED, C14N], [ENVELOPED]):
        return "usa transformações fora do padrão da NF-e"
    digest = reference.find("ds:DigestMethod", _DS)
    if digest is None or digest.get("Algorithm") not in _DIGEST_METHODS:
        return "usa um resumo (digest) fora do padrão da NF-e"
    return None


def _certificate_der(signature: etree._Element) -> bytes | None:
    encoded = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", None, _DS)
    if not encoded:
        return None
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


class _KeyCache:
    """xmlsec keys and certificate facts by certificate: a client signs thousands of notes
    with one certificate, and loading it is a large part of a verification.

    Only what belongs to the certificate itself is kept (its public key, its CNPJ/CPF, its
    validity dates); everything that depends on the document (the digest and signature of these
    bytes, the emitter being the certificate's company, dhEmi within the validity) is checked
    for every document, cached certificate or not.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[bytes, tuple[xmlsec.Key | None, CertificateInfo | None]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def __contains__(self, cert_der: bytes) -> bool:
        with self._lock:
            return hashlib.sha256(cert_der).digest() in self._items

    def get(self, cert_der: bytes) -> tuple[xmlsec.Key | None, CertificateInfo | None]:
        digest = hashlib.sha256(cert_der).digest()
        with self._lock:
            found = self._items.get(digest)
            if found is not None:
                self._items.move_to_end(digest)
                return found
        loaded = _load(cert_der)
        with self._lock:
            self._items[digest] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return loaded


def _load(cert_der: bytes) -> tuple[xmlsec.Key | None, CertificateInfo | None]:
    try:
        certificate = x509.load_der_x509_certificate(cert_der)
        key = xmlsec.Key.from_memory(cert_der, xmlsec.constants.KeyDataFormatCertDer)
    except (ValueError, xmlsec.Error):
        return None, None
    return key, describe(certificate, cert_der)


_KEYS = _KeyCache()


def _key_for(cert_der: bytes) -> tuple[xmlsec.Key | None, CertificateInfo | None]:
    return _KEYS.get(cert_der)


class Assinante:
    """Signs NF-e and events the MOC way with one private key and its certificate (loaded once).

    Used to build real signed notes (tests, the demo office); in production the emitter's
    software signs.
    """

    def __init__(self, chave_privada_pem: bytes, certificado_pem: bytes) -> None:
        self._key = xmlsec.Key.from_memory(chave_privada_pem, xmlsec.constants.KeyDataFormatPem)
        self._key.load_cert_from_memory(certificado_pem, xmlsec.constants.KeyDataFormatPem)

    def assinar(self, container: etree._Element, assinado: etree._Element) -> str:
        """Append to `container` the enveloped signature of `assinado`; return its DigestValue."""
        signature = xmlsec.template.create(
            container, xmlsec.constants.TransformInclC14N, xmlsec.constants.TransformRsaSha1
        )
        container.append(signature)
        reference = xmlsec.template.add_reference(
            signature, xmlsec.constants.TransformSha1, uri=f"#{assinado.get('Id')}"
        )
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformInclC14N)
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        xmlsec.tree.add_ids(container, ["Id"])
        context = xmlsec.SignatureContext()
        context.key = self._key
        context.sign(signature)
        digest = signature.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", None, _DS)
        return (digest or "").strip()
