"""Why an A1 certificate was refused: one root, a shallow tree, a pt-BR `message` to act on.

No message ever carries the password; the dates are shown as DD/MM/AAAA in Brasília time.
"""

from __future__ import annotations

from domain.certificates.model import CertificateInfo
from domain.documents import format_tax_id
from domain.errors import DomainError

_SEND_PFX = "Envie o arquivo .pfx (ou .p12) do certificado A1."


class CertificateError(DomainError):
    """Root of the certificate errors; `message` is pt-BR and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CertificateTooLarge(CertificateError):
    """The file is above the size cap; checked before anything else."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"O arquivo tem {-(-size // 1024)} KB, acima do limite de {limit // 1024} KB. Um "
            f"certificado A1 costuma ter poucos KB: confira se é o arquivo certo. {_SEND_PFX}"
        )
        self.size = size
        self.limit = limit


class NotACertificate(CertificateError):
    """Not a PKCS#12 file (empty, a PDF, a .cer without key…), damaged, or in a format not read."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "Este arquivo não é um certificado digital A1 ou está corrompido. Exporte o "
            f"certificado de novo, com a chave privada, e envie outra vez. {_SEND_PFX}"
        )


class WrongCertificatePassword(CertificateError):
    """The file is a PKCS#12 but the password does not open it."""

    def __init__(self) -> None:
        super().__init__(
            "A senha não abre este certificado. Confira maiúsculas, minúsculas e acentos e "
            "digite de novo a senha do certificado (a definida quando o arquivo .pfx foi gerado)."
        )


class MissingPrivateKey(CertificateError):
    """The PKCS#12 carries certificates but no private key: it cannot sign anything."""

    def __init__(self) -> None:
        super().__init__(
            "O arquivo traz o certificado, mas não a chave privada, e sem ela não é possível "
            "assinar notas. Exporte o certificado de novo marcando a opção de incluir a chave "
            f"privada. {_SEND_PFX}"
        )


class CertificateExpired(CertificateError):
    """The certificate's validity ended before `now`; `info` tells which one."""

    def __init__(self, info: CertificateInfo) -> None:
        super().__init__(
            f"Este certificado venceu em {info.valid_until:%d/%m/%Y}. Renove-o com a "
            "certificadora e envie o certificado novo."
        )
        self.info = info


class CertificateNotYetValid(CertificateError):
    """The certificate's validity starts after `now`."""

    def __init__(self, info: CertificateInfo) -> None:
        super().__init__(
            f"Este certificado só passa a valer em {info.valid_from:%d/%m/%Y}. Envie o "
            "certificado em uso hoje, ou envie este a partir dessa data."
        )
        self.info = info


class CertificateOfAnotherCompany(CertificateError):
    """The certificate's CNPJ is neither the client's nor a branch of it (same 8-char root)."""

    def __init__(self, certificate_documento: str, client_documento: str) -> None:
        super().__init__(
            f"Este certificado é do {_label(certificate_documento)} "
            f"{format_tax_id(certificate_documento)}, mas o cliente tem o "
            f"{_label(client_documento)} {format_tax_id(client_documento)}. Envie o "
            "certificado da empresa do cliente (o de uma filial, com a mesma raiz de CNPJ, "
            "também serve)."
        )
        self.certificate_documento = certificate_documento
        self.client_documento = client_documento


class CertificateWithoutDocument(CertificateError):
    """Neither the SubjectAltName nor the common name carries a CNPJ or CPF to compare."""

    def __init__(self) -> None:
        super().__init__(
            "Não encontrei CNPJ nem CPF neste certificado, então não dá para conferir se ele é "
            "da empresa do cliente. Confira se é um certificado e-CNPJ A1 da ICP-Brasil e envie "
            "o certificado certo."
        )


def _label(documento: str) -> str:
    return "CPF" if len(documento) == 11 else "CNPJ"
