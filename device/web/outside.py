"""Text from outside the household (an agency's request, the registry) as the pages show it.

The protocol refuses control characters and bidi overrides; what it lets through can still
make a field look like something it does not say: invisible characters (zero-width spaces
and joiners, direction marks, tags) that make two different case numbers look alike, a
right-to-left field that swaps its neighbours on the line, runs of combining marks that
draw over the lines around them, and hundreds of empty lines that push what follows out of
sight. `plain` drops the invisible characters, all but a few marks on a letter and all but
one empty line in a row; `isolated` is that text in a `<bdi>`, so each field keeps its own
direction and its neighbours keep their order.
"""

from __future__ import annotations

import unicodedata

from markupsafe import Markup

MAX_MARKS = 3  # combining marks kept on one letter (Vietnamese needs two, a few need three)
_MARKS = ("Mn", "Me")
_INVISIBLE = ("Cf", "Cc", "Cs", "Co", "Cn")
_LINE_BREAKS = ("Zl", "Zp")
_ALIKE = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN"})


def plain(value: object) -> str:
    """`value` as text with no invisible characters, at most MAX_MARKS marks in a row and
    at most one blank line in a row (line and paragraph separators become newlines)."""
    out: list[str] = []
    marks = 0
    for ch in str(value):
        kind = unicodedata.category(ch)
        if ch == "\n" or kind in _LINE_BREAKS:
            out.append("\n")
            marks = 0
        elif kind in _INVISIBLE:
            continue
        elif kind in _MARKS:
            marks += 1
            if marks <= MAX_MARKS:
                out.append(ch)
        else:
            out.append(ch)
            marks = 0
    lines: list[str] = []
    for line in "".join(out).split("\n"):
        if line.strip() or not lines or lines[-1].strip():
            lines.append(line)
    return "\n".join(lines)


def mixed_scripts(value: object) -> list[str]:
    """The alphabets of `value`'s letters if it mixes ones whose letters look alike (LATIN,
    CYRILLIC, GREEK, ARMENIAN), else []."""
    found = {unicodedata.name(ch, "").split(" ", 1)[0] for ch in str(value) if ch.isalpha()}
    alike = sorted(found & _ALIKE)
    return alike if len(alike) > 1 else []


def isolated(value: object) -> Markup:
    """`plain(value)`, escaped, in its own bidi isolate."""
    return Markup('<bdi class="outside">{}</bdi>').format(plain(value))
