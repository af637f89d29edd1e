"""A branch and a release that say the same version: the series is chosen by what applies.

LibreChat's ``main`` kept saying ``v0.8.8-rc1`` in its package.json for 91 commits after that tag, while
its client moved: the version string cannot tell the two apart, the hunks can.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    HOOK,
    PATCHED_CONTROLLER,
    PATCHED_HOOK,
    build_tree,
    git_diff,
    librechat_files,
    snapshot,
    write_series,
)
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import Series, default_catalog_dir, load_catalog, release_key
from librechat_dynmodels.checkout import _NATIVE_MARKERS, find_checkout

CONTROLLER_PATH = "api/server/controllers/ModelController.js"
HOOK_PATH = "client/src/hooks/Input/useUserKey.ts"
VERSION = "v0.8.8-rc1"
# The branch moved the hook: the release's client hunk no longer finds its context there.
BRANCH_HOOK = HOOK.replace(
    "const useUserKey = (endpoint: string) => {\n",
    "const useUserKey = (endpoint: string) => {\n  const { isSmallScreen } = useSidebarState();\n",
)
BRANCH_PATCHED_HOOK = PATCHED_HOOK.replace(
    "const useUserKey = (endpoint: string) => {\n",
    "const useUserKey = (endpoint: string) => {\n  const { isSmallScreen } = useSidebarState();\n",
)


def two_series(catalog: Path, branch_claims: tuple[str, ...]) -> None:
    backend = ("backend", git_diff({CONTROLLER_PATH: (CONTROLLER, PATCHED_CONTROLLER)}))
    write_series(
        catalog,
        "dynmodels-release",
        (VERSION,),
        {"0001-backend.patch": backend, "0002-client.patch": ("client", git_diff({HOOK_PATH: (HOOK, PATCHED_HOOK)}))},
    )
    write_series(
        catalog,
        "dynmodels-branch",
        branch_claims,
        {
            "0001-backend.patch": backend,
            "0002-client.patch": ("client", git_diff({HOOK_PATH: (BRANCH_HOOK, BRANCH_PATCHED_HOOK)})),
        },
    )


@pytest.mark.parametrize("branch_claims", [(VERSION,), ("main",)], ids=["both-claim-the-version", "branch-claims-main"])
def test_a_release_and_a_branch_with_one_version_string_each_get_the_series_that_applies(
    tmp_path: Path, branch_claims: tuple[str, ...]
) -> None:
    two_series(tmp_path / "catalog", branch_claims)
    catalog = load_catalog(tmp_path / "catalog")
    release = build_tree(tmp_path / "release", librechat_files(VERSION))
    branch = build_tree(tmp_path / "branch", {**librechat_files(VERSION), HOOK_PATH: BRANCH_HOOK})
    for root, wanted in ((release, "dynmodels-release"), (branch, "dynmodels-branch")):
        checkout = find_checkout(root)
        before = snapshot(root)
        checked = engine.check(checkout, catalog)
        assert (checked.series.id, checked.ok, checked.series.reason) == (wanted, True, "content"), root.name
        assert engine.status(checkout, catalog).series.id == wanted
        applied = engine.apply(checkout, catalog)
        assert (applied.series.id, applied.outcome) == (wanted, "applied")
        assert engine.verify(checkout, catalog).ok
        assert engine.rollback(checkout, catalog).outcome == "rolled back"
        assert snapshot(root) == before


# -- the shipped catalog ------------------------------------------------------------------

SHIPPED = load_catalog(default_catalog_dir())


def tree_from_glue(root: Path, series: Series, version: str) -> Path:
    """A tree that holds exactly what ``series``' glue hunks expect of LibreChat's files and nothing of LibreChat
    itself (the benchmark's synthetic tree), saying ``version``, with the native loader's markers when it is for
    a native release."""
    spec = importlib.util.spec_from_file_location("bench", Path(__file__).parent.parent / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.synthetic_tree(series, root, files=0)
    files = {"package.json": f'{{"name": "LibreChat", "version": "{version}"}}'}
    if series.native:
        marker_file, markers = _NATIVE_MARKERS[0]
        assert not (root / marker_file).exists()
        files[marker_file] = "\n".join(markers) + "\n"
    return build_tree(root, files)


def test_the_shipped_catalog_tells_main_feat_v8_7_and_v0_8_8_rc1_apart_by_content(tmp_path: Path) -> None:
    """All three say v0.8.8-rc1 (feat/v8.7 is a branch 195 commits on main); each gets its own series, and none
    of the three series applies to another's tree."""
    series_of = {
        "main": "dynmodels-native-main",
        "feat/v8.7": "dynmodels-native-feat-v8.7",
        VERSION: "dynmodels-native-v0.8.8-rc1",
    }
    for ref, series_id in series_of.items():
        assert SHIPPED.get(series_id).librechat == (ref,)
        root = tree_from_glue(tmp_path / ref.replace("/", "-"), SHIPPED.get(series_id), VERSION)
        checked = engine.check(find_checkout(root), SHIPPED)
        assert (checked.series.id, checked.ok) == (series_id, True), ref
        for other in series_of.values():
            if other != series_id:
                assert not engine.check(find_checkout(root), SHIPPED, engine.Options(series_id=other)).ok, (ref, other)


@pytest.mark.parametrize("series_id", sorted(s.id for s in SHIPPED.series.values() if release_key(s.librechat[0])))
def test_each_shipped_release_series_is_chosen_on_a_tree_of_its_own_glue(tmp_path: Path, series_id: str) -> None:
    series = SHIPPED.get(series_id)
    root = tree_from_glue(tmp_path / series_id, series, series.librechat[0])
    checked = engine.check(find_checkout(root), SHIPPED)
    assert (checked.series.id, checked.ok) == (series_id, True)
