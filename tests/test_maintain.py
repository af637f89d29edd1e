"""refresh and port: the maintainer's tools for keeping series current."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    PATCHED_ROUTES,
    ROUTE_ALL,
    ROUTE_GET,
    ROUTES,
    committed_tree,
    export,
    librechat_files,
    port_mirror,
    snapshot,
    write_series,
)
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.errors import DriftError, UsageError
from librechat_dynmodels.maintain import port, refresh

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
CONTROLLER_PATH = "api/server/controllers/ModelController.js"
ROUTES_PATH = "api/server/routes/models.js"


def test_refresh_regenerates_the_series_from_a_hand_edited_checkout(tmp_path: Path, catalog_dir: Path) -> None:
    files = librechat_files()
    files["api/other.js"] = "module.exports = 1;\n"
    root = committed_tree(tmp_path / "lc", files)
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    controller = root / CONTROLLER_PATH
    edited = controller.read_text().replace(
        "return overlayUserModels(req, config);", "return overlayUserModels(req, config, { strict: true });"
    )
    controller.write_text(edited)
    (root / "api/other.js").write_text("module.exports = 2;\n")

    with pytest.raises(DriftError, match="edits outside the series: api/other.js"):
        refresh(checkout, load_catalog(catalog_dir))
    report = refresh(checkout, load_catalog(catalog_dir), include=("api/other.js",))
    assert report.added_files == ("api/other.js",)
    backend = next(p for p in report.patches if p.file == "0001-backend.patch")
    assert backend.files == (CONTROLLER_PATH, ROUTES_PATH, "api/server/services/UserModels/index.js", "api/other.js")
    patch_text = (catalog_dir / "dynmodels-test" / "0001-backend.patch").read_text()
    assert "{ strict: true }" in patch_text and "index " not in patch_text and "\t20" not in patch_text
    assert engine.verify(checkout, load_catalog(catalog_dir)).ok

    engine.rollback(checkout, load_catalog(catalog_dir))
    assert controller.read_text() == CONTROLLER and (root / "api/other.js").read_text() == "module.exports = 1;\n"
    engine.apply(checkout, load_catalog(catalog_dir))
    assert controller.read_text() == edited and (root / "api/other.js").read_text() == "module.exports = 2;\n"


def test_refresh_keeps_the_text_of_every_section_that_was_not_edited(tmp_path: Path, catalog_dir: Path) -> None:
    series_dir = catalog_dir / "dynmodels-test"
    backend = series_dir / "0001-backend.patch"
    # git writes index lines and a function context after the hunk range; refresh must keep them
    # for files nobody edited instead of rewriting the whole patch in its own style.
    text = backend.read_text()
    routes_header = f"diff --git a/{ROUTES_PATH} b/{ROUTES_PATH}\n"
    assert routes_header in text
    text = text.replace(routes_header, routes_header + "index 1111111..2222222 100644\n")
    backend.write_text(text)
    client_before = (series_dir / "0002-client.patch").read_bytes()
    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    controller = root / CONTROLLER_PATH
    controller.write_text(controller.read_text().replace("overlayUserModels(req, config)", "overlayUserModels(req)"))

    refresh(checkout, load_catalog(catalog_dir))

    after = backend.read_text()
    assert "index 1111111..2222222 100644" in after and "overlayUserModels(req)" in after
    assert (series_dir / "0002-client.patch").read_bytes() == client_before
    assert engine.verify(checkout, load_catalog(catalog_dir)).ok


def test_refresh_drops_a_file_edited_back_to_its_original(tmp_path: Path, catalog_dir: Path) -> None:
    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    (root / ROUTES_PATH).write_text(ROUTES)

    report = refresh(checkout, load_catalog(catalog_dir))

    assert report.dropped_files == (ROUTES_PATH,)
    patch_text = (catalog_dir / "dynmodels-test" / "0001-backend.patch").read_text()
    assert ROUTES_PATH not in patch_text and CONTROLLER_PATH in patch_text
    state = root / ".librechat-dynmodels"
    assert ROUTES_PATH not in (state / "manifest.json").read_text()
    assert not (state / "backups" / ROUTES_PATH).exists()
    assert engine.verify(checkout, load_catalog(catalog_dir)).ok
    engine.rollback(checkout, load_catalog(catalog_dir))
    assert (root / CONTROLLER_PATH).read_text() == CONTROLLER and (root / ROUTES_PATH).read_text() == ROUTES


def test_refresh_refuses_conflict_markers(tmp_path: Path, catalog_dir: Path) -> None:
    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    (root / ROUTES_PATH).write_text("<<<<<<< checkout\na\n=======\nb\n>>>>>>> series\n")
    before = (catalog_dir / "dynmodels-test" / "0001-backend.patch").read_text()
    with pytest.raises(UsageError, match="conflict markers"):
        refresh(checkout, load_catalog(catalog_dir))
    assert (catalog_dir / "dynmodels-test" / "0001-backend.patch").read_text() == before


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    return port_mirror(tmp_path / "mirror-work")


def test_port_keeps_clean_hunks_merges_what_it_can_and_marks_conflicts(tmp_path: Path, mirror: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")
    checkout = find_checkout(root)

    report = port(checkout, load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)
    results = {f.path: f.result for f in report.files}
    assert results == {
        CONTROLLER_PATH: "merged",
        ROUTES_PATH: "conflict",
        "api/server/services/UserModels/index.js": "clean",
        "client/src/hooks/Input/useUserKey.ts": "clean",
    }
    assert (report.new_series, report.base_release, report.hunks_total) == ("dynmodels-v0.8.4", "v0.8.3", 5)
    assert report.hunks_clean == 3
    assert "<<<<<<< checkout" in (root / ROUTES_PATH).read_text()
    assert report.needs_human == (
        f"{ROUTES_PATH}: 1 conflict(s) at line 7; source hunk 1 (@@ -4,5 +4,6 @@), resolve the markers then "
        "run 'librechat-dynmodels refresh'",
    )
    assert "overlayUserModels" in (root / CONTROLLER_PATH).read_text()
    assert "loadDefaultModels(req, true)" in (root / CONTROLLER_PATH).read_text()

    # A human resolves the conflict, refresh writes the full series, and it applies to a fresh v0.8.4.
    (root / ROUTES_PATH).write_text(PATCHED_ROUTES.replace(ROUTE_GET, ROUTE_GET + ROUTE_ALL))
    refresh(checkout, load_catalog(catalog_dir))
    fresh = find_checkout(export(mirror, "v0.8.4", tmp_path / "fresh"))
    pristine = snapshot(fresh.root)
    catalog = load_catalog(catalog_dir)
    checked = engine.check(fresh, catalog)
    assert checked.ok and checked.series.id == "dynmodels-v0.8.4"
    engine.apply(fresh, catalog)
    assert (fresh.root / ROUTES_PATH).read_text() == (root / ROUTES_PATH).read_text()
    engine.rollback(fresh, catalog)
    assert snapshot(fresh.root) == pristine


def test_port_writes_a_series_yaml_that_reads_back_when_descriptions_hold_yaml_syntax(
    tmp_path: Path, mirror: Path
) -> None:
    catalog_dir = tmp_path / "catalog"
    folder = write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    yaml_path = folder / "series.yaml"
    description = "Backend: per-user cache # and a hash, 'quotes' and \"double\""
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "description: test patch 0001-backend.patch", f"description: {json.dumps(description)}"
        )
    )
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")

    port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)

    ported = load_catalog(catalog_dir).get("dynmodels-v0.8.4")
    assert ported.patches[0].description == description
    assert ported.librechat == ("v0.8.4",)


def test_port_command_reports_clean_hunks(tmp_path: Path, mirror: Path) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")
    args = ["--patches", str(catalog_dir), "port", str(root), "--from", "dynmodels-v0.8.3", "--git", str(mirror)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert (
        "3 of 5 hunks ported cleanly" in result.stdout and "needs a human: api/server/routes/models.js" in result.stdout
    )
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "already has patches applied" in again.stderr


def test_refresh_include_on_a_checkout_without_git_diffs_against_the_release_from_the_mirror(
    tmp_path: Path, mirror: Path, catalog_dir: Path
) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    included = "packages/data-provider/package.json"  # in the release, not in the series
    root = export(mirror, "v0.8.3", tmp_path / "exported")  # git archive: no .git
    engine.apply(find_checkout(root), load_catalog(catalog_dir))
    (root / included).write_text('{"name": "librechat-data-provider"}\n')
    args = ["--patches", str(catalog_dir), "refresh", str(root), "--include", included]
    series_before = snapshot(catalog_dir)

    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert f"error: {included}: --include on a checkout without git" in refused.stderr
    assert "pass --git with a LibreChat mirror that has the tag v0.8.3" in refused.stderr
    assert snapshot(catalog_dir) == series_before

    done = CliRunner().invoke(app, [*args, "--git", str(mirror)])
    assert done.exit_code == 0, done.stderr
    extra = (catalog_dir / "dynmodels-test" / "0003-data-provider-extra.patch").read_text()
    assert "new file mode" not in extra and '-{}\n+{"name": "librechat-data-provider"}\n' in extra
    fresh = find_checkout(export(mirror, "v0.8.3", tmp_path / "fresh"))
    engine.apply(fresh, load_catalog(catalog_dir))
    assert (fresh.root / included).read_text() == '{"name": "librechat-data-provider"}\n'


def installed_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_checkout: bool) -> Path:
    """The catalog the tool finds beside itself: in site-packages, or in a clone of the project."""
    if source_checkout:
        project = tmp_path / "librechat-dynmodels"
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "librechat-dynmodels"\n')
        folder = project / "patches"
    else:
        folder = tmp_path / "venv/lib/python3.12/site-packages/librechat_dynmodels/patches"
    write_series(folder, "dynmodels-v0.8.3", releases=("v0.8.3",))
    monkeypatch.setattr("librechat_dynmodels.catalog.default_catalog_dir", lambda: folder)
    return folder


def test_refresh_and_port_refuse_to_write_into_the_installed_package_catalog(
    tmp_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    catalog_dir = installed_catalog(tmp_path, monkeypatch, source_checkout=False)
    root = committed_tree(tmp_path / "lc", librechat_files())
    engine.apply(find_checkout(root), load_catalog())
    (root / ROUTES_PATH).write_text(PATCHED_ROUTES + "// edited\n")
    before = snapshot(catalog_dir)

    refused = CliRunner().invoke(app, ["refresh", str(root)])
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1
    assert "refresh writes the patch catalog, and the one in use is the installed package's" in refused.stderr
    assert f"'librechat-dynmodels --patches /path/to/librechat-dynmodels/patches refresh {root}'" in refused.stderr
    assert snapshot(catalog_dir) == before

    fresh = export(mirror, "v0.8.4", tmp_path / "v0.8.4")
    port_args = ["port", str(fresh), "--from", "dynmodels-v0.8.3", "--git", str(mirror)]
    refused_port = CliRunner().invoke(app, port_args)
    assert refused_port.exit_code == 1 and "port writes the patch catalog" in refused_port.stderr
    assert snapshot(catalog_dir) == before and not (fresh / ".librechat-dynmodels").exists()

    given = CliRunner().invoke(app, ["--patches", str(catalog_dir), "refresh", str(root)])
    assert given.exit_code == 0, given.stderr
    assert "// edited" in (catalog_dir / "dynmodels-v0.8.3" / "0001-backend.patch").read_text()


def test_refresh_writes_the_catalog_of_the_project_checkout_it_runs_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_dir = installed_catalog(tmp_path, monkeypatch, source_checkout=True)
    root = committed_tree(tmp_path / "lc", librechat_files())
    engine.apply(find_checkout(root), load_catalog())
    (root / ROUTES_PATH).write_text(PATCHED_ROUTES + "// edited\n")

    refresh(find_checkout(root), load_catalog())

    assert "// edited" in (catalog_dir / "dynmodels-v0.8.3" / "0001-backend.patch").read_text()


def test_port_names_a_missing_mirror_and_a_mirror_without_the_release(tmp_path: Path, mirror: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    write_series(catalog_dir, "dynmodels-v0.7.0", releases=("v0.7.0",))
    checkout = find_checkout(export(mirror, "v0.8.4", tmp_path / "v0.8.4"))

    with pytest.raises(UsageError, match=r"no such git mirror: nothing at this path \(give --git a bare clone"):
        port(checkout, load_catalog(catalog_dir), "dynmodels-v0.8.3", tmp_path / "nonexistent")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match=r"not a git repository \(.*\); give --git a bare clone"):
        port(checkout, load_catalog(catalog_dir), "dynmodels-v0.8.3", tmp_path / "plain")
    with pytest.raises(UsageError, match=r"none of dynmodels-v0.7.0's releases \(v0.7.0\) is in the mirror"):
        port(checkout, load_catalog(catalog_dir), "dynmodels-v0.7.0", mirror)
    # a clone's work tree is read through its .git folder
    steps: list[str] = []
    report = port(checkout, load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror.parent, on_step=steps.append)
    assert report.base_release == "v0.8.3"
    assert steps[0] == "reading the mirror" and f"porting {ROUTES_PATH}" in steps
    assert steps[-1] == "writing the ported files"
