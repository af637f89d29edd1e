"""The shipped catalog keeps the feature in one source: every feature file once, series hold glue."""

from __future__ import annotations

import hashlib
import posixpath
import re

import pytest

from librechat_dynmodels.catalog import Series, default_catalog_dir, load_catalog

CATALOG = load_catalog(default_catalog_dir())
FEATURE = CATALOG.directory / "feature"


def glue_of(series: Series, component: str) -> str:
    """The text of the series' patch files for one component."""
    return "".join((series.directory / p.file).read_text() for p in series.patches if p.component == component)


def added_lines(series: Series, component: str) -> list[str]:
    """The lines the series' glue for one component adds, stripped."""
    lines = glue_of(series, component).splitlines()
    return [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]


def feature_files() -> list[str]:
    return sorted(str(p.relative_to(FEATURE)) for p in FEATURE.rglob("*") if p.is_file())


def test_every_feature_file_is_installed_by_some_series() -> None:
    installed = {shared.source for series in CATALOG.series.values() for shared in series.shared_files()}
    assert [path for path in feature_files() if path not in installed] == []


def test_every_series_installs_the_adapter_of_its_family_and_the_core() -> None:
    for series in CATALOG.series.values():
        paths = {shared.path: shared.source for shared in series.shared_files()}
        assert paths["api/server/services/Config/userModelsCompat.js"].startswith("compat/"), series.id
        for core in ("userModels.js", "userModelsFetch.js"):
            assert f"api/server/services/Config/{core}" in paths, series.id


def test_no_feature_file_is_stored_twice() -> None:
    digests: dict[str, list[str]] = {}
    for path in feature_files():
        digest = hashlib.sha256((FEATURE / path).read_bytes()).hexdigest()
        digests.setdefault(digest, []).append(path)
    assert [paths for paths in digests.values() if len(paths) > 1] == []


def test_every_series_holds_glue_not_a_copy_of_the_feature() -> None:
    """Glue costs a few hundred lines per series; the feature (over 7,000 lines) lives once in feature/.

    A per-series bound instead of a cap on the whole catalog: a new release adds a series, a new
    feature part adds feature lines; neither may copy the feature into a series' diffs.
    """
    feature_lines = sum(p.read_bytes().count(b"\n") for p in FEATURE.rglob("*") if p.is_file())
    glue_lines = {
        series.id: sum((series.directory / p.file).read_bytes().count(b"\n") for p in series.patches)
        for series in CATALOG.series.values()
    }
    assert {sid: n for sid, n in glue_lines.items() if n >= 1_000} == {}
    assert max(glue_lines.values()) * 5 < feature_lines


def test_every_series_validates_and_keeps_the_model_filters_in_the_config_schema() -> None:
    for series in CATALOG.series.values():
        added = added_lines(series, "data-provider")
        assert "include: z.array(z.string()).optional()," in added, series.id
        assert "exclude: z.array(z.string()).optional()," in added, series.id
        assert ".array(endpointSchema.partial().superRefine(refineModelPatterns))" in added, series.id
        assert "export * from './modelFilters';" in added, series.id
        installed = {shared.path for shared in series.shared_files()}
        assert "packages/data-provider/src/modelFilters.ts" in installed, series.id


def test_every_series_that_guards_the_send_guards_voice_input_too() -> None:
    """Voice input submits through AudioRecorder's `ask`: unguarded, it sends with a model that went away.

    Every release the catalog covers renders AudioRecorder with `ask={submitMessage}` in ChatForm.tsx
    (v0.7.5 to main), so a series whose chat form guards the send guards `ask` too.
    """
    unguarded = []
    for series in CATALOG.series.values():
        added = added_lines(series, "client")
        if any("modelAway.guard(" in line for line in added) and "ask={modelAway.guard(submitMessage)}" not in added:
            unguarded.append(series.id)
    assert unguarded == []


# static imports (`from './x'`, `import './x'`) and unconditional requires (`= require('./x')`); a
# require behind a condition (`layout.ownCache ? require('../userModelsCache') : null`) is optional
RELATIVE_IMPORT = re.compile(r"""(?:\bfrom\s+|^import\s+|=\s*require\()['"](\.\.?/[^'"]+)['"]""", re.M)
MODULE_SUFFIXES = ("", ".ts", ".tsx", ".js", ".jsx", "/index.ts", "/index.tsx", "/index.js")
FEATURE_PATHS = {shared.path for series in CATALOG.series.values() for shared in series.shared_files()}


@pytest.mark.parametrize("series_id", sorted(CATALOG.series))
def test_every_feature_file_a_series_imports_is_installed_by_that_series(series_id: str) -> None:
    """A relative import of an installed feature file that names another feature file needs that file too.

    dynmodels-v0.8.0, v0.8.2 and v0.7.5 installed useKeepListedModel.ts, which imports './useModelAway', without
    useModelAway.ts: "Cannot find module" in the client build and its spec. An import of one of
    LibreChat's own files (no series installs it) is not checked here: that needs the release's tree.
    """
    installed = {shared.path: shared.source for shared in CATALOG.series[series_id].shared_files()}
    missing = []
    for path, source in installed.items():
        for spec in RELATIVE_IMPORT.findall((FEATURE / source).read_text()):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
            candidates = [target + suffix for suffix in MODULE_SUFFIXES]
            if any(c in FEATURE_PATHS for c in candidates) and not any(c in installed for c in candidates):
                missing.append(f"{path} imports {spec}")
    assert missing == []


# the feature's own i18n keys: a literal in an installed client file, added by the series' glue
FEATURE_I18N_KEY = re.compile(r"""['"`](com_ui_(?:dynamic_models|model_away)_\w+)['"`]""")
ADDED_I18N_KEY = re.compile(r"""^\+\s*['"]?(com_ui_(?:dynamic_models|model_away)_\w+)['"]?\s*:""", re.M)


def test_every_i18n_key_an_installed_feature_file_names_is_added_by_that_series() -> None:
    """A key missing from the release's strings renders as the key itself: v0.7.9's agent refusal read
    "com_ui_model_away_agent The model ..." (ModelAwayNotice's modelNotListedError, native-only keys)."""
    missing: dict[str, list[str]] = {}
    for series in CATALOG.series.values():
        used = {
            key
            for shared in series.shared_files()
            if shared.path.startswith("client/") and ".spec." not in shared.path and "__tests__" not in shared.path
            for key in FEATURE_I18N_KEY.findall((FEATURE / shared.source).read_text())
        }
        absent = sorted(used - set(ADDED_I18N_KEY.findall(glue_of(series, "client"))))
        if absent:
            missing[series.id] = absent
    assert missing == {}


def _release(ref: str) -> tuple[int, ...] | None:
    found = re.match(r"v(\d+)\.(\d+)\.(\d+)", ref)
    return tuple(int(part) for part in found.groups()) if found else None


def test_every_series_from_v0_8_0_names_the_agent_whose_model_went_away() -> None:
    """From v0.8.0 the release has what useChatModelAway asks of it (isEphemeralAgent, the agent
    query and update mutation): the chat form's notice covers a saved agent's model too, where
    dynmodels-v0.8.0 to v0.8.3 used to stop at the conversation's own model."""
    for series in CATALOG.series.values():
        releases = [_release(ref) for ref in series.librechat]
        if any(release is not None and release < (0, 8, 0) for release in releases):
            continue
        installed = {shared.path for shared in series.shared_files()}
        assert "client/src/hooks/Config/useChatModelAway.ts" in installed, series.id
        assert "+  const modelAway = useChatModelAway(index);" in glue_of(series, "client").splitlines(), series.id
