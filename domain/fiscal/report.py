"""The month report of a client's notes: its rows, what is summed and how, in one pass.

The value reported is the note total, `total/ICMSTot/vNF`, of the authorized notes only
(cancelled, denied and unauthorized notes are counted but not summed). The CFOP table sums the
items' `vProd` (the product value, without IPI, ST, freight or discounts), which is why its
total may differ from the vNF total; the report says so.

Rendering lives next door: `report_pdf` (PDF with the per-day chart) and `report_tables`
(CSV and XLSX of the same rows).
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.fiscal.fields import NFE_NS
from domain.fiscal.model import Item, Modelo, NotaFiscal, Participante, Situacao
from domain.fiscal.safe_xml import load_xml

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class LinhaRelatorio:
    """One note as the report shows it; `situacao` is the stored one (events included)."""

    chave: str
    modelo: Modelo
    serie: int
    numero: int
    dh_emi: datetime
    emitente: Participante
    destinatario: Participante | None
    situacao: Situacao
    v_nf: Decimal
    itens: tuple[Item, ...] = ()

    @classmethod
    def from_nota(cls, nota: NotaFiscal, situacao: Situacao | None = None) -> LinhaRelatorio:
        return cls(
            chave=str(nota.chave),
            modelo=nota.modelo,
            serie=nota.serie,
            numero=nota.numero,
            dh_emi=nota.dh_emi,
            emitente=nota.emitente,
            destinatario=nota.destinatario,
            situacao=situacao or nota.situacao,
            v_nf=nota.v_nf,
            itens=nota.itens,
        )

    @property
    def dia(self) -> date:
        """The emission day the note says (its dhEmi in its own offset, as the month is)."""
        return self.dh_emi.date()

    @property
    def cfops(self) -> str:
        return ", ".join(sorted({item.cfop for item in self.itens}))


def itens_do_xml(xml: bytes) -> tuple[Item, ...]:
    """Only the items (CFOP, vProd) of a stored note: the report takes everything else from
    the stored columns, and this is ~3× faster than reading the whole document again."""
    root = load_xml(xml)
    itens = []
    for n, prod in enumerate(root.iter(f"{{{NFE_NS}}}prod"), start=1):
        cfop = prod.findtext(f"{{{NFE_NS}}}CFOP") or ""
        v_prod = Decimal(prod.findtext(f"{{{NFE_NS}}}vProd") or "0")
        itens.append(Item(n, cfop.strip(), v_prod))
    return tuple(itens)


def participante(documento: str | None, nome: str | None) -> Participante | None:
    """A stored party (CNPJ of 14 characters, else CPF) as the report shows it."""
    if not documento and not nome:
        return None
    if documento and len(documento) == 14:
        return Participante(cnpj=documento, x_nome=nome)
    return Participante(cpf=documento, x_nome=nome)


@dataclass(frozen=True, slots=True)
class Cabecalho:
    """Whose notes, which month and model, and when the report was made (the clock)."""

    cliente: str
    documento: str
    competencia: str  # AAAA-MM
    modelo: Modelo
    gerado_em: datetime
    tipo: str = "emitidas"  # or "fornecedores"

    @property
    def ano_mes(self) -> tuple[int, int]:
        year, month = self.competencia.split("-")
        return int(year), int(month)

    @property
    def primeiro_dia(self) -> date:
        year, month = self.ano_mes
        return date(year, month, 1)

    @property
    def ultimo_dia(self) -> date:
        year, month = self.ano_mes
        return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, slots=True)
class TotalCfop:
    cfop: str
    itens: int
    v_prod: Decimal


@dataclass(slots=True)
class Resumo:
    """Everything the PDF shows, accumulated row by row."""

    contagem: Counter[Situacao] = field(default_factory=Counter)
    total_autorizadas: Decimal = ZERO
    canceladas: list[LinhaRelatorio] = field(default_factory=list)
    _cfop_itens: Counter[str] = field(default_factory=Counter)
    _cfop_valor: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    _por_dia: defaultdict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, linha: LinhaRelatorio) -> None:
        self.contagem[linha.situacao] += 1
        if linha.situacao is Situacao.CANCELADA:
            self.canceladas.append(linha)
        if linha.situacao is not Situacao.AUTORIZADA:
            return
        self.total_autorizadas += linha.v_nf
        self._por_dia[linha.dia] += linha.v_nf
        for item in linha.itens:
            self._cfop_itens[item.cfop] += 1
            self._cfop_valor[item.cfop] += item.v_prod

    def tally(
        self, linhas: Iterable[LinhaRelatorio], each: Callable[[int], None]
    ) -> Iterator[LinhaRelatorio]:
        """The rows as they are read, each added to these totals on its way (one pass: the
        table is written from the same rows); `each(n)` after the n-th row (a job's progress,
        its lease)."""
        for lidas, linha in enumerate(linhas, start=1):
            self.add(linha)
            each(lidas)
            yield linha

    def finished(self) -> Resumo:
        """Once every row was added: the cancelled notes in série/number order."""
        self.canceladas.sort(key=lambda linha: (linha.serie, linha.numero))
        return self

    @property
    def total_notas(self) -> int:
        return sum(self.contagem.values())

    @property
    def por_cfop(self) -> list[TotalCfop]:
        return [
            TotalCfop(cfop, self._cfop_itens[cfop], self._cfop_valor[cfop])
            for cfop in sorted(self._cfop_itens)
        ]

    @property
    def total_cfop(self) -> Decimal:
        return sum(self._cfop_valor.values(), ZERO)

    def por_dia(self, primeiro: date, ultimo: date) -> list[tuple[date, Decimal]]:
        """Every day of the period, with zero where nothing was authorized."""
        return [
            (dia, self._por_dia.get(dia, ZERO))
            for dia in (
                date.fromordinal(n) for n in range(primeiro.toordinal(), ultimo.toordinal() + 1)
            )
        ]


def summarize(linhas: Iterable[LinhaRelatorio]) -> Resumo:
    resumo = Resumo()
    for linha in linhas:
        resumo.add(linha)
    return resumo.finished()


SITUACOES = (
    Situacao.AUTORIZADA,
    Situacao.CANCELADA,
    Situacao.DENEGADA,
    Situacao.NAO_AUTORIZADA,
)
