"""Locate and apply hunks the way GNU patch does, with git apply's caution.

A hunk is found at its expected line first, then at the nearest offset; with ``fuzz`` N up to
N lines of leading and trailing context may be ignored. A hunk whose lines match in two places
equally near the expected line is ambiguous and refused. A hunk whose *new* side is found is
already applied, as GNU ``patch -N`` decides it (the reversed hunk applies). When both sides are
found equally near, the longer side decides: a hunk that only appends lines keeps its old side
(its context) in the patched file too, and applying it again would append them twice.
"""

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import NamedTuple

from .textdoc import TextDocument


class Hunk(NamedTuple):
    number: int  # 1-based within its file
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[tuple[str, str], ...]  # (" " | "-" | "+", text without terminator)
    old_no_newline: bool = False
    new_no_newline: bool = False

    @property
    def old_lines(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "-"]

    @property
    def leading_context(self) -> int:
        return _context_run(self.lines)

    @property
    def trailing_context(self) -> int:
        return _context_run(reversed(self.lines))

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"


def _context_run(lines: Iterable[tuple[str, str]]) -> int:
    count = 0
    for tag, _ in lines:
        if tag != " ":
            break
        count += 1
    return count


class MatchKind(str, Enum):
    EXACT = "exact"
    OFFSET = "offset"
    FUZZ = "fuzz"
    ALREADY_APPLIED = "already applied"
    FAILS = "fails"
    AMBIGUOUS = "ambiguous"


class Match(NamedTuple):
    kind: MatchKind
    position: int = 0  # 0-based line where the hunk's (untrimmed) old or new side starts
    offset: int = 0
    fuzz: int = 0
    length: int = 0  # how many lines of the file the hunk covers at ``position``
    first_difference: int | None = None  # 1-based file line where the hunk first differs
    expected_line: str | None = None
    actual_line: str | None = None

    @property
    def applies(self) -> bool:
        return self.kind in (MatchKind.EXACT, MatchKind.OFFSET, MatchKind.FUZZ)

    @property
    def ok(self) -> bool:
        return self.applies or self.kind is MatchKind.ALREADY_APPLIED


def _matches_at(lines: Sequence[str], pattern: list[str], pos: int, start: int, expected: int) -> bool:
    if not pattern:  # a hunk without context inserts at its line number and nowhere else
        return pos == expected and start <= pos <= len(lines)
    size = len(pattern)
    return start <= pos <= len(lines) - size and lines[pos] == pattern[0] and list(lines[pos : pos + size]) == pattern


class _Side(NamedTuple):
    is_new: bool
    pattern: list[str]  # the side's lines without the context that fuzz ignores
    length: int  # the whole side's


def _nearest(
    lines: Sequence[str], sides: list[_Side], start: int, anchor: int, expected: int
) -> list[tuple[int, bool, int, bool, int]]:
    """Each side found nearest ``anchor`` (at or after ``start``), as (distance, is_new_side, position,
    tie, side length); only the sides found at the least distance, since a farther one never wins.

    The search walks outward from ``anchor``, one line each way per step, so a hunk near its expected
    line costs a few comparisons however long the file is, and planning stays linear in the hunks of a
    file. A side found on both sides at the same distance is a tie (ambiguous)."""
    reach = max(anchor - start, len(lines) - anchor, 0) + 1
    for distance in range(reach):
        found = []
        below, above = anchor - distance, anchor + distance
        for side in sides:
            at_below = _matches_at(lines, side.pattern, below, start, expected)
            at_above = distance > 0 and _matches_at(lines, side.pattern, above, start, expected)
            if at_below or at_above:
                found.append((distance, side.is_new, below if at_below else above, at_below and at_above, side.length))
        if found:
            return found
    return []


def locate(hunk: Hunk, lines: Sequence[str], expected: int, start: int = 0, fuzz: int = 0) -> Match:
    """Find ``hunk`` in ``lines`` at or after ``start``; ``expected`` is its 0-based predicted line."""
    old, new = hunk.old_lines, hunk.new_lines
    for level in range(fuzz + 1):
        lead = min(level, hunk.leading_context)
        trail = min(level, hunk.trailing_context)
        if level and not lead and not trail:
            continue
        sides = [
            _Side(is_new, side[lead : len(side) - trail], len(side))
            for is_new, side in ((False, old), (True, new))
            # a hunk that empties a file, or changes only the final newline, cannot be
            # recognised as applied by its lines (apply_hunks checks the newline itself)
            if not (is_new and (not new or new == old))
        ]
        found = [  # (distance, is_new_side, position, tie, side length)
            (distance, is_new, position - lead, tie, length)
            for distance, is_new, position, tie, length in _nearest(lines, sides, start, expected + lead, expected)
        ]
        if not found:
            continue
        # nearest first; of two sides found equally near, the longer one: it is the more specific
        # evidence (an appended line found after its context: applied; a line to delete still
        # found after its context: not applied)
        found.sort(key=lambda f: (f[0], -f[4]))
        distance, is_new, position, tie, length = found[0]
        if tie:  # the nearer side matches two places equally near: refuse to guess
            return Match(MatchKind.AMBIGUOUS, position=position, length=length)
        offset = position - expected
        if is_new:
            kind = MatchKind.ALREADY_APPLIED
        elif level:
            kind = MatchKind.FUZZ
        else:
            kind = MatchKind.OFFSET if offset else MatchKind.EXACT
        return Match(kind, position=position, offset=offset, fuzz=level, length=length)
    return first_mismatch(old, lines, min(max(expected, start), max(len(lines) - 1, 0)))


def first_mismatch(want: Sequence[str], lines: Sequence[str], at: int, whole: bool = False) -> Match:
    """A failed match at ``at``, naming the first line where ``lines`` differ from ``want``.

    ``whole`` also counts lines that ``lines`` has beyond ``want`` (comparing entire files).
    """
    count = max(len(want), len(lines) - at) if whole else len(want)
    for i in range(count):
        expected = want[i] if i < len(want) else None
        actual = lines[at + i] if at + i < len(lines) else None
        if expected != actual:
            return Match(
                MatchKind.FAILS, position=at, first_difference=at + i + 1, expected_line=expected, actual_line=actual
            )
    return Match(MatchKind.FAILS, position=at)


def apply_hunks(doc: TextDocument, hunks: Sequence[Hunk], fuzz: int = 0) -> tuple[TextDocument, list[Match]]:
    """Locate every hunk in order; return the patched document and one match per hunk.

    The document is returned unchanged (as a copy) when any hunk does not apply; callers
    check ``all(m.ok for m in matches)`` before using it.
    """
    matches: list[Match] = []
    lines, endings = doc.lines, doc.endings
    offset, start = 0, 0
    for hunk in hunks:
        base = hunk.old_start - 1 if hunk.old_len else hunk.old_start
        match = locate(hunk, lines, base + offset, start, fuzz)
        if match.applies and hunk.old_lines == hunk.new_lines and doc.final_newline != hunk.new_no_newline:
            match = match._replace(kind=MatchKind.ALREADY_APPLIED)  # only the final newline, already right
        matches.append(match)
        if match.ok:
            offset = match.position - base
            start = match.position + match.length
    if not all(m.ok for m in matches):
        return doc.copy(), matches

    eol = doc.eol
    out_lines: list[str] = []
    out_endings: list[str] = []
    cursor = 0
    ends_at_eof = False
    final_newline = doc.final_newline
    for hunk, match in zip(hunks, matches, strict=False):
        if not match.applies:
            continue
        out_lines.extend(lines[cursor : match.position])
        out_endings.extend(endings[cursor : match.position])
        source = match.position
        for tag, text in hunk.lines:
            if tag == "+":
                out_lines.append(text)
                out_endings.append(eol)
                continue
            if tag == " ":
                # context (fuzzed or not) keeps the file's own line and terminator
                out_lines.append(lines[source])
                out_endings.append(endings[source])
            source += 1
        cursor = source
        if cursor >= len(lines):
            ends_at_eof = True
            if hunk.new_no_newline:
                final_newline = False
            elif hunk.old_no_newline:
                final_newline = True
    out_lines.extend(lines[cursor:])
    out_endings.extend(endings[cursor:])
    _settle_endings(out_endings, eol, final_newline if ends_at_eof else doc.final_newline)
    return TextDocument(out_lines, out_endings, doc.bom), matches


def _settle_endings(endings: list[str], eol: str, final_newline: bool) -> None:
    """Only the last line may lack a terminator, and it does exactly when it should."""
    last = len(endings) - 1
    if last > 0 and "" in endings[:last]:  # rare: only a line the patch moved off the end of the file
        for i in range(last):
            if endings[i] == "":
                endings[i] = eol
    if endings:
        if final_newline and endings[-1] == "":
            endings[-1] = eol
        elif not final_newline:
            endings[-1] = ""
