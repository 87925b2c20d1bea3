"""domain/fiscal/fpdf_fast.py: fpdf2's line breaking gives the same PDF, byte for byte, with
the kept sums of the core fonts' widths as with fpdf2's own functions."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fpdf import FPDF
from fpdf.graphics_state import GraphicsState
from fpdf.line_break import CurrentLine, Fragment

from domain.fiscal import fpdf_fast

PINNED = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)
# Latin-1 letters, digits and signs, spaces, soft hyphens and line breaks.
ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúâêôãõçÁÉÍÓÚÇ.,;:-/()%$R" + " " * 12 + "\u00ad" * 2 + "\n"
)


@pytest.fixture
def fpdf2_alone() -> Iterator[Callable[[Callable[[], bytes]], bytes]]:
    """Runs a print with fpdf2's own width functions, then puts ours back."""

    def run(printing: Callable[[], bytes]) -> bytes:
        fpdf_fast.uninstall()
        try:
            assert CurrentLine.width is fpdf_fast._ORIGINAL_WIDTH
            return printing()
        finally:
            fpdf_fast.install()

    yield run
    fpdf_fast.install()


def words(rng: random.Random, count: int) -> str:
    text = "".join(rng.choice(ALPHABET) for _ in range(count))
    if rng.random() < 0.3:
        text += " " + "x" * rng.randint(30, 90)  # a word longer than the cell: a forced break
    return text


def document(seed: int) -> bytes:
    """Cells and tables of random text in the core fonts, with the settings that enter a
    width: size, style, character spacing, stretching, sub/superscript, markdown, alignment."""
    rng = random.Random(seed)
    pdf = FPDF()
    pdf.set_creation_date(PINNED)
    pdf.add_page()
    for _ in range(12):
        pdf.set_font(
            rng.choice(("Times", "Helvetica", "Courier")),
            rng.choice(("", "B", "I", "BI")),
            rng.choice((5, 6.5, 8, 11, 14)),
        )
        pdf.set_char_spacing(rng.choice((0, 0, 0.4, -0.2)))
        pdf.set_stretching(rng.choice((100, 100, 80, 125)))
        pdf.char_vpos = rng.choice(("LINE", "LINE", "LINE", "SUP", "SUB"))
        text = words(rng, rng.randint(5, 160))
        markdown = rng.random() < 0.4
        if markdown:
            text = text.replace("\u00ad", "").replace(" ", " **", 1).replace(" ", "** ", 2)
        pdf.multi_cell(
            rng.choice((12, 35, 80, 0)),
            rng.choice((3, 5)),
            text,
            border=1,
            align=rng.choice(("L", "J", "C", "R")),
            markdown=markdown,
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.char_vpos = "LINE"
    pdf.set_char_spacing(0)
    pdf.set_stretching(100)
    pdf.set_font("Times", "", 7)
    with pdf.table(col_widths=(10, 45, 20, 15)) as table:
        for _ in range(8):
            row = table.row()
            for _ in range(4):
                row.cell(words(rng, rng.randint(1, 60)))
    return bytes(pdf.output())


@pytest.mark.parametrize("seed", range(24))
def test_a_document_prints_the_same_with_and_without_the_kept_sums(
    seed: int, fpdf2_alone: Callable[[Callable[[], bytes]], bytes]
) -> None:
    fpdf_fast.install()  # as domain/fiscal/danfe.py does on import
    ours = document(seed)
    assert CurrentLine.width is not fpdf_fast._ORIGINAL_WIDTH  # ours were in place

    assert fpdf2_alone(lambda: document(seed)) == ours


def test_a_line_measured_after_a_trim_and_more_characters_is_measured_again() -> None:
    """The kept sum is for one list of characters: `trim` gives the fragment a new one (a
    line broken at a space, then filled again), and the width follows it."""
    fpdf_fast.install()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Times", "", 10)
    state = pdf._get_current_graphics_state()
    source = Fragment("", state, pdf.k)
    line = CurrentLine(max_width=1000)
    for character in "abc def":
        line.add_character(character, 0, source, 0, 0, 5)
    before = line.width
    line.fragments[-1].trim(3)
    for character in "WWW":
        line.add_character(character, 0, source, 0, 0, 5)

    expected = Fragment(list("abcWWW"), state, pdf.k).get_width(initial_cs=False)
    assert line.width == expected != before
    fpdf_fast.uninstall()
    try:
        assert line.width == expected
    finally:
        fpdf_fast.install()


@pytest.mark.parametrize("seed", range(8))
def test_every_width_asked_while_breaking_is_the_same_float(seed: int) -> None:
    """Closer than the PDF: the width of the line after each character, and of each
    character, equal fpdf2's own to the last bit (a PDF prints them rounded)."""
    rng = random.Random(seed)
    pdf = FPDF()
    pdf.add_page()
    for _ in range(20):
        pdf.set_font(rng.choice(("Times", "Helvetica", "Courier")), rng.choice(("", "B")))
        pdf.set_char_spacing(rng.choice((0, rng.uniform(-1, 2))))
        pdf.set_stretching(rng.choice((100, rng.uniform(50, 150))))
        pdf.char_vpos = rng.choice(("LINE", "SUP", "SUB", "NOM", "DENOM"))
        sources = []
        for size in (rng.uniform(4, 30) for _ in range(3)):  # three styles on one line
            pdf.set_font_size(size)
            sources.append(Fragment("", pdf._get_current_graphics_state(), pdf.k))
        line = CurrentLine(max_width=10_000)
        ours, theirs = [], []
        for index, character in enumerate(words(rng, 120).replace("\n", " ")):
            source = sources[min(index // 40, 2)]  # a new fragment (style) now and then
            fpdf_fast.install()
            ours.append(source.get_character_width(character, initial_cs=index > 0))
            fpdf_fast.uninstall()
            theirs.append(source.get_character_width(character, initial_cs=index > 0))
            line.add_character(character, theirs[-1], source, 0, index, 5)
            fpdf_fast.install()
            ours.append(line.width)
            fpdf_fast.uninstall()
            theirs.append(line.width)
        fpdf_fast.install()
        assert ours == theirs
        assert len(line.fragments) == 3


def test_a_graphics_state_copies_every_field_as_fpdf2_does() -> None:
    fpdf_fast.install()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Courier", "BI", 13)
    pdf.set_text_color(200, 10, 10)
    pdf.set_char_spacing(0.7)
    pdf.set_dash_pattern(dash=2, gap=1)
    state = pdf._get_current_graphics_state()
    state.text_shaping = {"use_shaping_engine": True, "features": {"kern": False}}

    ours = state.copy()
    fpdf_fast.uninstall()
    try:
        theirs = state.copy()
    finally:
        fpdf_fast.install()

    assert GraphicsState.copy is not fpdf_fast._ORIGINAL_STATE_COPY
    assert type(ours) is type(theirs) is GraphicsState
    for name in GraphicsState.__slots__:
        assert getattr(ours, name) == getattr(theirs, name), name
        if name != "text_shaping":
            assert getattr(ours, name) is getattr(state, name), name  # shallow, as copy.copy
    assert ours is not state
    assert ours.text_shaping is not None
    assert state.text_shaping is not None
    assert ours.text_shaping is not state.text_shaping  # its own dict, as fpdf2 gives
    assert ours.text_shaping["features"] is state.text_shaping["features"]


def test_fragments_have_the_same_style_exactly_when_fpdf2_says_so() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Times", "", 9)
    plain = pdf._get_current_graphics_state()
    equal = pdf._get_current_graphics_state()  # another object, the same fields
    pdf.set_font("Times", "B", 9)
    bold = pdf._get_current_graphics_state()
    fragments = [
        Fragment("a", plain, pdf.k),
        Fragment("b", plain, pdf.k),  # the same state object
        Fragment("c", equal, pdf.k),
        Fragment("d", bold, pdf.k),
        Fragment("e", plain, pdf.k * 2),
    ]

    def answers() -> list[bool]:
        return [bool(a.has_same_style(b)) for a in fragments for b in fragments]

    fpdf_fast.install()
    ours = answers()
    fpdf_fast.uninstall()
    try:
        theirs = answers()
    finally:
        fpdf_fast.install()
    assert ours == theirs
    assert ours[:5] == [True, True, True, False, False]


def test_a_subclass_of_the_graphics_state_is_copied_by_fpdf2_itself() -> None:
    fpdf_fast.install()

    class Marked(GraphicsState):
        __slots__ = ("mark",)
        mark: str

    state = Marked()
    state.mark = "kept"
    copied = state.copy()
    assert type(copied) is Marked
    assert copied.mark == "kept"
