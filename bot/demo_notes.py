"""The demo office's certificates and notes, put in through the normal services.

Three clients issue NF-e and NFC-e in the previous and the current month (São Paulo), a few of
them cancelled; one receives supplier notes (pending, acknowledged, one cancelled by its
issuer). Each client's A1 certificate is sent as Configurações › Certificado digital does
(sealed) — valid, expiring in 7 days, expired — and the notes are signed with it, so the
ingest checks them exactly as it checks a real client's.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from cryptography import x509

from bot.demo_fiscal import DemoPki, Empresa, Nota, cancelamento, nfe_proc
from domain.billing import Competencia
from domain.documents import complete_cnpj
from services import certificates, fiscal_documents, fiscal_ingest
from services.crypto import SecretBox
from services.fiscal_ingest import ImportClient, IncomingFile
from services.fiscal_prepare import Status, TipoNota
from services.principal import Principal
from services.types import UnitOfWork

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
CERT_PASSWORD = "demo-1234"  # noqa: S105 - a made-up password of made-up certificates
VIA = "demo"
SUPPLIERS = (
    Empresa(complete_cnpj("318274650001"), "Fornecedora Alfa Embalagens Ltda", "São Paulo"),
    Empresa(complete_cnpj("274019380001"), "Beta Materiais Elétricos Ltda", "Campinas"),
    Empresa(complete_cnpj("509371820001"), "Gama Alimentos e Bebidas Ltda", "Curitiba"),
)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def sao_paulo_day(moment: datetime) -> date:
    return moment.astimezone(SAO_PAULO).date()


def start_of(day: date) -> datetime:
    """Midnight of `day` in São Paulo."""
    return datetime.combine(day, time(0), tzinfo=SAO_PAULO)


def months(now: datetime) -> tuple[Competencia, Competencia]:
    """The previous and the current month (São Paulo)."""
    current = Competencia.of(sao_paulo_day(now))
    return current.previous(), current


@dataclass(frozen=True, slots=True)
class DemoClient:
    """A client as created, with what its notes need (index: creation order in the demo)."""

    index: int
    id: int
    documento: str
    razao_social: str
    cidade: str


class Validade(Enum):
    VALIDO = "válido"
    VENCENDO = "vence em 7 dias"
    VENCIDO = "vencido"


@dataclass(frozen=True, slots=True)
class Serie:
    """One model's notes of a client: how many in each month and which get cancelled."""

    modelo: str
    anterior: int
    atual: int
    cancelar_anterior: int = 0
    cancelar_atual: int = 0


@dataclass(frozen=True, slots=True)
class Emissor:
    """A demo client's fiscal life: its certificate and the notes it issues or receives."""

    index: int
    validade: Validade
    series: tuple[Serie, ...] = ()
    fornecedores: bool = False


# By client creation index (bot/demo.py): page 1 of the client list holds 1, 3, 11 and 12.
EMISSORES = (
    Emissor(3, Validade.VALIDO, (Serie("55", 14, 6, 1, 0), Serie("65", 10, 5, 0, 1)), True),
    Emissor(12, Validade.VENCENDO, (Serie("65", 14, 7, 1, 0), Serie("55", 4, 0))),
    Emissor(1, Validade.VALIDO, (Serie("55", 8, 4, 0, 1),)),
    Emissor(11, Validade.VENCIDO),
)


class DemoNotes:
    """Issues the certificates and notes of `EMISSORES` inside the caller's transaction."""

    def __init__(
        self,
        uow: UnitOfWork,
        principal: Principal,
        box: SecretBox,
        *,
        now: datetime,
        seed: int,
    ) -> None:
        self.uow = uow
        self.principal = principal
        self.box = box
        self.now = now
        # Values and times draw from separate generators: what the notes are worth stays the
        # same whatever the day the demo runs (times depend on how much of the month is gone).
        self.rng = random.Random(seed)
        self.clock = random.Random(seed + 1)
        self.pki = DemoPki()
        self._suppliers: dict[str, x509.Certificate] = {}
        previous, current = months(now)
        self.previous = (start_of(previous.first_day), start_of(current.first_day))
        self.current = (start_of(current.first_day), now)

    def issue(self, made: Iterable[DemoClient]) -> int:
        """Certificates, notes and supplier notes for the demo clients; the notes stored."""
        by_index = {client.index: client for client in made}
        stored = 0
        for emissor in EMISSORES:
            client = by_index.get(emissor.index)
            if client is None:
                continue
            empresa = Empresa(client.documento, client.razao_social, client.cidade)
            certificate = self._certificate(client, empresa, emissor.validade)
            files: list[IncomingFile] = []
            for serie in emissor.series:
                files += self._serie(empresa, certificate, serie)
            if emissor.fornecedores:
                files += self._fornecedores(empresa)
            stored += self._ingest(client, files)
            if emissor.fornecedores:
                self._recognize(client)
        return stored

    def _certificate(
        self, client: DemoClient, empresa: Empresa, validade: Validade
    ) -> x509.Certificate:
        """The client's e-CNPJ, sent through Configurações › Certificado digital › Enviar."""
        today = sao_paulo_day(self.now)
        if validade is Validade.VALIDO:
            not_before, not_after = self.now - days(200), self.now + days(165)
            sent_at = self.now - days(30)
        elif validade is Validade.VENCENDO:
            # The last second of the 7th day from today: "vence em 7 dias" all day long.
            not_after = start_of(today + days(8)) - timedelta(seconds=1)
            not_before = not_after - days(365)
            sent_at = not_before + days(2)
        else:
            not_after = start_of(today - days(40)) + timedelta(hours=12)
            not_before = not_after - days(365)
            sent_at = not_before + days(3)
        certificate = self.pki.e_cnpj(empresa, not_before, not_after)
        pfx = self.pki.pfx(certificate, CERT_PASSWORD)
        sealed = certificates.accept_file(
            self.uow,
            self.principal,
            client.id,
            box=self.box,
            name="certificado-a1.pfx",
            size=len(pfx),
            data=pfx,
        )
        certificates.save_certificate(
            self.uow,
            self.principal,
            client.id,
            box=self.box,
            sealed_pfx=sealed,
            password=CERT_PASSWORD,
            now=sent_at,
        )
        return certificate

    def _serie(
        self, empresa: Empresa, certificate: x509.Certificate, serie: Serie
    ) -> list[IncomingFile]:
        assinante = self.pki.assinante(certificate)
        numero = 1000 if serie.modelo == "55" else 5000
        files: list[IncomingFile] = []
        for (start, end), count, cancel in (
            (self.previous, serie.anterior, serie.cancelar_anterior),
            (self.current, serie.atual, serie.cancelar_atual),
        ):
            notas = []
            for moment in self._moments(start, end, count):
                numero += 1
                notas.append(self._nota(empresa, None, serie.modelo, numero, moment))
            for nota in notas:
                files.append(
                    IncomingFile(f"{nota.chave()}-procNFe.xml", nfe_proc(nota, assinante))
                )
            # Cancel the notes in the middle of the month, two hours after issue.
            for nota in notas[len(notas) // 2 : len(notas) // 2 + cancel]:
                quando = min(nota.dh_emi + timedelta(hours=2), self.now)
                event = cancelamento(nota, quando, assinante)
                files.append(IncomingFile(f"{nota.chave()}-procEventoNFe.xml", event))
        return files

    def _fornecedores(self, client: Empresa) -> list[IncomingFile]:
        """Three supplier NF-e a month to the client; the current month's last one cancelled."""
        files: list[IncomingFile] = []
        for (start, end), cancel in ((self.previous, False), (self.current, True)):
            notas = []
            for n, moment in enumerate(self._moments(start, end, len(SUPPLIERS))):
                supplier = SUPPLIERS[n]
                numero = 40_000 + self.rng.randrange(1, 9_000)
                notas.append(self._nota(supplier, client, "55", numero, moment))
            for nota in notas:
                assinante = self.pki.assinante(self._supplier_certificate(nota.emitente))
                files.append(
                    IncomingFile(f"{nota.chave()}-procNFe.xml", nfe_proc(nota, assinante))
                )
            if cancel:
                nota = notas[-1]
                assinante = self.pki.assinante(self._supplier_certificate(nota.emitente))
                quando = min(nota.dh_emi + timedelta(hours=1), self.now)
                files.append(
                    IncomingFile(
                        f"{nota.chave()}-procEventoNFe.xml", cancelamento(nota, quando, assinante)
                    )
                )
        return files

    def _supplier_certificate(self, supplier: Empresa) -> x509.Certificate:
        if supplier.cnpj not in self._suppliers:
            self._suppliers[supplier.cnpj] = self.pki.e_cnpj(
                supplier, self.now - days(300), self.now + days(300)
            )
        return self._suppliers[supplier.cnpj]

    def _nota(
        self, emitente: Empresa, dest: Empresa | None, modelo: str, numero: int, dh: datetime
    ) -> Nota:
        cfops = ("5102", "5405", "6102") if modelo == "55" and dest is None else ("5102", "5405")
        top = 150_000 if modelo == "55" else 30_000
        itens = tuple(
            (self.rng.choice(cfops), Decimal(self.rng.randint(500, top)) / 100)
            for _ in range(self.rng.randint(1, 4))
        )
        return Nota(
            emitente=emitente,
            destinatario=dest if modelo == "55" else None,
            modelo=modelo,
            numero=numero,
            dh_emi=dh,
            cnf=self.rng.randint(10_000_000, 99_999_999),
            itens=itens,
        )

    def _moments(self, start: datetime, end: datetime, count: int) -> list[datetime]:
        """`count` business-hour moments spread over [start, end), in São Paulo time, sorted."""
        first, last = start.astimezone(SAO_PAULO).date(), end.astimezone(SAO_PAULO).date()
        span = max((last - first).days, 1)
        moments = []
        for n in range(count):
            day = first + timedelta(days=(n * span) // max(count, 1))
            at = time(
                8 + self.clock.randrange(10), self.clock.randrange(60), self.clock.randrange(60)
            )
            moment = datetime.combine(day, at, tzinfo=SAO_PAULO)
            if moment >= end:  # today, later than now: earlier today instead
                minutes = self.clock.randrange(5, 120)
                moment = max(start, end - timedelta(minutes=minutes)).replace(microsecond=0)
            moments.append(moment.astimezone(SAO_PAULO))
        return sorted(moments)

    def _ingest(self, client: DemoClient, files: list[IncomingFile]) -> int:
        """Through the ingest every upload goes through; a refused demo file is a bug."""
        report = fiscal_ingest.ingest(
            self.uow,
            ImportClient(
                client.id, self.principal.gestor_id, client.documento, client.razao_social
            ),
            files,
            via=VIA,
        )
        if report.refusals:
            reasons = "; ".join(f"{o.nome}: {o.motivo}" for o in report.refusals)
            raise RuntimeError(f"the ingest refused demo files: {reasons}")
        return report.count(Status.CARREGADO)

    def _recognize(self, client: DemoClient) -> None:
        """Reconhecer the previous month's first two supplier notes (the rest stay pending)."""
        previous = fiscal_documents.competencia_anterior(self.now)
        page = fiscal_documents.list_documents(
            self.uow,
            self.principal,
            client.id,
            tipo=TipoNota.FORNECEDOR,
            competencia=previous,
        )
        for document in list(page.items)[:2]:
            fiscal_documents.recognize(self.uow, self.principal, client.id, document.chave)


def _nfe_file(nota: Nota, data: bytes) -> IncomingFile:
    return IncomingFile(f"{nota.chave()}-procNFe.xml", data)
