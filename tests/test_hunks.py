from __future__ import annotations

from librechat_dynmodels.diffs import parse_patch
from librechat_dynmodels.hunks import Hunk, MatchKind, apply_hunks, locate
from librechat_dynmodels.textdoc import TextDocument

BODY = [f"line {i}" for i in range(1, 21)]


def hunk_replacing(line_no: int, new: str, context: int = 3, old_start: int | None = None) -> Hunk:
    i = line_no - 1
    before = BODY[max(i - context, 0) : i]
    after = BODY[i + 1 : i + 1 + context]
    lines = tuple([(" ", t) for t in before] + [("-", BODY[i]), ("+", new)] + [(" ", t) for t in after])
    start = old_start if old_start is not None else line_no - len(before)
    size = len(before) + 1 + len(after)
    return Hunk(1, start, size, start, size, lines)


def doc(lines: list[str], eol: str = "\n") -> TextDocument:
    return TextDocument.from_bytes("".join(line + eol for line in lines).encode())


def test_hunk_at_its_line_is_exact() -> None:
    match = locate(hunk_replacing(10, "X"), BODY, expected=6)
    assert match.kind is MatchKind.EXACT and match.position == 6


def test_hunk_found_elsewhere_reports_its_offset() -> None:
    shifted = ["new"] * 4 + BODY
    match = locate(hunk_replacing(10, "X"), shifted, expected=6)
    assert match.kind is MatchKind.OFFSET and match.offset == 4


def test_changed_context_fails_with_the_first_differing_line() -> None:
    edited = list(BODY)
    edited[7] = "someone else's edit"
    match = locate(hunk_replacing(10, "X"), edited, expected=6)
    assert match.kind is MatchKind.FAILS
    assert match.first_difference == 8
    assert match.actual_line == "someone else's edit" and match.expected_line == "line 8"


def test_fuzz_ignores_outer_context_lines_when_asked() -> None:
    edited = list(BODY)
    edited[6] = "edited first context line"
    assert locate(hunk_replacing(10, "X"), edited, expected=6).kind is MatchKind.FAILS
    match = locate(hunk_replacing(10, "X"), edited, expected=6, fuzz=1)
    assert match.kind is MatchKind.FUZZ and match.fuzz == 1


def test_fuzz_never_ignores_the_changed_lines() -> None:
    edited = list(BODY)
    edited[9] = "the removed line was edited"
    assert locate(hunk_replacing(10, "X"), edited, expected=6, fuzz=2).kind is MatchKind.FAILS


def test_ambiguity_is_decided_only_by_equal_distance() -> None:
    block = ["a", "b", "c", "TARGET", "d", "e", "f"]
    h = Hunk(
        1,
        1,
        7,
        1,
        7,
        tuple([(" ", t) for t in block[:3]] + [("-", "TARGET"), ("+", "NEW")] + [(" ", t) for t in block[4:]]),
    )
    lines = block + ["gap"] * 3 + block  # copies at 0 and 10
    assert locate(h, lines, expected=5).kind is MatchKind.AMBIGUOUS
    nearer = locate(h, lines, expected=4)
    assert nearer.kind is MatchKind.OFFSET and nearer.position == 0


def test_applied_hunk_is_recognised_as_already_applied() -> None:
    h = hunk_replacing(10, "X")
    patched = BODY[:9] + ["X"] + BODY[10:]
    assert locate(h, patched, expected=6).kind is MatchKind.ALREADY_APPLIED


def test_apply_keeps_crlf_and_uses_it_for_new_lines() -> None:
    original = doc(BODY, "\r\n")
    patched, matches = apply_hunks(original, [hunk_replacing(10, "X")])
    assert all(m.applies for m in matches)
    data = patched.to_bytes()
    assert b"line 9\r\nX\r\nline 11\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_apply_keeps_bom_and_missing_final_newline() -> None:
    raw = b"\xef\xbb\xbf" + "\n".join(BODY).encode()
    patched, _ = apply_hunks(TextDocument.from_bytes(raw), [hunk_replacing(19, "X")])
    data = patched.to_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"line 20") and b"X\nline 20" in data


def test_document_round_trips_every_byte() -> None:
    for raw in (b"", b"a", b"a\n", b"a\r\nb\nc", b"\xef\xbb\xbfa\r\n", b"\xff\xfe bad utf8\n", b"\n\n"):
        assert TextDocument.from_bytes(raw).to_bytes() == raw


def test_patch_markers_change_the_final_newline_on_purpose() -> None:
    text = (
        "diff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
        "\\ No newline at end of file\n+c\n"
    )
    (file_patch,) = parse_patch(text, "t.patch")
    patched, matches = apply_hunks(TextDocument.from_bytes(b"a\nb"), file_patch.hunks)
    assert matches[0].kind is MatchKind.EXACT
    assert patched.to_bytes() == b"a\nc\n"


def test_insertion_at_end_of_file_without_newline_keeps_that_state() -> None:
    h = Hunk(1, 19, 2, 19, 3, ((" ", "line 19"), (" ", "line 20"), ("+", "line 21")))
    patched, _ = apply_hunks(TextDocument.from_bytes("\n".join(BODY).encode()), [h])
    assert patched.to_bytes().endswith(b"line 20\nline 21")


def test_generated_diffs_apply_exactly_to_their_source() -> None:
    import random

    from librechat_dynmodels.diffs import render_git_diff

    rng = random.Random(1234)
    for case in range(300):
        size = rng.randint(0, 30)
        old_lines = [f"l{rng.randint(0, 8)}" for _ in range(size)]
        new_lines = list(old_lines)
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(new_lines))
            if new_lines and rng.random() < 0.4:
                del new_lines[min(at, len(new_lines) - 1)]
            else:
                new_lines.insert(at, f"new{rng.randint(0, 3)}")
        eol = rng.choice(["\n", "\r\n"])
        old = eol.join(old_lines) + (eol if old_lines and rng.random() < 0.8 else "")
        new = eol.join(new_lines) + (eol if new_lines and rng.random() < 0.8 else "")
        if not old or old == new:
            continue
        text = render_git_diff("f.txt", old.encode(), new.encode())
        if not text:
            continue
        (file_patch,) = parse_patch(text, f"case {case}")
        patched, matches = apply_hunks(TextDocument.from_bytes(old.encode()), file_patch.hunks)
        assert all(m.applies for m in matches), (case, old, new, matches)
        assert patched.to_bytes() == new.encode(), (case, old, new)


def test_a_hunk_that_appends_at_the_end_is_already_applied_once_applied_never_appended_twice() -> None:
    appending = Hunk(1, 18, 3, 18, 4, tuple([(" ", t) for t in BODY[17:]] + [("+", "export { added };")]))
    patched, matches = apply_hunks(doc(BODY), [appending])
    assert matches[0].kind is MatchKind.EXACT
    assert patched.lines == BODY + ["export { added };"]
    again, matches = apply_hunks(patched, [appending])
    assert matches[0].kind is MatchKind.ALREADY_APPLIED
    assert again.lines == BODY + ["export { added };"]


def test_a_hunk_that_deletes_the_last_line_is_not_mistaken_for_applied() -> None:
    deleting = Hunk(1, 17, 4, 17, 3, tuple([(" ", t) for t in BODY[16:19]] + [("-", BODY[19])]))
    patched, matches = apply_hunks(doc(BODY), [deleting])
    assert matches[0].kind is MatchKind.EXACT and patched.lines == BODY[:19]
    assert apply_hunks(patched, [deleting])[1][0].kind is MatchKind.ALREADY_APPLIED
