"""The feature's own files live once in the catalog (feature/) and every series installs them from there."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    HOOK,
    NEW_SERVICE,
    PATCHED_CONTROLLER,
    PATCHED_HOOK,
    build_tree,
    git_diff,
    librechat_files,
    snapshot,
    write_feature,
    write_series,
)
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.errors import CatalogError, DriftError
from librechat_dynmodels.maintain import port, refresh
from librechat_dynmodels.state import StateDir

CONTROLLER_PATH = "api/server/controllers/ModelController.js"
SERVICE_PATH = "api/server/services/UserModels/index.js"
COMPAT_PATH = "api/server/services/UserModels/compat.js"
COMPAT = {"v0.8": "module.exports = { logger: require('@librechat/data-schemas').logger };\n"}


def glue_series(catalog: Path, series_id: str, releases: tuple[str, ...], compat: str = "v0.8") -> Path:
    """A series with glue hunks only; the service and its release adapter come from feature/."""
    return write_series(
        catalog,
        series_id,
        releases,
        patches={
            "0001-backend.patch": (
                "backend",
                git_diff({CONTROLLER_PATH: (CONTROLLER, PATCHED_CONTROLLER)}),
            ),
            "0002-client.patch": ("client", git_diff({"client/src/hooks/Input/useUserKey.ts": (HOOK, PATCHED_HOOK)})),
        },
        installs={"0001-backend.patch": [SERVICE_PATH, {"path": COMPAT_PATH, "from": f"compat/{compat}/compat.js"}]},
    )


@pytest.fixture
def shared_catalog(tmp_path: Path) -> Path:
    catalog = tmp_path / "catalog"
    write_feature(catalog, {SERVICE_PATH: NEW_SERVICE, "compat/v0.8/compat.js": COMPAT["v0.8"]})
    glue_series(catalog, "dynmodels-test", ("v0.8.3",))
    glue_series(catalog, "dynmodels-next", ("v0.8.4",))
    return catalog


def test_two_series_install_the_same_feature_file_from_its_one_source(shared_catalog: Path, tmp_path: Path) -> None:
    catalog = load_catalog(shared_catalog)
    for series_id, release in (("dynmodels-test", "v0.8.3"), ("dynmodels-next", "v0.8.4")):
        root = build_tree(tmp_path / release, librechat_files(release))
        report = engine.apply(find_checkout(root), catalog)
        assert report.series.id == series_id
        assert (root / SERVICE_PATH).read_text() == NEW_SERVICE
        assert (root / COMPAT_PATH).read_text() == COMPAT["v0.8"]
        created = {f.path: f for f in report.files if f.action == "create"}
        assert set(created) == {SERVICE_PATH, COMPAT_PATH}
    assert not any(p.name == "index.js" for p in shared_catalog.glob("dynmodels-*/**/*"))


def test_a_shared_file_has_the_guarantees_of_a_created_file(shared_catalog: Path, tree: Path) -> None:
    before = snapshot(tree)
    checkout, catalog = find_checkout(tree), load_catalog(shared_catalog)
    engine.apply(checkout, catalog)
    manifest = StateDir(checkout.state_dir).read_manifest()
    record = manifest.record(SERVICE_PATH)
    assert record is not None and record.action == "create" and record.patch == f"feature/{SERVICE_PATH}"
    assert engine.verify(checkout, catalog).ok

    (tree / SERVICE_PATH).write_text(NEW_SERVICE + "// edited\n")
    verified = engine.verify(checkout, catalog)
    assert not verified.ok and [f.path for f in verified.files if f.state == "drifted"] == [SERVICE_PATH]
    assert engine.status(checkout, catalog).state == "drifted"

    (tree / SERVICE_PATH).write_text(NEW_SERVICE)
    engine.rollback(checkout, catalog)
    assert snapshot(tree) == before


def test_check_names_the_feature_file_where_a_created_file_is_in_the_way(shared_catalog: Path, tree: Path) -> None:
    build_tree(tree, {SERVICE_PATH: "someone else's file\n"})
    report = engine.check(find_checkout(tree), load_catalog(shared_catalog))
    failed = [h for f in report.files for h in f.hunks if not h.ok]
    assert [(h.path, h.patch) for h in failed] == [(SERVICE_PATH, f"feature/{SERVICE_PATH}")]


@pytest.mark.parametrize(
    ("install", "message"),
    [
        ('["api/missing.js"]', "missing from the catalog"),
        ('["../outside.js"]', "relative path inside the folder"),
        ('["/etc/passwd"]', "relative path inside the folder"),
        ('[{"path": "api/x.js", "from": "a/../../x"}]', "relative path inside the folder"),
        ('[{"path": "api/x.js"}]', "'path' and 'from'"),
        ('["api/x.js", "api/x.js"]', "installed twice"),
        ("api/x.js", "must be a list"),
    ],
)
def test_a_bad_install_entry_is_a_catalog_error(tmp_path: Path, tree: Path, install: str, message: str) -> None:
    catalog = tmp_path / "catalog"
    write_feature(catalog, {"api/x.js": "x\n"})
    folder = glue_series(catalog, "dynmodels-test", ("v0.8.3",))
    text = (folder / "series.yaml").read_text()
    start = text.index("    install: ")
    end = text.index("\n", start)
    (folder / "series.yaml").write_text(text[:start] + f"    install: {install}" + text[end:])
    with pytest.raises(CatalogError, match=message):
        engine.check(find_checkout(tree), load_catalog(catalog))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("native: false", 'native: "false"'), "'native' must be true or false"),
        (("description: test series", "description: &a x\nother: *a"), "aliases are not allowed"),
        (("description: test series", "description: [not, text]"), "'description' must be a string"),
    ],
)
def test_series_yaml_types_are_checked(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    catalog = tmp_path / "catalog"
    folder = write_series(catalog)
    text = (folder / "series.yaml").read_text()
    assert change[0] in text
    (folder / "series.yaml").write_text(text.replace(change[0], change[1]))
    with pytest.raises(CatalogError, match=message):
        load_catalog(catalog)


def test_an_oversized_catalog_file_is_refused_unread(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    folder = write_series(catalog)
    with (folder / "series.yaml").open("a") as handle:
        handle.write("# padding\n" * 40_000)
    with pytest.raises(CatalogError, match="damaged"):
        load_catalog(catalog)


pytestmark_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def committed(root: Path, release: str) -> Path:
    build_tree(root, librechat_files(release))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True)
    return root


@pytestmark_git
def test_refresh_writes_an_edited_feature_file_back_to_its_one_source(shared_catalog: Path, tmp_path: Path) -> None:
    root = committed(tmp_path / "lc", "v0.8.3")
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(shared_catalog))
    glue_before = (shared_catalog / "dynmodels-test" / "0001-backend.patch").read_bytes()
    edited = NEW_SERVICE.replace("return config;", "return { ...config };")
    (root / SERVICE_PATH).write_text(edited)

    report = refresh(checkout, load_catalog(shared_catalog))
    assert (shared_catalog / "feature" / SERVICE_PATH).read_text() == edited
    assert [(s.source, s.installed_by) for s in report.shared] == [
        (f"feature/{SERVICE_PATH}", ("dynmodels-next", "dynmodels-test"))
    ]
    assert (shared_catalog / "dynmodels-test" / "0001-backend.patch").read_bytes() == glue_before
    assert edited not in "".join(p.read_text() for p in shared_catalog.glob("dynmodels-*/*.patch"))
    assert engine.verify(checkout, load_catalog(shared_catalog)).ok


@pytestmark_git
def test_port_makes_a_new_series_of_glue_that_installs_the_same_feature_files(
    shared_catalog: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    committed(mirror, "v0.8.3")
    subprocess.run(["git", "-C", str(mirror), "tag", "v0.8.3"], check=True)
    root = build_tree(tmp_path / "new", librechat_files("v0.8.9"))
    controller = root / CONTROLLER_PATH
    controller.write_text("// v0.8.9 moved things\n" + CONTROLLER)

    report = port(find_checkout(root), load_catalog(shared_catalog), "dynmodels-test", mirror / ".git")
    assert report.hunks_clean == report.hunks_total
    series = load_catalog(shared_catalog).get("dynmodels-v0.8.9")
    assert [(f.path, f.source) for f in series.shared_files()] == [
        (SERVICE_PATH, SERVICE_PATH),
        (COMPAT_PATH, "compat/v0.8/compat.js"),
    ]
    glue = (report.series_dir / "0001-backend.patch").read_text()
    assert "new file mode" not in glue and CONTROLLER_PATH in glue
    assert (root / SERVICE_PATH).read_text() == NEW_SERVICE
    assert json.loads(json.dumps(series.librechat)) == ["v0.8.9"]


def test_a_checkout_patched_by_the_old_layout_keeps_status_verify_and_rollback(tmp_path: Path, tree: Path) -> None:
    """Applied when the series carried its new files as diffs; the catalog now installs them from feature/."""
    before = snapshot(tree)
    old_catalog = tmp_path / "old"
    write_series(old_catalog)  # the service as a `new file` section of 0001-backend.patch
    checkout = find_checkout(tree)
    engine.apply(checkout, load_catalog(old_catalog))

    new_catalog = tmp_path / "new"
    write_feature(new_catalog, {SERVICE_PATH: NEW_SERVICE + "// one source now\n", "compat/v0.8/compat.js": "x\n"})
    glue_series(new_catalog, "dynmodels-test", ("v0.8.3",))
    catalog = load_catalog(new_catalog)

    status = engine.status(checkout, catalog)
    assert status.state == "patched" and status.series is not None and status.series.id == "dynmodels-test"
    assert engine.verify(checkout, catalog).ok
    engine.rollback(checkout, catalog)
    assert snapshot(tree) == before
    engine.apply(checkout, catalog)
    assert (tree / SERVICE_PATH).read_text().endswith("// one source now\n") and (tree / COMPAT_PATH).exists()


def test_apply_on_a_checkout_patched_from_an_earlier_catalog_says_so_and_force_brings_it_up_to_date(
    tmp_path: Path, tree: Path
) -> None:
    old_catalog = tmp_path / "old"
    write_series(old_catalog)
    checkout = find_checkout(tree)
    engine.apply(checkout, load_catalog(old_catalog))
    new_catalog = tmp_path / "new"
    write_feature(new_catalog, {SERVICE_PATH: NEW_SERVICE + "// one source now\n", "compat/v0.8/compat.js": "x\n"})
    glue_series(new_catalog, "dynmodels-test", ("v0.8.3",))
    catalog = load_catalog(new_catalog)

    assert "applied from an earlier catalog" in (engine.status(checkout, catalog).message or "")
    outdated = "applied from an earlier catalog: .*to re-apply it .*: librechat-dynmodels apply --force /"
    with pytest.raises(DriftError, match=outdated):
        engine.apply(checkout, catalog)
    report = engine.apply(checkout, catalog, engine.Options(force=True))
    assert report.outcome == "applied" and report.rolled_back_first
    assert (tree / COMPAT_PATH).read_text() == "x\n"
    assert engine.apply(checkout, catalog).outcome == "already applied"
