from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import build_tree, librechat_files, write_series
from librechat_dynmodels.catalog import default_catalog_dir, load_catalog, with_needed_components
from librechat_dynmodels.checkout import detect_native_support, find_checkout, safe_target
from librechat_dynmodels.errors import CatalogError, FileAccessError, NotACheckoutError, UnsafePathError


def test_shipped_catalog_is_found_and_every_series_loads() -> None:
    catalog = load_catalog(default_catalog_dir())
    assert catalog.series, "the shipped catalog has no series"
    for series in catalog.series.values():
        assert series.librechat and series.patches
        for entry in series.patches:
            assert series.file_patches(entry), f"{series.id}/{entry.file} has no file sections"


def test_client_component_pulls_in_what_it_needs() -> None:
    assert with_needed_components(["client"]) == {"client", "data-provider", "backend"}
    assert with_needed_components(["backend"]) == {"backend"}


def test_series_yaml_errors_name_file_line_and_column(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "cat")
    (folder / "series.yaml").write_text("id: dynmodels-test\npatches: [\n  - : :\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"invalid YAML at line \d+, column \d+") as info:
        load_catalog(tmp_path / "cat")
    assert info.value.path and info.value.path.endswith("series.yaml")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("id: other\npatches: []\n", "differs from its folder name"),
        ("id: dynmodels-test\npatches:\n  - file: x.patch\n    component: server\n", "unknown component"),
        ("id: dynmodels-test\npatches:\n  - file: ../x.patch\n    component: backend\n", "plain name"),
        ("id: dynmodels-test\n", "'patches' must be a list"),
        (
            "id: dynmodels-test\nrequires: [nope]\npatches:\n  - file: 0001-backend.patch\n    component: backend\n",
            "requires unknown series",
        ),
    ],
)
def test_malformed_series_yaml_is_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    folder = write_series(tmp_path / "cat")
    (folder / "series.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        load_catalog(tmp_path / "cat")


def test_corrupt_patch_file_is_a_catalog_error(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "cat")
    (folder / "0001-backend.patch").write_text(
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n a\n-b\n+c\n", encoding="utf-8"
    )
    series = load_catalog(tmp_path / "cat").get("dynmodels-test")
    with pytest.raises(CatalogError, match="corrupt patch"):
        series.file_patches(series.patches[0])


def test_checkout_is_found_from_argument_env_and_parents(tree: Path) -> None:
    assert find_checkout(tree).root == tree.resolve()
    assert find_checkout(None, env={"LIBRECHAT_DIR": str(tree)}).root == tree.resolve()
    assert find_checkout(None, env={}, cwd=tree / "api" / "server").root == tree.resolve()
    assert find_checkout(tree).version == "v0.8.3"


def test_not_a_checkout_names_what_is_missing(tmp_path: Path) -> None:
    build_tree(tmp_path / "x", {"package.json": json.dumps({"name": "LibreChat"}), "api/a.js": ""})
    with pytest.raises(NotACheckoutError, match=r"missing client/, packages/data-provider/"):
        find_checkout(tmp_path / "x")
    with pytest.raises(NotACheckoutError, match="no LibreChat checkout here or above"):
        find_checkout(None, env={}, cwd=tmp_path)


def test_native_support_is_read_from_the_code_not_the_version(tmp_path: Path) -> None:
    files = librechat_files(version="v0.8.4")
    files["packages/api/src/endpoints/config/models.ts"] = (
        "export function createLoadConfigModels(deps) {\n  const { getUserKeyValues } = deps;\n}\n"
    )
    root = build_tree(tmp_path / "native", files)
    support = detect_native_support(root)
    assert support.present and support.evidence == "packages/api/src/endpoints/config/models.ts"
    assert not detect_native_support(build_tree(tmp_path / "old", librechat_files("v0.8.9"))).present


@pytest.mark.parametrize(
    "relpath",
    [
        "/etc/passwd",
        "../outside.js",
        "api/../../x",
        "a//b",
        ".git/config",
        ".librechat-dynmodels/manifest.json",
        ".",
        "api/./x.js",
        "api/x\x00.js",
        "api/" + "n" * 300 + ".js",
    ],
)
def test_paths_that_could_escape_are_refused(tree: Path, relpath: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_target(tree, relpath)


def test_symlink_out_of_the_checkout_is_refused(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tree / "api" / "escape")
    with pytest.raises(UnsafePathError, match="symlink outside"):
        safe_target(tree, "api/escape/new.js")
    os.symlink(tree / "api" / "server" / "routes" / "models.js", tree / "api" / "link.js")
    with pytest.raises(UnsafePathError, match="is a symlink"):
        safe_target(tree, "api/link.js")


def test_a_symlink_inside_the_checkout_that_leads_into_git_is_refused(tree: Path) -> None:
    (tree / ".git" / "hooks").mkdir(parents=True)
    os.symlink(tree / ".git" / "hooks", tree / "api" / "hooks")
    with pytest.raises(UnsafePathError, match="into .git"):
        safe_target(tree, "api/hooks/post-checkout")


def test_a_fifo_at_a_target_path_is_refused_without_being_opened(tree: Path) -> None:
    os.mkfifo(tree / "api" / "server" / "pipe.js")
    with pytest.raises(FileAccessError, match="not a regular file"):
        safe_target(tree, "api/server/pipe.js")


def test_symlinks_that_stay_inside_are_followed_and_chains_or_dangling_links_outside_are_not(
    tree: Path, tmp_path: Path
) -> None:
    os.symlink(tree / "api" / "server", tree / "api" / "srv")  # inside, to inside
    assert safe_target(tree, "api/srv/routes/models.js") == tree / "api/srv/routes/models.js"
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tree / "api" / "server" / "out")
    with pytest.raises(UnsafePathError, match="symlink outside"):  # an inside link, then one that leaves
        safe_target(tree, "api/srv/out/new.js")
    os.symlink(tmp_path / "not-there", tree / "api" / "dangling")
    with pytest.raises(UnsafePathError, match="symlink outside"):
        safe_target(tree, "api/dangling/new.js")


def test_a_checkout_reached_through_a_symlink_is_not_mistaken_for_an_escape(tree: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(tree, alias)
    os.symlink(alias / "api" / "server", tree / "api" / "srv")
    assert safe_target(alias, "api/srv/routes/models.js") == alias / "api/srv/routes/models.js"
