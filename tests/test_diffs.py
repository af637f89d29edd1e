"""The catalog's diff reader answers exactly what unidiff answers, or steps aside for it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from librechat_dynmodels.catalog import default_catalog_dir
from librechat_dynmodels.diffs import parse_patch, parse_patch_with_unidiff, parse_plain_patch
from librechat_dynmodels.errors import CatalogError

SHIPPED = sorted(default_catalog_dir().glob("*/*.patch"))


def unidiff_answer(text: str) -> object:
    try:
        return parse_patch_with_unidiff(text, "p")
    except CatalogError as exc:
        return exc


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_patch_is_read_by_the_plain_reader_as_unidiff_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    plain = parse_plain_patch(text)
    assert plain is not None
    assert plain == parse_patch_with_unidiff(text, path.name)


def damaged_copies(text: str, count: int, seed: int) -> list[str]:
    """Copies of ``text`` with one line dropped, doubled, retagged, cut short or replaced."""
    rng = random.Random(seed)
    lines = text.split("\n")
    copies = []
    for _ in range(count):
        damaged = list(lines)
        at = rng.randrange(len(damaged))
        kind = rng.randrange(6)
        if kind == 0:
            del damaged[at]
        elif kind == 1:
            damaged.insert(at, damaged[at])
        elif kind == 2:
            damaged[at] = rng.choice(" -+\\@d") + damaged[at][1:]
        elif kind == 3:
            damaged = damaged[:at]
        elif kind == 4:
            damaged[at] = rng.choice(["", "garbage", "@@ -1 +1 @@", "index 1..2", "Binary files differ", "\r"])
        else:
            damaged[at] = damaged[at].replace("1", "2", 1)
        copies.append("\n".join(damaged))
    return copies


def test_damaged_patches_are_read_as_unidiff_reads_them_or_left_to_unidiff() -> None:
    small = [p for p in SHIPPED if p.stat().st_size < 40_000][:6]
    checked = stepped_aside = 0
    for seed, path in enumerate(small):
        for damaged in damaged_copies(path.read_text(encoding="utf-8"), 300, seed):
            plain = parse_plain_patch(damaged)
            if plain is None:
                stepped_aside += 1
                continue
            checked += 1
            assert plain == unidiff_answer(damaged)
    assert checked > 100 and stepped_aside > 100  # both paths were exercised


HEADER = "diff --git a/api/x.js b/api/x.js\n--- a/api/x.js\n+++ b/api/x.js\n"


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "@@ -1,2 +1,2 @@\n a\n-b\n+c\n",  # counts short: the hunk ends early
        HEADER + "@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n",
        HEADER + "@@ -1 +1 @@\n-a\n+b\n\\ Something else\n",
        "diff --git a/a.js b/b.js\nsimilarity index 90%\nrename from a.js\nrename to b.js\n",
        "diff --git a/x.png b/x.png\nBinary files a/x.png and b/x.png differ\n",
        HEADER.replace("+++ b/api/x.js", "+++ b/api/y.js") + "@@ -1 +1 @@\n-a\n+b\n",
        "diff --git a/n.js b/n.js\nnew file mode 100755\n--- /dev/null\n+++ b/n.js\n@@ -0,0 +1,2 @@\n+a\n+b\n",
        "diff --git a/d.js b/d.js\ndeleted file mode 100644\n--- a/d.js\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n",
        "not a diff at all\n",
        "",
    ],
)
def test_odd_and_broken_inputs_get_unidiffs_answer(text: str) -> None:
    plain = parse_plain_patch(text)
    expected = unidiff_answer(text)
    if plain is not None:
        assert plain == expected
    try:
        answer: object = parse_patch(text, "p")
    except CatalogError as exc:
        answer = exc
    assert type(answer) is type(expected)
    if isinstance(expected, CatalogError):
        assert str(answer) == str(expected)


def test_the_plain_reader_keeps_modes_and_missing_final_newlines() -> None:
    text = (
        "diff --git a/n.sh b/n.sh\nnew file mode 100755\nindex 0000000..e69de29\n--- /dev/null\n+++ b/n.sh\n"
        "@@ -0,0 +1,2 @@\n+#!/bin/sh\n+exit 0\n\\ No newline at end of file\n"
    )
    (created,) = parse_plain_patch(text) or []
    assert (created.path, created.is_new, created.new_mode) == ("n.sh", True, 0o755)
    assert created.hunks[0].new_no_newline and not created.hunks[0].old_no_newline
