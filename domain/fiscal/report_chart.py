"""The month report's chart as a PNG: value per day and the split by CFOP, for people who would
rather look than read. The chat sends it before the PDF, and the PDF embeds the same image.

- Top: one bar per day of the month, the vNF of the authorized notes issued that day (the
  note's own day, `LinhaRelatorio.dia`, as the report counts it).
- Bottom: Σ vProd of the authorized notes' items by CFOP, the largest first, the rest together
  as "Outros" — vProd, not vNF, so its total may differ from the top one's (the chart says so).

Matplotlib runs headless with the Agg canvas on a `Figure` of its own: never `pyplot`, whose
global figure registry is not safe in a multi-threaded server. The same data gives the same
bytes (no timestamp or software version in the PNG).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from domain.fiscal.report import ZERO, Cabecalho, Resumo
from domain.money import format_brl
from domain.text import format_number

PNG_MIME = "image/png"
# 12 × 8 inches at 100 dpi: 1200 × 800 pixels, readable on a phone and sharp enough in the PDF.
SIZE_INCHES = (12.0, 8.0)
DPI = 100
TOP_CFOPS = 7  # more than this many CFOPs: the smallest go together as "Outros"
OUTROS = "Outros"
BAR = "#29629b"  # the PDF's blue
OTHER_BAR = "#9fb8d3"
PEAK_BAR = "#1b3f66"
GRID = "#d0d0d0"
TEXT = "#222222"
EMPTY = "Nenhuma nota autorizada no período."


@dataclass(frozen=True, slots=True)
class FatiaCfop:
    """One bar of the CFOP split: a CFOP (or "Outros") and its Σ vProd."""

    rotulo: str
    v_prod: Decimal


def render_report_chart(cabecalho: Cabecalho, resumo: Resumo) -> bytes:
    """The PNG of the month: vNF per day on top, Σ vProd by CFOP below."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(figure)  # the figure draws through its own Agg canvas, not pyplot's
    kind = "emitidas" if cabecalho.tipo == "emitidas" else "de fornecedores"
    year, month = cabecalho.ano_mes
    figure.suptitle(
        f"{cabecalho.cliente} — notas {kind} {cabecalho.modelo.label} {month:02d}/{year}",
        fontsize=15,
        fontweight="bold",
        color=TEXT,
    )
    days_axes, cfop_axes = figure.subplots(2, 1, height_ratios=(3, 2))
    _days(days_axes, cabecalho, resumo)
    _cfops(cfop_axes, resumo)
    out = io.BytesIO()
    # No "Software" entry (the matplotlib version) and no dates: same data, same bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def cfop_split(resumo: Resumo, top: int = TOP_CFOPS) -> list[FatiaCfop]:
    """The CFOPs by Σ vProd, largest first (ties by code); past `top`, one "Outros" bar."""
    ranked = sorted(resumo.por_cfop, key=lambda total: (-total.v_prod, total.cfop))
    if len(ranked) <= top:
        return [FatiaCfop(total.cfop, total.v_prod) for total in ranked]
    kept = [FatiaCfop(total.cfop, total.v_prod) for total in ranked[: top - 1]]
    rest = sum((total.v_prod for total in ranked[top - 1 :]), ZERO)
    return [*kept, FatiaCfop(OUTROS, rest)]


def _money_axis(value: float, _position: object) -> str:
    return format_brl(Decimal(f"{float(value):.2f}"))


def _style(axes: Axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold", color=TEXT)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=TEXT, labelsize=9)
    axes.set_axisbelow(True)


def _days(axes: Axes, cabecalho: Cabecalho, resumo: Resumo) -> None:
    days = resumo.por_dia(cabecalho.primeiro_dia, cabecalho.ultimo_dia)
    total = sum((value for _, value in days), ZERO)
    _style(axes, f"Valor por dia — vNF das notas autorizadas (total {format_brl(total)})")
    numbers = [day.day for day, _ in days]
    values = [float(value) for _, value in days]
    peak = max(values, default=0.0)
    colours = [PEAK_BAR if peak and value == peak else BAR for value in values]
    axes.bar(numbers, values, width=0.7, color=colours)
    axes.set_xlim(0.3, len(days) + 0.7)
    axes.set_xticks(numbers)
    axes.set_xlabel("Dia do mês", color=TEXT, fontsize=10)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    axes.yaxis.set_major_formatter(FuncFormatter(_money_axis))
    if not peak:
        axes.set_ylim(0, 1)
        axes.set_yticks([0])
        axes.text(0.5, 0.5, EMPTY, transform=axes.transAxes, ha="center", color=TEXT)
        return
    axes.set_ylim(0, peak * 1.15)  # room for the peak's label
    best = values.index(peak)
    axes.annotate(
        format_brl(days[best][1]),
        (numbers[best], peak),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=9,
        color=PEAK_BAR,
    )


def _cfops(axes: Axes, resumo: Resumo) -> None:
    total = resumo.total_cfop
    _style(
        axes,
        f"Valor por CFOP — soma do vProd dos itens das notas autorizadas "
        f"(total {format_brl(total)}; pode diferir do vNF)",
    )
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    axes.xaxis.set_major_formatter(FuncFormatter(_money_axis))
    split = cfop_split(resumo)
    if not split or total <= 0:
        axes.set_yticks([])
        axes.set_xlim(0, 1)
        axes.set_xticks([0])
        axes.text(0.5, 0.5, EMPTY, transform=axes.transAxes, ha="center", color=TEXT)
        return
    split.reverse()  # barh draws bottom-up: the largest goes on top
    positions = list(range(len(split)))
    values = [float(fatia.v_prod) for fatia in split]
    colours = [OTHER_BAR if fatia.rotulo == OUTROS else BAR for fatia in split]
    axes.barh(positions, values, height=0.6, color=colours)
    axes.set_yticks(positions, [_cfop_label(fatia.rotulo) for fatia in split], fontsize=10)
    widest = max(values)
    axes.set_xlim(0, widest * 1.3)  # room for the labels after the bars
    for position, fatia in zip(positions, split, strict=True):
        share = format_number(float(fatia.v_prod / total * 100), 1)
        axes.annotate(
            f"{format_brl(fatia.v_prod)} ({share}%)",
            (float(fatia.v_prod), position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color=TEXT,
        )


def _cfop_label(rotulo: str) -> str:
    return rotulo if rotulo == OUTROS else f"CFOP {rotulo}"
