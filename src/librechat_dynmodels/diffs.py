"""Read git-style unified diffs (with unidiff) into :class:`FilePatch` objects, and write them."""

import re
from typing import NamedTuple

from .errors import CatalogError
from .hunks import Hunk
from .textdoc import TextDocument

_MODE = re.compile(r"^new file mode (\d{6})$", re.MULTILINE)
_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


class FilePatch(NamedTuple):
    path: str  # relative to the checkout root, POSIX separators
    hunks: tuple[Hunk, ...]
    is_new: bool = False
    is_deleted: bool = False
    new_mode: int | None = None  # permission bits for created files
    origin: str = ""  # a shared feature file: its place in the catalog ("feature/...")
    content: bytes | None = None  # a shared feature file: its bytes

    def created_document(self) -> TextDocument:
        """The whole content of a created file."""
        if self.content is not None:
            return TextDocument.from_bytes(self.content)
        hunk = self.hunks[0]
        doc = TextDocument(hunk.new_lines, ["\n"] * len(hunk.new_lines))
        if hunk.new_no_newline and doc.endings:
            doc.endings[-1] = ""
        return doc


def _unquote_git_name(name: str) -> str:
    """A file name as git writes it: names with non-ASCII or special bytes are C-quoted
    (``"a/caf\\303\\251.js"``); the octal escapes are UTF-8 bytes."""
    if not (len(name) >= 2 and name.startswith('"') and name.endswith('"')):
        return name
    import codecs

    raw = codecs.escape_decode(name[1:-1].encode("ascii", "backslashreplace"))[0]
    return raw.decode("utf-8", "surrogateescape")


def _strip_prefix(name: str, prefix: str, patch_name: str) -> str:
    name = _unquote_git_name(name)
    if not name.startswith(prefix):
        raise CatalogError(f"file name {name!r} lacks the git '{prefix}' prefix", patch_name)
    return name[len(prefix) :]


def parse_patch(text: str, patch_name: str) -> list[FilePatch]:
    """Every file section of a git-style unified diff, in order, as unidiff reads it."""
    return parse_patch_with_unidiff(as_written(text), patch_name)


def as_written(text: str) -> str:
    """A patch file as the tool wrote it: one that ends every line in CRLF is a checkout of git's
    ``core.autocrlf=true`` (which converts only files without a CR before their LFs) and reads with LF
    again. Its content lines then match the target as they always did: without their terminators."""
    crlf = text.count("\r\n")
    return text.replace("\r\n", "\n") if crlf and crlf == text.count("\n") else text


def created_file_patch(path: str, content: bytes, origin: str) -> FilePatch:
    """A file the catalog installs whole (a shared feature file), as a created-file section."""
    doc = TextDocument.from_bytes(content)
    hunk = Hunk(1, 0, 0, 1, len(doc.lines), tuple(("+", line) for line in doc.lines), False, not doc.final_newline)
    return FilePatch(path, (hunk,), is_new=True, new_mode=0o644, origin=origin, content=content)


def parse_patch_with_unidiff(text: str, patch_name: str) -> list[FilePatch]:
    """What unidiff reads in ``text``; its parse errors become :class:`CatalogError`."""
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    try:
        patch_set = PatchSet.from_string(text)
    except UnidiffParseError as exc:
        raise CatalogError(f"corrupt patch: {str(exc).strip()}", patch_name) from None
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
    _refuse_lines_beyond_counts(text, result, patch_name)
    return result


def _refuse_lines_beyond_counts(text: str, files: list[FilePatch], patch_name: str) -> None:
    """unidiff ends a hunk where its header's counts end and drops diff lines that follow; a hunk
    whose header counts fewer lines than its body is a corrupt patch, never a shorter change."""
    hunks = [(patched.path, hunk) for patched in files for hunk in patched.hunks]
    lines = text.split("\n")  # as unidiff splits: a form feed or U+2028 inside a line is content
    taken = 0
    index = 0
    while index < len(lines) and taken < len(hunks):
        if not _HUNK_HEADER.match(lines[index]):
            index += 1
            continue
        path, hunk = hunks[taken]
        taken += 1
        index += 1
        remaining = len(hunk.lines)
        while index < len(lines) and remaining:
            if not lines[index].startswith("\\"):
                remaining -= 1
            index += 1
        while index < len(lines) and lines[index].startswith("\\"):
            index += 1
        extra = lines[index] if index < len(lines) else ""
        if extra[:1] in (" ", "+", "-") and not extra.startswith(("--- ", "+++ ")):
            raise CatalogError(
                f"corrupt patch: hunk {hunk.number} of {path} has more lines than its header counts (line {index + 1})",
                patch_name,
            )


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
    # lines end at "\n" only, as TextDocument and unidiff read them (str.splitlines would also end one at
    # a lone "\r", a form feed or U+2028, and write a diff that does not read back)
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\x00"  # keeps "no newline" distinct from the same line with one
    return lines
