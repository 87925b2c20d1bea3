"""Three of fpdf2's hot paths, done with less work and the same result bit for bit.

On a DANFE, printed by brazilfiscalreport with the core Times font, about a fifth of the CPU
went to measuring text and a few per cent to copying and comparing graphics states
(benchmarks/danfe.py has the profile). `install()` puts in place:

- **Line widths summed once per character.** fpdf2 breaks a text into lines (`multi_cell`,
  the cells of a `Table`) one character at a time, and at each character asks the width of
  the line so far: `CurrentLine.width` joins every fragment's characters into a string and
  sums their widths again, and the width of the character itself goes through the same
  general path. A core font's widths are integers (thousandths of the font size), so the sum
  of a line's widths is exact in any order, and a line can keep the sum of the characters it
  already measured and add only the new ones; from that sum the float is computed with
  fpdf2's own operations, in its order (× size in points × 0.001, the stretching, the
  character spacing, ÷ the scale factor). A fragment's characters only grow by appending or
  are replaced by a new list (`trim`), so a kept sum is trusted only for the same list object
  at the same or a greater length. Plain `Fragment`s in a core font only; any other font or
  fragment takes fpdf2's own path.
- **A graphics state copied field by field.** `GraphicsState.copy` (every fragment, every
  cell takes one) went through `copy.copy`, which for a slotted dataclass builds a reduce
  tuple and a dict of its slots; `_copy_state` assigns the slots straight (generated from
  the class's own `__slots__`, so a field fpdf2 adds is copied too), then copies the text
  shaping dict as fpdf2 does.

- **The same style known without comparing.** While a line is broken, each character asks
  whether its fragment has the line's last fragment's style (`Fragment.has_same_style`):
  fpdf2 compares the two graphics states field by field (two tuples of 25 built per
  character), though a line's fragment is a clone sharing its source's state object.
  `_same_style` answers True for the same object first — what the field-by-field comparison
  gives for it — and compares otherwise.

tests/unit/fiscal_chat/test_fpdf_fast.py compares the floats and the states with fpdf2's own
and prints varied texts with and without these, PDFs byte for byte; the DANFE's own
byte-for-byte test compares with brazilfiscalreport run plainly in another interpreter.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from fpdf import line_break
from fpdf.enums import CharVPos
from fpdf.fonts import CoreFont
from fpdf.graphics_state import GraphicsState
from fpdf.line_break import HYPHEN, SOFT_HYPHEN, CurrentLine, Fragment

_ORIGINAL_WIDTH = CurrentLine.width
_ORIGINAL_CHARACTER_WIDTH = Fragment.get_character_width
_ORIGINAL_STATE_COPY = GraphicsState.copy
# Where a CurrentLine keeps, per fragment: (fragment, its list, length, sum, text length).
_SUMS = "_revendabot_sums"


def _scaled(fragment: Fragment, total: int, length: int, initial_cs: bool) -> float:
    """`Fragment.get_width`'s arithmetic for a core font, from the sum of the widths; the
    fragment's properties read straight from its graphics state (text on the line: the
    size as set; sub/superscript and the like take the property, which scales it)."""
    state = fragment.graphics_state
    size = state.font_size_pt if state.char_vpos is CharVPos.LINE else fragment.font_size_pt
    w = total * size * 0.001
    char_spacing = state.char_spacing
    stretching = state.font_stretching
    if stretching != 100:
        w *= stretching * 0.01
        char_spacing *= stretching * 0.01
    if state.char_spacing != 0:
        if initial_cs:
            w += char_spacing * length
        else:
            w += char_spacing * (length - 1)
    return w / fragment.k


def _line_width(self: CurrentLine) -> float:
    sums: dict[int, tuple[Any, ...]] | None = self.__dict__.get(_SUMS)
    if sums is None:
        sums = {}
        setattr(self, _SUMS, sums)
    width: float = 0
    for i, fragment in enumerate(self.fragments):
        font = fragment.graphics_state.current_font
        if type(fragment) is not Fragment or type(font) is not CoreFont:
            width += fragment.get_width(initial_cs=i > 0)
            continue
        characters = fragment.characters
        count = len(characters)
        kept = sums.get(id(fragment))
        if kept is not None and kept[0] is fragment and kept[1] is characters and kept[2] <= count:
            start, total, length = kept[2], kept[3], kept[4]
        else:
            start, total, length = 0, 0, 0
        if start < count:
            widths = font.cw
            for piece in characters[start:]:
                for character in piece:
                    total += widths[character]
                length += len(piece)
            sums[id(fragment)] = (fragment, characters, count, total, length)
        width += _scaled(fragment, total, length, i > 0)
    return width


def _character_width(
    self: Fragment, character: str, print_sh: bool = False, initial_cs: bool = True
) -> float:
    font = self.graphics_state.current_font
    if type(self) is not Fragment or type(font) is not CoreFont:
        return _ORIGINAL_CHARACTER_WIDTH(self, character, print_sh, initial_cs)
    if character == SOFT_HYPHEN and not print_sh:
        character = HYPHEN  # what fpdf2 prints in its place
    total = 0
    for piece in character:
        total += font.cw[piece]
    return _scaled(self, total, len(character), initial_cs)


def _state_copier() -> Any:
    """`GraphicsState.copy` as straight slot assignments (what `copy.copy` does for a slotted
    object: a new instance with the same value in every slot), text shaping copied apart."""
    slots = [name for name in GraphicsState.__slots__ if name != "text_shaping"]
    body = "".join(f"    new.{name} = self.{name}\n" for name in slots)
    source = (
        "def _copy_state(self):\n"
        "    if type(self) is not _class:  # a subclass may have slots of its own\n"
        "        return _original(self)\n"
        "    new = _new(_class)\n"
        f"{body}"
        "    new.text_shaping = _copy(self.text_shaping)\n"
        "    return new\n"
    )
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_class": GraphicsState,
        "_copy": copy,
        "_original": _ORIGINAL_STATE_COPY,
    }
    exec(compile(source, "<fpdf_fast: GraphicsState.copy>", "exec"), namespace)  # noqa: S102
    return namespace["_copy_state"]


_copy_state = _state_copier()
_ORIGINAL_SAME_STYLE = Fragment.has_same_style


def _same_style(self: Fragment, other: Fragment) -> bool:
    mine, theirs = self.graphics_state, other.graphics_state
    return (
        (mine is theirs or mine == theirs)
        and self.k == other.k
        and self.__class__ == other.__class__
    )


def install() -> None:
    """Use the functions above (idempotent)."""
    line_break.CurrentLine.width = property(_line_width)  # type: ignore[assignment,method-assign]
    line_break.Fragment.get_character_width = _character_width  # type: ignore[method-assign]
    GraphicsState.copy = _copy_state  # type: ignore[method-assign]
    line_break.Fragment.has_same_style = _same_style  # type: ignore[method-assign]


def uninstall() -> None:
    """Back to fpdf2's own (for the tests that compare both)."""
    line_break.CurrentLine.width = _ORIGINAL_WIDTH  # type: ignore[method-assign]
    line_break.Fragment.get_character_width = _ORIGINAL_CHARACTER_WIDTH  # type: ignore[method-assign]
    GraphicsState.copy = _ORIGINAL_STATE_COPY  # type: ignore[method-assign]
    line_break.Fragment.has_same_style = _ORIGINAL_SAME_STYLE  # type: ignore[method-assign]
