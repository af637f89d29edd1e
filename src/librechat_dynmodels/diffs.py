"""Parse git-style unified diffs into :class:`FilePatch` objects.

The catalog's own diffs have one shape (what ``git diff`` and ``refresh`` write), and reading them is on
the path of every command, so a small reader takes that shape directly. Anything else (a header line it
does not know, a hunk whose counts do not add up, a rename, a binary section) makes it step aside, and
unidiff parses the text and names what is wrong. A test holds the two to the same answer on every shipped
patch and on thousands of damaged copies of them.
"""

import re
from typing import NamedTuple

from .errors import CatalogError
from .hunks import Hunk
from .textdoc import TextDocument

_MODE = re.compile(r"^new file mode (\d{6})$", re.MULTILINE)


class FilePatch(NamedTuple):
    path: str  # relative to the checkout root, POSIX separators
    hunks: tuple[Hunk, ...]
    is_new: bool = False
    is_deleted: bool = False
    new_mode: int | None = None  # permission bits for created files

    def created_document(self) -> TextDocument:
        """The whole content of a created file."""
        hunk = self.hunks[0]
        doc = TextDocument(hunk.new_lines, ["\n"] * len(hunk.new_lines))
        if hunk.new_no_newline and doc.endings:
            doc.endings[-1] = ""
        return doc


def _strip_prefix(name: str, prefix: str, patch_name: str) -> str:
    if not name.startswith(prefix):
        raise CatalogError(f"file name {name!r} lacks the git '{prefix}' prefix", patch_name)
    return name[len(prefix) :]


def parse_patch(text: str, patch_name: str) -> list[FilePatch]:
    """Every file section of a git-style unified diff, in order."""
    fast = parse_plain_patch(text)
    if fast is not None:
        return fast
    return parse_patch_with_unidiff(text, patch_name)


class _NotPlain(Exception):
    pass


_SKIPPED_HEADERS = ("index ",)


def parse_plain_patch(text: str) -> list[FilePatch] | None:
    """The file sections of a diff in the catalog's own shape, or None for anything else."""
    try:
        return _parse_plain(text.split("\n"))
    except (_NotPlain, ValueError, IndexError):
        return None


def _parse_plain(lines: list[str]) -> list[FilePatch]:
    if lines and lines[-1] == "":
        lines.pop()
    result: list[FilePatch] = []
    i, end = 0, len(lines)
    while i < end:
        header = lines[i]
        if not header.startswith("diff --git a/"):
            raise _NotPlain
        i += 1
        new_mode: int | None = None
        is_new = is_deleted = False
        while i < end and not lines[i].startswith("--- "):
            line = lines[i]
            if line.startswith("new file mode "):
                is_new, new_mode = True, _mode(line[len("new file mode ") :])
            elif line.startswith("deleted file mode "):
                is_deleted = True
                _mode(line[len("deleted file mode ") :])
            elif not line.startswith(_SKIPPED_HEADERS):
                raise _NotPlain
            i += 1
        source, target = lines[i][4:], lines[i + 1]
        if not target.startswith("+++ "):
            raise _NotPlain
        target = target[4:]
        i += 2
        if is_new:
            if source != "/dev/null" or not target.startswith("b/"):
                raise _NotPlain
            path = target[2:]
        elif is_deleted:
            if target != "/dev/null" or not source.startswith("a/"):
                raise _NotPlain
            path = source[2:]
        else:
            if not source.startswith("a/") or target != "b/" + source[2:]:
                raise _NotPlain
            path = source[2:]
        if not path or " " in path or "\t" in path or header != f"diff --git a/{path} b/{path}":
            raise _NotPlain
        hunks: list[Hunk] = []
        while i < end and lines[i].startswith("@@ -"):
            hunk, i = _read_hunk(lines, i, len(hunks) + 1)
            hunks.append(hunk)
        if not hunks:
            raise _NotPlain
        if is_new and (len(hunks) != 1 or hunks[0].old_start or hunks[0].old_len):
            raise _NotPlain
        if is_deleted and (len(hunks) != 1 or hunks[0].new_start or hunks[0].new_len):
            raise _NotPlain
        if not is_new and not is_deleted and any(h.old_len == 0 and h.old_start == 0 for h in hunks):
            raise _NotPlain  # unidiff would call this an added file
        result.append(FilePatch(path, tuple(hunks), is_new, is_deleted, new_mode))
    if not result:
        raise _NotPlain
    return result


def _mode(text: str) -> int:
    if len(text) != 6 or not text.isdigit() or not text.startswith("100"):
        raise _NotPlain
    return int(text[-3:], 8)


def _range(text: str, sign: str) -> tuple[int, int]:
    if not text.startswith(sign):
        raise _NotPlain
    start, comma, length = text[1:].partition(",")
    if not start.isdigit() or (comma and not length.isdigit()):
        raise _NotPlain
    return int(start), int(length) if comma else 1


def _read_hunk(lines: list[str], i: int, index: int) -> tuple[Hunk, int]:
    parts = lines[i].split(" ", 4)
    if len(parts) < 4 or parts[3] != "@@":
        raise _NotPlain
    old_start, old_len = _range(parts[1], "-")
    new_start, new_len = _range(parts[2], "+")
    i += 1
    if old_len == 0 and i + new_len <= len(lines):  # a created file or a pure insertion: all "+" lines
        block = lines[i : i + new_len]
        if new_len and ("\n" + "\n".join(block)).count("\n+") == new_len:  # every line starts with "+"
            i += new_len
            new_no_newline = _no_newline_marker(lines, i)
            i += new_no_newline
            added = tuple(("+", line[1:-1] if line.endswith("\r") else line[1:]) for line in block)
            return Hunk(index, old_start, 0, new_start, new_len, added, False, new_no_newline), i
    body: list[tuple[str, str]] = []
    old_left, new_left = old_len, new_len
    old_no_newline = new_no_newline = False
    end = len(lines)
    while old_left > 0 or new_left > 0:
        if i >= end:
            raise _NotPlain
        line = lines[i]
        tag = line[:1]
        if tag == " ":
            old_left -= 1
            new_left -= 1
        elif tag == "-":
            old_left -= 1
        elif tag == "+":
            new_left -= 1
        else:
            raise _NotPlain
        if old_left < 0 or new_left < 0:
            raise _NotPlain
        value = line[1:]
        if value.endswith("\r"):
            value = value[:-1]
        body.append((tag, value))
        i += 1
        if _no_newline_marker(lines, i):
            if tag in (" ", "-"):
                old_no_newline = True
            if tag in (" ", "+"):
                new_no_newline = True
            i += 1
    if not body:
        raise _NotPlain
    hunk = Hunk(index, old_start, old_len, new_start, new_len, tuple(body), old_no_newline, new_no_newline)
    return hunk, i


def _no_newline_marker(lines: list[str], i: int) -> bool:
    """Whether line ``i`` is git's "no newline" marker; any other "\\" line is outside the plain shape."""
    if i < len(lines) and lines[i].startswith("\\"):
        if lines[i] != "\\ No newline at end of file":
            raise _NotPlain
        return True
    return False


def parse_patch_with_unidiff(text: str, patch_name: str) -> list[FilePatch]:
    """What unidiff reads in ``text``; its parse errors become :class:`CatalogError`."""
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    try:
        patch_set = PatchSet.from_string(text)
    except UnidiffParseError as exc:
        raise CatalogError(f"corrupt patch: {exc}", patch_name) from None
    if not len(patch_set):
        raise CatalogError("corrupt patch: no file sections found", patch_name)

    result = []
    for patched in patch_set:
        if getattr(patched, "is_binary_file", False):
            raise CatalogError(f"binary patches are not supported ({patched.path})", patch_name)
        if patched.is_rename:
            raise CatalogError(f"renames are not supported ({patched.path})", patch_name)
        is_new = patched.is_added_file
        is_deleted = patched.is_removed_file
        if is_new:
            path = _strip_prefix(patched.target_file, "b/", patch_name)
        else:
            path = _strip_prefix(patched.source_file, "a/", patch_name)
            if not is_deleted:
                target = _strip_prefix(patched.target_file, "b/", patch_name)
                if target != path:
                    raise CatalogError(f"renames are not supported ({path} -> {target})", patch_name)
        mode_match = _MODE.search(str(patched.patch_info or ""))
        new_mode = int(mode_match.group(1)[-3:], 8) if mode_match else None
        hunks = tuple(_convert(i, hunk) for i, hunk in enumerate(patched, start=1))
        if not hunks:
            raise CatalogError(f"corrupt patch: {path} has no hunks", patch_name)
        result.append(FilePatch(path, hunks, is_new, is_deleted, new_mode))
    return result


def _convert(index: int, hunk: object) -> Hunk:
    lines: list[tuple[str, str]] = []
    old_no_newline = new_no_newline = False
    for line in hunk:  # type: ignore[attr-defined]
        tag = line.line_type
        if tag == "\\":
            previous = lines[-1][0] if lines else " "
            if previous in (" ", "-"):
                old_no_newline = True
            if previous in (" ", "+"):
                new_no_newline = True
            continue
        value = line.value
        if value.endswith("\n"):
            value = value[:-1]
        if value.endswith("\r"):
            value = value[:-1]
        lines.append((tag, value))
    return Hunk(
        number=index,
        old_start=hunk.source_start,  # type: ignore[attr-defined]
        old_len=hunk.source_length,  # type: ignore[attr-defined]
        new_start=hunk.target_start,  # type: ignore[attr-defined]
        new_len=hunk.target_length,  # type: ignore[attr-defined]
        lines=tuple(lines),
        old_no_newline=old_no_newline,
        new_no_newline=new_no_newline,
    )


def render_git_diff(path: str, old: bytes | None, new: bytes, new_mode: int = 0o644, context: int = 3) -> str:
    """One git-style file section (no index line, no timestamps) turning ``old`` into ``new``.

    ``old`` None means a created file. Returns "" when nothing changed.
    """
    import difflib

    before = _diff_lines(old) if old is not None else []
    after = _diff_lines(new)
    body = list(difflib.unified_diff(before, after, n=context, lineterm="\n"))[2:]
    if not body:
        return ""
    header = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        header += [f"new file mode 100{new_mode:o}\n", "--- /dev/null\n"]
    else:
        header.append(f"--- a/{path}\n")
    header.append(f"+++ b/{path}\n")
    out = []
    for line in body:
        if line.endswith("\x00"):  # marker for a last line without newline (see _diff_lines)
            out.append(line[:-1] + "\n\\ No newline at end of file\n")
        else:
            out.append(line)
    return "".join(header + out)


def _diff_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "surrogateescape")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\x00"  # keeps "no newline" distinct from the same line with one
    return lines
