"""The catalog's diffs are read with unidiff; whatever it cannot read is one clear catalog error."""

from __future__ import annotations

from pathlib import Path

import pytest

from librechat_dynmodels.catalog import default_catalog_dir
from librechat_dynmodels.diffs import created_file_patch, parse_patch
from librechat_dynmodels.errors import CatalogError

SHIPPED = sorted(default_catalog_dir().glob("*/*.patch"))
HEADER = "diff --git a/api/x.js b/api/x.js\n--- a/api/x.js\n+++ b/api/x.js\n"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_patch_reads_with_unidiff_and_holds_only_glue(path: Path) -> None:
    sections = parse_patch(path.read_text(encoding="utf-8"), path.name)
    assert sections
    created = [section.path for section in sections if section.is_new]
    assert created == [], "feature files live once under patches/feature/ and are installed, not diffed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("diff --git a/a.js b/b.js\nsimilarity index 90%\nrename from a.js\nrename to b.js\n", "renames"),
        ("diff --git a/x.png b/x.png\nBinary files a/x.png and b/x.png differ\n", "binary"),
        (HEADER.replace("+++ b/api/x.js", "+++ b/api/y.js") + "@@ -1 +1 @@\n-a\n+b\n", "corrupt patch"),
        (HEADER + "@@ -1,3 +1,3 @@\n a\n-b\n", "corrupt patch"),
        ("not a diff at all\n", "no file sections"),
        (HEADER + "@@ -1,2 +1,2 @@\n a\n-b\n+c\n d\n e\n", "more lines than its header counts (line 8)"),
        ("", "no file sections"),
    ],
)
def test_what_unidiff_cannot_read_is_a_catalog_error_naming_the_patch(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_patch(text, "0001-x.patch")
    assert message in raised.value.message and raised.value.path == "0001-x.patch"


def test_modes_and_missing_final_newlines_are_kept() -> None:
    text = (
        "diff --git a/n.sh b/n.sh\nnew file mode 100755\nindex 0000000..e69de29\n--- /dev/null\n+++ b/n.sh\n"
        "@@ -0,0 +1,2 @@\n+#!/bin/sh\n+exit 0\n\\ No newline at end of file\n"
    )
    (created,) = parse_patch(text, "p")
    assert (created.path, created.is_new, created.new_mode) == ("n.sh", True, 0o755)
    assert created.hunks[0].new_no_newline and not created.hunks[0].old_no_newline
    assert created.created_document().to_bytes() == b"#!/bin/sh\nexit 0"


@pytest.mark.parametrize("content", [b"a\nb\n", b"a\r\nb\r\n", b"no final newline", b"\xef\xbb\xbfbom\n", b""])
def test_a_shared_feature_file_is_installed_byte_for_byte(content: bytes) -> None:
    shared = created_file_patch("api/x.js", content, "feature/api/x.js")
    assert shared.is_new and shared.origin == "feature/api/x.js"
    assert shared.created_document().to_bytes() == content


def test_a_file_name_git_quotes_for_its_non_ascii_bytes_is_read_as_its_utf8_name() -> None:
    quoted = '"a/api/caf\\303\\251.js"'
    text = (
        f'diff --git {quoted} "b/api/caf\\303\\251.js"\n--- {quoted}\n+++ "b/api/caf\\303\\251.js"\n'
        "@@ -1 +1 @@\n-a\n+b\n"
    )
    (section,) = parse_patch(text, "0001-x.patch")
    assert section.path == "api/café.js"
