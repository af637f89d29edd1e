"""Catalogs, patches and checkouts built to make the tool read or write where it must not; catalogs
as Windows checks them out; and the size of what the tool plans and reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import CONTROLLER, PATCHED_CONTROLLER, build_tree, git_diff, librechat_files, snapshot, write_series
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import check_series_id, load_catalog
from librechat_dynmodels.checkout import find_checkout, safe_target
from librechat_dynmodels.diffs import parse_patch, render_git_diff
from librechat_dynmodels.errors import CatalogError, UnsafePathError, UsageError
from librechat_dynmodels.hunks import apply_hunks
from librechat_dynmodels.maintain import port
from librechat_dynmodels.textdoc import TextDocument

# -- feature and patch files are read only from inside the catalog ------------------------


def _series_installing(catalog: Path, path: str = "api/x.js") -> Path:
    return write_series(catalog, installs={"0001-backend.patch": [path]})


def test_a_feature_file_that_is_a_symlink_out_of_the_catalog_is_refused_and_nothing_is_copied(
    tmp_path: Path, tree: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("private key\n")
    secret.chmod(0o600)
    catalog = tmp_path / "catalog"
    _series_installing(catalog)
    (catalog / "feature" / "api").mkdir(parents=True)
    os.symlink(secret, catalog / "feature" / "api" / "x.js")
    before = snapshot(tree)

    with pytest.raises(CatalogError, match="is a symlink") as refused:
        engine.apply(find_checkout(tree), load_catalog(catalog))

    assert refused.value.path == str(catalog / "feature" / "api" / "x.js")
    assert snapshot(tree) == before and not (tree / "api" / "x.js").exists()


def test_a_feature_folder_that_leads_out_of_the_catalog_is_refused(tmp_path: Path, tree: Path) -> None:
    outside = build_tree(tmp_path / "elsewhere", {"x.js": "module.exports = 1;\n"})
    catalog = tmp_path / "catalog"
    _series_installing(catalog)
    (catalog / "feature").mkdir()
    os.symlink(outside, catalog / "feature" / "api")

    with pytest.raises(CatalogError, match="symlink outside the catalog"):
        engine.check(find_checkout(tree), load_catalog(catalog))


def test_a_feature_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path, tree: Path) -> None:
    catalog = tmp_path / "catalog"
    _series_installing(catalog)
    (catalog / "feature" / "api").mkdir(parents=True)
    os.mkfifo(catalog / "feature" / "api" / "x.js")

    with pytest.raises(CatalogError, match="not a regular file"):
        engine.check(find_checkout(tree), load_catalog(catalog))


def test_patch_files_and_series_folders_that_lead_out_of_the_catalog_are_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_series(elsewhere, "dynmodels-test")
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    os.symlink(elsewhere / "dynmodels-test", catalog / "dynmodels-test")
    with pytest.raises(CatalogError, match="symlink outside the catalog"):
        load_catalog(catalog)

    os.unlink(catalog / "dynmodels-test")
    folder = write_series(catalog, "dynmodels-test")
    (folder / "0002-client.patch").unlink()
    os.symlink(elsewhere / "dynmodels-test" / "0002-client.patch", folder / "0002-client.patch")
    series = load_catalog(catalog).get("dynmodels-test")
    with pytest.raises(CatalogError, match="is a symlink"):
        series.file_patches(series.patches[1])


# -- .git in every spelling a file system takes for it -----------------------------------


@pytest.mark.parametrize(
    "relpath",
    [
        ".GIT/hooks/post-checkout",
        ".Git/config",
        ".git./hooks/post-checkout",
        ".git /hooks/post-checkout",
        ".git. . /config",
        "GIT~1/hooks/post-checkout",
        "git~1./config",
        "api/.git::$INDEX_ALLOCATION/hooks/post-checkout",
        ".g\u200cit/hooks/post-checkout",  # HFS+ ignores the zero-width non-joiner
        "api/.git/hooks/post-checkout",  # a nested repository's hooks
        "api/.GIT/config",
        "api\\.git\\config",
        ".LIBRECHAT-DYNMODELS/manifest.json",
        ".librechat-dynmodels./manifest.json",
    ],
)
def test_git_and_state_look_alikes_are_refused_in_every_part(tree: Path, relpath: str) -> None:
    with pytest.raises(UnsafePathError, match="may not touch the tool's state or .git"):
        safe_target(tree, relpath)


@pytest.mark.parametrize("relpath", [".gitignore", "api/.github/workflows/x.yml", ".git-blame-ignore-revs", "git~1.js"])
def test_names_that_only_begin_like_git_are_allowed(tree: Path, relpath: str) -> None:
    assert safe_target(tree, relpath) == tree / relpath


def test_a_patch_that_creates_a_hook_under_an_uppercase_git_writes_nothing(tmp_path: Path, tree: Path) -> None:
    catalog = tmp_path / "catalog"
    hook = git_diff(
        {".GIT/hooks/post-checkout": (None, "#!/bin/sh\necho owned\n")}, {".GIT/hooks/post-checkout": 0o755}
    )
    write_series(catalog, patches={"0001-backend.patch": ("backend", hook)})
    before = snapshot(tree)

    with pytest.raises(UnsafePathError, match=".git"):
        engine.apply(find_checkout(tree), load_catalog(catalog))

    assert snapshot(tree) == before


@pytest.mark.parametrize("install", ['[".Git/hooks/post-checkout"]', '[{"path": "api/GIT~1/x", "from": "api/x.js"}]'])
def test_an_install_path_into_git_is_refused_when_the_catalog_loads(tmp_path: Path, install: str) -> None:
    catalog = tmp_path / "catalog"
    folder = write_series(catalog, installs={"0001-backend.patch": ["api/x.js"]})
    text = (folder / "series.yaml").read_text()
    (folder / "series.yaml").write_text(text.replace('install: ["api/x.js"]', f"install: {install}"))

    with pytest.raises(CatalogError, match="may not touch the tool's state or .git"):
        load_catalog(catalog)


def test_a_symlink_into_a_nested_git_folder_is_refused(tree: Path) -> None:
    (tree / "api" / "vendor" / ".git" / "hooks").mkdir(parents=True)
    os.symlink(tree / "api" / "vendor" / ".git" / "hooks", tree / "api" / "hooks")
    with pytest.raises(UnsafePathError, match="into .git"):
        safe_target(tree, "api/hooks/post-checkout")


# -- series ids are folder names --------------------------------------------------------


@pytest.mark.parametrize(
    "series_id", ["../../x", "a/b", "..", ".hidden", "x.", "feature", "FEATURE", "GIT~1", "", "a\\b", "x" * 101]
)
def test_a_series_id_that_is_not_one_plain_name_is_refused(series_id: str) -> None:
    with pytest.raises(CatalogError, match="series id"):
        check_series_id(series_id, "series.yaml")


@pytest.mark.parametrize("series_id", ["dynmodels-v0.8.8-rc1", "dynmodels-native-v0.8.7", "my_series+2"])
def test_series_ids_of_letters_digits_dots_and_dashes_are_accepted(series_id: str) -> None:
    assert check_series_id(series_id, "series.yaml") == series_id


def test_a_catalog_whose_series_requires_a_path_is_refused(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    write_series(catalog, requires=("../../etc",))
    with pytest.raises(CatalogError, match="series id '../../etc' must be one name"):
        load_catalog(catalog)


def test_port_refuses_an_id_that_leaves_the_catalog_before_it_writes_anything(tmp_path: Path) -> None:
    catalog = tmp_path / "work" / "catalog"
    write_series(catalog, "dynmodels-v0.8.3")
    root = build_tree(tmp_path / "work" / "v0.8.4", librechat_files("v0.8.4"))
    before_root, before_catalog = snapshot(root), snapshot(catalog)

    # the mirror does not even exist: the id is checked before anything else
    with pytest.raises(UsageError, match="series id '../../x' must be one name") as refused:
        port(find_checkout(root), load_catalog(catalog), "dynmodels-v0.8.3", tmp_path / "no-mirror", "../../x")

    assert refused.value.path == "--id"
    assert not (tmp_path / "x").exists() and sorted(os.listdir(tmp_path)) == ["work"]
    assert snapshot(root) == before_root and snapshot(catalog) == before_catalog


def test_port_refuses_a_default_id_made_from_a_package_json_version_with_a_path(tmp_path: Path) -> None:
    catalog = tmp_path / "work" / "catalog"
    write_series(catalog, "dynmodels-v0.8.3")
    files = librechat_files()
    files["package.json"] = json.dumps({"name": "LibreChat", "version": "v0.8.4/../../../../x"})
    root = build_tree(tmp_path / "work" / "tree", files)

    with pytest.raises(UsageError, match="package.json version: name the series with --id") as refused:
        port(find_checkout(root), load_catalog(catalog), "dynmodels-v0.8.3", tmp_path / "no-mirror")

    assert refused.value.path == str(root / "package.json")
    assert sorted(os.listdir(tmp_path)) == ["work"] and sorted(os.listdir(catalog)) == ["dynmodels-v0.8.3"]


# -- catalogs checked out with CRLF line ends --------------------------------------------


def _to_crlf(folder: Path) -> None:
    """What git's core.autocrlf=true makes of a series folder on checkout."""
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("target_eol", ["\n", "\r\n"])
def test_a_catalog_checked_out_with_crlf_line_ends_applies_as_the_lf_one_does(tmp_path: Path, target_eol: str) -> None:
    files = {
        path: text.replace("\n", target_eol) if isinstance(text, str) else text
        for path, text in librechat_files().items()
    }
    lf_tree, crlf_tree = build_tree(tmp_path / "lf-tree", files), build_tree(tmp_path / "crlf-tree", files)
    write_series(tmp_path / "lf")
    _to_crlf(write_series(tmp_path / "crlf"))

    checked = engine.check(find_checkout(crlf_tree), load_catalog(tmp_path / "crlf"))
    assert checked.ok and checked.state == "pristine"
    engine.apply(find_checkout(lf_tree), load_catalog(tmp_path / "lf"))
    engine.apply(find_checkout(crlf_tree), load_catalog(tmp_path / "crlf"))

    assert snapshot(crlf_tree / "api") == snapshot(lf_tree / "api")
    assert snapshot(crlf_tree / "client") == snapshot(lf_tree / "client")
    assert engine.verify(find_checkout(crlf_tree), load_catalog(tmp_path / "crlf")).ok


def test_an_lf_patch_of_a_crlf_file_keeps_reading_its_content_lines_as_before() -> None:
    """A patch whose headers end in LF is as the tool wrote it, even where its content lines carry a CR
    (git writes a CRLF file's lines so): only a patch that ends every line in CRLF is read as LF."""
    crlf = CONTROLLER.replace("\n", "\r\n")
    text = render_git_diff("api/c.js", crlf.encode(), PATCHED_CONTROLLER.replace("\n", "\r\n").encode())
    assert "\r\n" in text and "\n--- a/api/c.js\n" in text
    hunks = parse_patch(text, "p")[0].hunks
    patched, matches = apply_hunks(TextDocument.from_bytes(crlf.encode()), hunks)
    assert all(m.ok for m in matches) and patched.to_bytes() == PATCHED_CONTROLLER.replace("\n", "\r\n").encode()


def test_a_line_holding_a_form_feed_a_lone_cr_or_u2028_is_one_line_of_a_diff() -> None:
    old = "a\nb\nc\n"
    new = "a\nb\u2028x\x0cy\rz\nc\n"
    text = render_git_diff("api/a.js", old.encode(), new.encode())
    hunks = parse_patch(text, "p")[0].hunks
    assert [tag for tag, _ in hunks[0].lines] == [" ", "-", "+", " "]
    patched, matches = apply_hunks(TextDocument.from_bytes(old.encode()), hunks)
    assert all(m.ok for m in matches) and patched.to_bytes() == new.encode()


# -- scale --------------------------------------------------------------------------------


class _CountingLines(list[str]):
    """A document's lines that count every read (an index or a slice): the work of locating hunks."""

    reads = 0

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        _CountingLines.reads += 1
        return super().__getitem__(index)


def _one_file_patch(hunk_count: int) -> tuple[str, str, str]:
    """A file of ``hunk_count`` * 10 lines and a patch changing every tenth line: one hunk each."""
    old = [f"line {i}" for i in range(hunk_count * 10)]
    new = [f"changed {i}" if i % 10 == 5 else line for i, line in enumerate(old)]
    sections = ["diff --git a/api/a.js b/api/a.js\n--- a/api/a.js\n+++ b/api/a.js\n"]
    for first in range(2, hunk_count * 10, 10):
        body = [f" {old[i]}" for i in range(first, first + 3)] + [f"-{old[first + 3]}", f"+{new[first + 3]}"]
        body += [f" {old[i]}" for i in range(first + 4, first + 7)]
        sections.append(f"@@ -{first + 1},7 +{first + 1},7 @@\n" + "\n".join(body) + "\n")
    return "\n".join(old) + "\n", "\n".join(new) + "\n", "".join(sections)


def _reads_to_plan(hunk_count: int) -> int:
    old, new, patch = _one_file_patch(hunk_count)
    hunks = parse_patch(patch, "p")[0].hunks
    assert len(hunks) == hunk_count
    doc = TextDocument.from_bytes(old.encode())
    _CountingLines.reads = 0
    patched, matches = apply_hunks(TextDocument(_CountingLines(doc.lines), doc.endings), hunks)
    assert all(m.ok for m in matches) and patched.to_bytes() == new.encode()
    return _CountingLines.reads


def test_locating_the_hunks_of_one_file_costs_work_linear_in_their_number() -> None:
    small, large = _reads_to_plan(150), _reads_to_plan(300)
    assert large <= 2.2 * small, (small, large)


def test_doctor_refuses_a_config_over_the_cap_before_parsing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from librechat_dynmodels import doctor

    monkeypatch.setattr(doctor, "MAX_CONFIG_BYTES", 1024)
    config = tmp_path / "librechat.yaml"
    config.write_text("endpoints:\n  custom:\n" + "    - name: x\n      apiKey: user_provided\n" * 40)
    monkeypatch.setattr("yaml.load", lambda *a, **k: pytest.fail("a file over the cap was parsed"))

    data, findings = doctor.load_config(tmp_path, str(config), "default")

    assert data is None
    assert [(f.severity, f.code, f.message) for f in findings] == [
        (
            "blocker",
            "config_too_large",
            "larger than 1 KiB (a librechat.yaml is tens of KiB); not parsed, so nothing was checked",
        )
    ]


def test_refresh_writes_an_edited_feature_file_back_only_inside_the_catalog(tmp_path: Path, tree: Path) -> None:
    from librechat_dynmodels.errors import StateError
    from librechat_dynmodels.maintain import refresh

    catalog = tmp_path / "catalog"
    _series_installing(catalog)
    build_tree(catalog / "feature", {"api/x.js": "module.exports = 1;\n"})
    engine.apply(find_checkout(tree), load_catalog(catalog))
    # after apply, the feature folder is swapped for a link to another place
    outside = build_tree(tmp_path / "elsewhere", {"x.js": "module.exports = 1;\n"})
    (catalog / "feature" / "api" / "x.js").unlink()
    (catalog / "feature" / "api").rmdir()
    os.symlink(outside, catalog / "feature" / "api")
    (tree / "api" / "x.js").write_text("module.exports = 2;\n")

    with pytest.raises(StateError, match="symlink outside the catalog"):
        refresh(find_checkout(tree), load_catalog(catalog))

    assert (outside / "x.js").read_text() == "module.exports = 1;\n"
