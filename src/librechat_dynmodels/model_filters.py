"""``models.include`` and ``models.exclude`` of a custom endpoint, checked and applied as LibreChat does.

The reference is the feature's ``packages/data-provider/src/modelFilters.ts``; this module gives
``doctor`` the same rules without Node:

- a pattern is a glob (``*`` any characters, ``?`` one character; the whole id, case-insensitive) or a
  JavaScript regular expression between slashes, ``/body/flags`` (flags only ``i``, ``m``, ``s``, ``u``;
  searched anywhere in the id);
- invalid, with the reasons the TypeScript gives: an empty or blank pattern, ``/...`` not closed, an empty
  body ``//``, unsupported flags, a body that does not compile;
- filtering keeps the ids matching one include pattern (all ids without include patterns), then drops those
  matching an exclude pattern; an invalid pattern matches nothing.

The regular expression body is JavaScript, compiled here with Python's ``re`` after a translation of the
syntax where the two differ in ways that matter for model ids: named groups ``(?<name>...)`` and ``\\k<name>``,
``$`` (end of input only, without ``m``), ``\\d`` and ``\\w`` (ASCII only), ``\\cX``, ``\\u{...}`` (with ``u``),
JavaScript's empty classes ``[]`` and ``[^]``, and, without the ``u`` flag, JavaScript's lenient reading of
``\\q``-style identity escapes, lone ``{``, ``}`` and ``]``, and legacy octal escapes; a back-reference to a
group not closed yet matches the empty string. What JavaScript refuses and Python would read (``(?P<n>``,
``(?#...)``, atomic groups, inline flags ``(?i)``, possessive quantifiers ``a*+``) is refused.

It is an approximation: the reasons after ``invalid regular expression:`` are Python's words, not V8's; case
folding and ``.`` follow Python; and the few constructs ``re`` cannot express (``\\p{...}`` property escapes,
look-behinds of varying width, group names that are not Python identifiers, and modifier groups ``(?i:...)``,
which only newer Node.js releases read) raise :class:`UncheckedPatternError`: not known to be invalid, so not
reported as a problem, and matching nothing here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FILTER_KEYS = ("include", "exclude")
_FLAGS = re.compile(r"^[imsu]*$")
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")
_MODIFIER_GROUP = re.compile(r"\(\?[ims]*(?:-[ims]+)?:")
_GROUP_NAME = re.compile(r"<([^>]*)>")
_PYTHON_ESCAPES = frozenset("fnrtvsS")
_SYNTAX = frozenset("^$\\.*+?()[]{}|/")


class ModelPatternError(ValueError):
    """A pattern LibreChat refuses; ``reason`` is the TypeScript's (``empty pattern``, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UncheckedPatternError(ModelPatternError):
    """A regular expression Python's ``re`` cannot express (so it is not known to be invalid)."""


def compile_model_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern as a compiled expression to ``search`` an id with; raises :class:`ModelPatternError`."""
    if not isinstance(pattern, str) or pattern.strip() == "":
        raise ModelPatternError("empty pattern")
    if pattern.startswith("/") and len(pattern) > 1:
        end = pattern.rfind("/")
        if end == 0:
            raise ModelPatternError('regular expression not closed with "/"')
        body, flags = pattern[1:end], pattern[end + 1 :]
        if body == "":
            raise ModelPatternError("empty regular expression")
        if not _FLAGS.match(flags):
            raise ModelPatternError(f'unsupported flags "{flags}" (use i, m, s or u)')
        if len(set(flags)) != len(flags):
            raise ModelPatternError(f"invalid regular expression: flag repeated in '{flags}'")
        return _compile_js(body, flags)
    source = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rf"\A(?:{source})\Z", re.IGNORECASE | re.DOTALL)


def _compile_js(body: str, flags: str) -> re.Pattern[str]:
    source = _translate(body, unicode="u" in flags, multiline="m" in flags)
    options = 0
    options |= re.IGNORECASE if "i" in flags else 0
    options |= re.MULTILINE if "m" in flags else 0
    options |= re.DOTALL if "s" in flags else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning about sets that JavaScript reads literally
            return re.compile(source, options)
    except re.error as exc:
        if "look-behind requires fixed-width" in str(exc):
            raise UncheckedPatternError("a look-behind of varying width (Python's re cannot check it)") from None
        raise ModelPatternError(f"invalid regular expression: {exc.msg}") from None
    except RecursionError:
        raise UncheckedPatternError("nested too deeply for Python's re") from None


def _invalid(why: str) -> ModelPatternError:
    return ModelPatternError(f"invalid regular expression: {why}")


def _count_groups(body: str) -> tuple[int, set[str]]:
    """The number of capturing groups and the names of the named ones, skipping escapes and classes."""
    count, names, i, in_class = 0, set(), 0, False
    while i < len(body):
        char = body[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            if not body.startswith("?", i + 1):
                count += 1
            elif body.startswith("?<", i + 1) and not body.startswith(("?<=", "?<!"), i + 1):
                count += 1
                match = _GROUP_NAME.match(body, i + 2)
                names.add(match.group(1) if match else "")
        i += 1
    return count, names


def _translate(body: str, unicode: bool, multiline: bool) -> str:
    """JavaScript regular expression syntax to Python's (see the module docstring)."""
    groups, names = _count_groups(body)
    refs = _References(groups, names)
    out: list[str] = []
    i, in_class = 0, False
    last = "start"  # what the previous token was: start | atom | quantifier | lazy
    while i < len(body):
        char = body[i]
        if in_class:
            if char == "\\":
                text, i = _escape(body, i, in_class, unicode, refs)
                out.append(text)
                continue
            if char == "]":
                in_class = False
                last = "atom"
            out.append("\\" + char if char in "[&~|" else char)  # literal in JavaScript, set syntax to Python
            i += 1
            continue
        quantifier = _QUANTIFIER.match(body, i) if char == "{" else None
        if char in "*+?" or quantifier:
            if char == "?" and last == "quantifier":
                last = "lazy"
                out.append("?")
                i += 1
                continue
            if last in ("quantifier", "lazy"):
                raise _invalid("nothing to repeat")  # Python 3.11 would read a possessive quantifier
            last = "quantifier"
            out.append(quantifier.group() if quantifier else char)
            i = quantifier.end() if quantifier else i + 1
            continue
        last = "atom"
        if char == "\\":
            text, i = _escape(body, i, in_class, unicode, refs)
            out.append(text)
            continue
        if char == "[":
            if body.startswith("[]", i):
                out.append("(?!)")  # JavaScript's empty class matches nothing
                i += 2
            elif body.startswith("[^]", i):
                out.append(r"[\s\S]")  # and its negation anything
                i += 3
            else:
                in_class = True
                out.append("[")
                i += 1
            continue
        if char == "(":
            text, i = _group(body, i)
            refs.open(text)
            out.append(text)
            last = "start"
            continue
        if char == ")":
            refs.close()
        if char in "{}]":
            if unicode:
                raise _invalid("lone quantifier brackets" if char != "]" else "lone ']'")
            out.append("\\" + char)
        elif char == "$" and not multiline:
            out.append(r"\Z")  # end of input only, as in JavaScript (Python's $ also matches before a final newline)
        else:
            out.append(char)
            if char in "|^":
                last = "start"
        i += 1
    if in_class:
        raise _invalid("unterminated character class")
    return "".join(out)


class _References:
    """Which groups a back-reference may name: JavaScript matches the empty string for a group that is not
    closed yet (Python refuses the reference)."""

    def __init__(self, groups: int, names: set[str]) -> None:
        self.groups, self.names = groups, names
        self.opened = 0
        self.stack: list[tuple[int, str] | None] = []
        self.closed: set[int | str] = set()

    def open(self, text: str) -> None:
        if text == "(" or text.startswith("(?P<"):
            self.opened += 1
            self.stack.append((self.opened, text[4:-1] if text != "(" else ""))
        else:
            self.stack.append(None)

    def close(self) -> None:
        group = self.stack.pop() if self.stack else None
        if group is not None:
            number, name = group
            self.closed.update((number, name) if name else (number,))

    def number(self, number: int) -> str:
        return f"(?:\\{number})" if number in self.closed else "(?:)"

    def name(self, name: str) -> str:
        if name not in self.names:
            raise _invalid("invalid named capture referenced")
        return f"(?P={name})" if name in self.closed else "(?:)"


def _group(body: str, i: int) -> tuple[str, int]:
    if not body.startswith("(?", i):
        return "(", i + 1
    for opening in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
        if body.startswith(opening, i):
            return opening, i + len(opening)
    if body.startswith("(?<", i):
        match = _GROUP_NAME.match(body, i + 2)
        if not match or not match.group(1):
            raise _invalid("invalid capture group name")
        name = match.group(1)
        if not name.isidentifier():
            raise UncheckedPatternError(f"group name {name!r} (Python's re takes identifiers only)")
        return f"(?P<{name}>", match.end()
    if _MODIFIER_GROUP.match(body, i):
        raise UncheckedPatternError("a modifier group such as (?i:...) (only newer Node.js releases read it)")
    raise _invalid("invalid group")


def _escape(body: str, i: int, in_class: bool, unicode: bool, refs: _References) -> tuple[str, int]:
    """One escape starting at ``body[i] == '\\'``: its Python text and the index after it."""
    if i + 1 >= len(body):
        raise _invalid("\\ at end of pattern")
    char = body[i + 1]
    rest = i + 2
    if char in _PYTHON_ESCAPES:
        return "\\" + char, rest
    if char == "b":
        return ("\\x08" if in_class else "\\b"), rest
    if char == "B" and not in_class:
        return "\\B", rest
    if char in "dD":
        ascii_digits = "0-9" if in_class else ("[0-9]" if char == "d" else "[^0-9]")
        return (ascii_digits if char == "d" or not in_class else "\\D"), rest
    if char in "wW":
        word = "A-Za-z0-9_"
        if in_class:
            return (word if char == "w" else "\\W"), rest
        return (f"[{word}]" if char == "w" else f"[^{word}]"), rest
    if char == "0" and not body[rest : rest + 1].isdigit():
        return "\\x00", rest
    if char.isdigit():
        digits = re.match(r"\d+", body[i + 1 :])
        assert digits is not None
        number = int(digits.group())
        if not in_class and 0 < number <= refs.groups:
            return refs.number(number), i + 1 + len(digits.group())
        if unicode:
            raise _invalid("invalid escape")
        octal = re.match(r"[0-7]{1,3}", body[i + 1 :])
        if octal and int(octal.group(), 8) <= 0o377:
            return f"\\x{int(octal.group(), 8):02x}", i + 1 + len(octal.group())
        return re.escape(char), rest
    if char == "x":
        hex_digits = re.match(r"[0-9A-Fa-f]{2}", body[rest:])
        if hex_digits:
            return "\\x" + hex_digits.group(), rest + 2
    elif char == "u":
        hex_digits = re.match(r"[0-9A-Fa-f]{4}", body[rest:])
        if hex_digits:
            return "\\u" + hex_digits.group(), rest + 4
        braced = re.match(r"\{([0-9A-Fa-f]+)\}", body[rest:]) if unicode else None
        if braced:
            value = int(braced.group(1), 16)
            if value > 0x10FFFF:
                raise _invalid("invalid Unicode escape")
            return f"\\U{value:08x}", rest + braced.end()
    elif char == "c":
        letter = body[rest : rest + 1]
        if letter.isascii() and letter.isalpha():
            return f"\\x{ord(letter) % 32:02x}", rest + 1
        if not unicode:
            return "\\\\", rest - 1  # a literal backslash; the 'c' is read next
    elif char == "k" and (refs.names or unicode):
        match = _GROUP_NAME.match(body, rest)
        if not match or not match.group(1):
            raise _invalid("invalid named reference")
        name = match.group(1)
        if not name.isidentifier():
            raise UncheckedPatternError(f"group name {name!r} (Python's re takes identifiers only)")
        return refs.name(name), match.end()
    elif char in "pP" and unicode:
        raise UncheckedPatternError("Unicode property escapes (Python's re has none)")
    if unicode:
        if char in _SYNTAX or (char == "-" and in_class):
            return "\\" + char, rest
        raise _invalid("invalid escape")
    return re.escape(char), rest  # an identity escape: the character itself


def find_pattern_problems(models: Any) -> list[str]:
    """One problem per invalid pattern of a ``models`` mapping: ``models.exclude pattern "[": reason``.

    Also a value that is not a list of strings (LibreChat's schema refuses it). Patterns Python cannot
    check (:class:`UncheckedPatternError`) are not problems."""
    problems: list[str] = []
    if not isinstance(models, Mapping):
        return problems
    for key in FILTER_KEYS:
        patterns = models.get(key)
        if patterns is None:
            continue
        if not isinstance(patterns, list):
            problems.append(f"models.{key} must be a list of patterns, not {_type_name(patterns)}")
            continue
        for pattern in patterns:
            if not isinstance(pattern, str):
                problems.append(f"models.{key} pattern {pattern!r}: not a string ({_type_name(pattern)})")
                continue
            try:
                compile_model_pattern(pattern)
            except UncheckedPatternError:
                continue
            except ModelPatternError as exc:
                problems.append(f'models.{key} pattern "{pattern}": {exc.reason}')
    return problems


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def _compiled(patterns: Iterable[Any]) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(compile_model_pattern(pattern))
        except ModelPatternError:
            continue  # matches nothing: the config check refuses it at startup
    return compiled


def filter_models(
    ids: Sequence[str], include: Sequence[Any] | None = None, exclude: Sequence[Any] | None = None
) -> list[str]:
    """The ids the filters allow: matching one include pattern (all, without any), then no exclude pattern."""
    keep = _compiled(include) if include else None
    drop = _compiled(exclude or ())
    if keep is None and not drop:
        return list(ids)
    return [
        model
        for model in ids
        if (keep is None or any(p.search(model) for p in keep)) and not any(p.search(model) for p in drop)
    ]
