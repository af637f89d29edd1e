"""A reader for the plain subset of YAML that series.yaml files are written in, without importing PyYAML.

Importing PyYAML compiles dozens of regular expressions (about a tenth of `check`'s run time), and every
command reads every series.yaml. This reader accepts only what the catalog's own files use: top-level
`key: scalar`, flow lists of scalars, and one block list of flat mappings. Anything else (anchors, block
scalars, nested flow collections, a scalar it cannot type with certainty) makes it answer `None`, and the
caller parses the text with PyYAML. A test holds it to PyYAML's answer on every shipped series.yaml.
"""

import json
import re
from typing import Any

_TOP = re.compile(r"([A-Za-z_][\w-]*):(?: +(.*))?")
_ITEM = re.compile(r"  - ([A-Za-z_][\w-]*): +(.*)")
_ITEM_KEY = re.compile(r"    ([A-Za-z_][\w-]*): +(.*)")
_PLAIN = re.compile(r"[A-Za-z][\w .,;:()/'\"-]*|\d+-[A-Za-z][\w.-]*")  # the second: NNNN-name.patch
_FLOW_ITEM = re.compile(r"\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[A-Za-z][\w.-]*)\s*(?:,|$)")


class _NotPlain(Exception):
    pass


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        end = _closing_quote(text)
        rest = text[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise _NotPlain
        try:
            value = json.loads(text[: end + 1])
        except ValueError:
            raise _NotPlain from None
        if not isinstance(value, str):
            raise _NotPlain
        return value
    if text.startswith("'"):
        match = re.match(r"'((?:[^']|'')*)'\s*(#.*)?$", text)
        if not match:
            raise _NotPlain
        return match.group(1).replace("''", "'")
    if text.startswith("["):
        return _flow_list(text)
    if " #" in text:
        text = text[: text.index(" #")].rstrip()
    if text in ("true", "false"):
        return text == "true"
    # A plain scalar that YAML could read as anything but a string (or that holds ": ") is not plain here.
    if not _PLAIN.fullmatch(text) or ": " in text or text.endswith(":") or text.lower() in _SPECIAL_WORDS:
        raise _NotPlain
    return text


_SPECIAL_WORDS = {"yes", "no", "on", "off", "y", "n", "null", "true", "false", "nan", "inf"}


_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _closing_quote(text: str) -> int:
    match = _DOUBLE_QUOTED.match(text)
    if not match:
        raise _NotPlain
    return match.end() - 1


def _flow_list(text: str) -> list[Any]:
    close = text.rfind("]")
    rest = text[close + 1 :].strip()
    if close < 0 or (rest and not rest.startswith("#")):
        raise _NotPlain
    inner = text[1:close].strip()
    items: list[Any] = []
    position = 0
    while position < len(inner):
        match = _FLOW_ITEM.match(inner, position)
        if not match:
            raise _NotPlain
        items.append(_scalar(match.group(1)))
        position = match.end()
    return items


def yaml_scalar(value: str) -> str:
    """``value`` written as a YAML scalar that reads back as the same string: plain when this reader (and so
    PyYAML) takes it as that string, else double-quoted (a JSON string is a valid YAML double-quoted scalar)."""
    try:
        if value == value.strip() and _scalar(value) == value:
            return value
    except _NotPlain:
        pass
    return json.dumps(value, ensure_ascii=False)


def parse_plain(text: str) -> dict[str, Any] | None:
    """The mapping a plain series.yaml holds, or None when the text is outside the plain subset."""
    data: dict[str, Any] = {}
    block: list[dict[str, Any]] | None = None
    blocks: list[list[dict[str, Any]]] = []
    try:
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if "\t" in line:
                raise _NotPlain
            if block is not None and (item := _ITEM.fullmatch(line)):
                block.append({item.group(1): _scalar(item.group(2))})
                continue
            if block and (item := _ITEM_KEY.fullmatch(line)):
                if item.group(1) in block[-1]:
                    raise _NotPlain
                block[-1][item.group(1)] = _scalar(item.group(2))
                continue
            top = _TOP.fullmatch(line)
            if not top or top.group(1) in data:
                raise _NotPlain
            if top.group(2) is None or top.group(2).startswith("#"):
                block = data[top.group(1)] = []
                blocks.append(block)
            else:
                block = None
                data[top.group(1)] = _scalar(top.group(2))
    except _NotPlain:
        return None
    if not data or any(not items for items in blocks):
        return None  # an empty document is null, and so is `key:` with nothing under it
    return data
