"""models.include / models.exclude: doctor asks the checkout's own built data provider (modelFilters.ts) through node.

The hermetic tests give the checkout a tiny data provider build (FAKE_PROVIDER) exporting the same two functions;
the rules themselves are pinned by the feature's own spec (model-filters.spec.ts). LIBRECHAT_BUILT_TREE (a patched
checkout after 'npm run build:data-provider') runs the real check.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import build_tree, librechat_files
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import Catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.cli import app
from librechat_dynmodels.doctor import doctor
from librechat_dynmodels.model_filters import FilterSet, check_patterns, structure_problems
from librechat_dynmodels.models import DoctorReport

runner = CliRunner()
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH: doctor asks the data provider through it")

# What a built librechat-data-provider exports, reduced: reasons only this file gives, and globs as 'prefix*'.
FAKE_PROVIDER = r"""
const REASONS = { '': 'empty pattern', '/(/': 'invalid regular expression: fake',
  '/gpt/g': 'unsupported flags "g" (use i, m, s or u)', '/^(a+)+$/': 'can be too slow to match: fake' };
const matches = (pattern, id) => pattern.endsWith('*')
  ? id.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase()) : id === pattern;
exports.findModelPatternProblems = (filters) => ['include', 'exclude'].flatMap((key) =>
  (filters?.[key] ?? []).filter((p) => REASONS[p]).map((p) => `models.${key} pattern "${p}": ${REASONS[p]}`));
exports.filterModelList = (models, { include = [], exclude = [] }) => models.filter((id) =>
  (!include.length || include.some((p) => matches(p, id))) && !exclude.some((p) => matches(p, id)));
exports.findModelsConfigProblems = (models) => [...exports.findModelPatternProblems(models),
  ...(typeof models.filters?.maxInputPrice === 'string' ? ['models.filters.maxInputPrice: fake reason'] : [])];
"""
PROVIDER_FILES = {
    "packages/data-provider/package.json": json.dumps({"name": "librechat-data-provider", "main": "dist/index.js"}),
    "packages/data-provider/dist/index.js": FAKE_PROVIDER,
}


def test_values_that_are_not_lists_of_strings_are_problems() -> None:
    assert structure_problems({"include": "gpt-*", "exclude": [4, None]}) == [
        "models.include must be a list of patterns, not a string",
        "models.exclude pattern 4: not a string (a number)",
        "models.exclude pattern None: not a string (null)",
    ]
    assert structure_problems(None) == [] and structure_problems({"include": ["/(/"]}) == []


# -- doctor -------------------------------------------------------------------------------


def make(tmp_path: Path, models: str, name: str = "LiteLLM", provider: bool = True) -> Path:
    """A checkout whose one endpoint is dynamic, with ``models`` as its YAML flow mapping."""
    yaml_text = (
        "endpoints:\n  custom:\n"
        f'    - name: "{name}"\n'
        '      apiKey: "user_provided"\n'
        '      baseURL: "https://litellm.example.com/v1"\n'
        f"      models: {models}\n"
    )
    files = {**librechat_files(), **(PROVIDER_FILES if provider else {}), "librechat.yaml": yaml_text}
    return build_tree(tmp_path / "lc", files)


def run_doctor(root: Path, catalog: Catalog, environ: dict[str, str] | None = None) -> DoctorReport:
    checkout = find_checkout(root)
    engine.apply(checkout, catalog)
    return doctor(checkout, catalog, environ)


def findings(report: DoctorReport) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in report.findings]


@needs_node
def test_valid_filters_that_keep_a_default_are_fine(tmp_path: Path, catalog: Catalog) -> None:
    models = '{ default: ["gpt-4o-mini"], fetch: true, include: ["gpt-4*"], exclude: ["*embedding*", "/^dall-e/"] }'
    report = run_doctor(make(tmp_path, models), catalog)
    assert report.ok and report.findings == ()


@needs_node
def test_an_invalid_pattern_blocks_and_names_key_pattern_and_reason(tmp_path: Path, catalog: Catalog) -> None:
    models = '{ default: ["gpt-4o-mini"], fetch: true, exclude: ["*embedding*", "/(/"] }'
    report = run_doctor(make(tmp_path, models), catalog)
    assert not report.ok and findings(report) == [("blocker", "invalid_model_pattern")]
    (finding,) = report.findings
    assert finding.endpoint == "LiteLLM" and finding.path == "librechat.yaml"
    assert finding.message.startswith('models.exclude pattern "/(/": invalid regular expression')
    assert "LibreChat refuses the whole configuration at startup" in finding.message
    assert not report.endpoints[0].eligible and report.endpoints[0].reasons == ("invalid_model_pattern",)


@needs_node
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"gpt-*"', "models.include must be a list of patterns, not a string"),
        ("[4]", "models.include pattern 4: not a string"),
        ('[""]', 'models.include pattern "": empty pattern'),
    ],
)
@needs_node
def test_include_that_is_not_a_list_of_patterns_blocks(
    tmp_path: Path, catalog: Catalog, value: str, message: str
) -> None:
    report = run_doctor(make(tmp_path, f'{{ default: ["gpt-4o-mini"], fetch: true, include: {value} }}'), catalog)
    assert findings(report) == [("blocker", "invalid_model_pattern")]
    assert report.findings[0].message.startswith(message)


@needs_node
def test_include_that_keeps_no_default_is_a_warning(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(
        make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["claude-*", "gpt-4"] }'), catalog
    )
    assert report.ok and findings(report) == [("warning", "include_keeps_no_default")]
    assert report.findings[0].message.startswith("models.include keeps none of models.default (gpt-4o-mini)")


@needs_node
def test_exclude_alone_is_not_judged_against_the_defaults(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, exclude: ["*"] }'), catalog)
    assert report.findings == ()


@needs_node
def test_filters_without_fetch_are_a_warning(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(
        make(tmp_path, '{ default: ["gpt-4o-mini"], include: ["gpt-*"], exclude: ["*-mini"] }'), catalog
    )
    assert ("warning", "filters_without_fetch") in findings(report)
    finding = next(f for f in report.findings if f.code == "filters_without_fetch")
    assert finding.message.startswith("models.include and models.exclude set but models.fetch is not true")
    assert "include_keeps_no_default" not in {f.code for f in report.findings}


@needs_node
def test_empty_filter_lists_are_no_filters(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: [], exclude: [] }'), catalog)
    assert report.findings == ()


# -- the command line ---------------------------------------------------------------------


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


@needs_node
def test_cli_exits_1_on_an_invalid_pattern_and_lists_it_in_json(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["/gpt/g"] }')
    engine.apply(find_checkout(root), catalog)
    result = cli("--patches", str(catalog.directory), "doctor", str(root), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and (data["status"], data["exit_code"]) == ("failed", 1)
    assert data["errors"] == [
        {
            "code": "invalid_model_pattern",
            "message": 'endpoint \'LiteLLM\': models.include pattern "/gpt/g": unsupported flags "g" (use i, m, s '
            "or u); LibreChat refuses the whole configuration at startup",
            "path": "librechat.yaml",
        }
    ]
    assert data["data"]["findings"][0]["code"] == "invalid_model_pattern"


@needs_node
def test_cli_exits_0_with_filter_warnings_and_shows_them(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["claude-*"] }')
    engine.apply(find_checkout(root), catalog)
    result = cli("--patches", str(catalog.directory), "--no-color", "doctor", str(root))
    assert result.exit_code == 0 and result.stderr == ""
    assert "include_keeps_no_default" in result.stdout
    assert result.stdout.rstrip().endswith("nothing blocks the feature (1 warning)")


@needs_node
def test_the_data_provider_is_asked_once_for_every_endpoint(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["/^(a+)+$/"] }')
    text = (root / "librechat.yaml").read_text()
    second = text.replace('name: "LiteLLM"', 'name: "Other"').split("custom:\n")[1].replace("/^(a+)+$/", "/(/")
    (root / "librechat.yaml").write_text(text + second)
    log = root / "asked.log"
    provider = root / "packages/data-provider/dist/index.js"
    provider.write_text(f"require('fs').appendFileSync({json.dumps(str(log))}, 'asked\\n');\n" + FAKE_PROVIDER)
    report = run_doctor(root, catalog)
    assert [(f.endpoint, f.code) for f in report.findings] == [
        ("LiteLLM", "invalid_model_pattern"),
        ("Other", "invalid_model_pattern"),
    ]
    assert report.findings[0].message.startswith('models.include pattern "/^(a+)+$/": can be too slow to match: fake')
    assert log.read_text() == "asked\n"


@needs_node
def test_without_node_the_patterns_are_not_judged_and_doctor_says_so(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["/(/"] }')
    report = run_doctor(root, catalog, {"PATH": str(tmp_path / "empty")})
    assert report.ok and [(f.severity, f.code) for f in report.findings] == [("warning", "patterns_unchecked")]
    assert report.findings[0].message == (
        "models.include: cannot check the patterns without Node.js (node is not on PATH): run doctor with "
        "LibreChat's node on PATH"
    )


@needs_node
def test_without_a_built_data_provider_doctor_names_the_build_command(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, exclude: ["/(/"] }', provider=False)
    report = run_doctor(root, catalog, dict(os.environ))
    assert findings(report) == [("warning", "patterns_unchecked")]
    assert report.findings[0].message == (
        "models.exclude: cannot check the patterns without the built data provider: run 'npm run "
        f"build:data-provider' in {root}"
    )


@needs_node
def test_a_data_provider_built_without_the_filters_is_named_as_such(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["gpt-*"] }')
    (root / "packages/data-provider/dist/index.js").write_text("exports.EModelEndpoint = {};\n")
    report = run_doctor(root, catalog)
    assert findings(report) == [("warning", "patterns_unchecked")]
    assert "has no findModelPatternProblems (not patched, or not built since)" in report.findings[0].message
    (root / "packages/data-provider/dist/index.js").write_text("throw new Error('Cannot find module zod');\n")
    report = run_doctor(root, catalog)
    assert report.findings[0].message.startswith(
        "models.include: cannot check the patterns: the data provider cannot be loaded (Cannot find module zod)"
    )


@needs_node
def test_an_invalid_models_filters_value_blocks_as_the_data_provider_words_it(tmp_path: Path, catalog: Catalog) -> None:
    models = '{ default: ["gpt-4o-mini"], fetch: true, filters: { maxInputPrice: "5" }, labels: { a: "A" } }'
    report = run_doctor(make(tmp_path, models), catalog)
    assert not report.ok and findings(report) == [("blocker", "invalid_models_key")]
    assert report.findings[0].message.startswith("models.filters.maxInputPrice: fake reason; LibreChat refuses")


@needs_node
def test_valid_new_models_keys_are_fine_and_asked_of_the_data_provider(tmp_path: Path, catalog: Catalog) -> None:
    models = (
        '{ default: ["gpt-4o-mini"], fetch: true, filters: { maxInputPrice: 5, require: [vision] }, groupBy: prefix }'
    )
    report = run_doctor(make(tmp_path, models), catalog)
    assert report.ok and report.findings == ()


@needs_node
def test_a_data_provider_without_the_new_keys_check_leaves_them_unchecked(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, filters: { freeOnly: true } }')
    dist = root / "packages/data-provider/dist/index.js"
    dist.write_text(dist.read_text().split("exports.findModelsConfigProblems")[0])
    report = run_doctor(root, catalog)
    assert findings(report) == [("warning", "patterns_unchecked")]
    assert report.findings[0].message.startswith("models.filters: cannot check the patterns")


BUILT_TREE = os.environ.get("LIBRECHAT_BUILT_TREE")


@pytest.mark.skipif(
    not BUILT_TREE or NODE is None,
    reason="LIBRECHAT_BUILT_TREE is unset (a patched checkout after 'npm run build:data-provider'), or no node",
)
def test_the_real_data_provider_refuses_a_pattern_that_backtracks_catastrophically() -> None:
    assert BUILT_TREE is not None
    checked = check_patterns(
        Path(BUILT_TREE),
        [
            FilterSet(("/^([\\w.]+-?)+:free$/",), (), ("gpt-4o-mini",)),
            FilterSet(("gpt-4*", "/^o[134](-mini)?$/"), ("*embedding*",), ("gpt-4o-mini", "o3", "claude-3")),
        ],
    )
    assert checked.unavailable is None
    (refused, kept) = checked.verdicts
    assert refused.problems == (
        'models.include pattern "/^([\\w.]+-?)+:free$/": can be too slow to match: a repeated group may hold no '
        'quantifier and no "|" (it can backtrack catastrophically)',
    )
    assert kept.problems == () and kept.kept_defaults == ("gpt-4o-mini", "o3")


@pytest.mark.skipif(
    not BUILT_TREE or NODE is None,
    reason="LIBRECHAT_BUILT_TREE is unset (a patched checkout after 'npm run build:data-provider'), or no node",
)
def test_the_real_data_provider_judges_models_filters_labels_groupby_and_metadata() -> None:
    assert BUILT_TREE is not None
    bad = {"filters": {"maxInputPrice": "5", "require": ["audio"]}, "groupBy": "vendor", "metadata": "openai"}
    good = {"filters": {"maxInputPrice": 5, "freeOnly": True, "require": ["vision", "tools"]}, "labels": {"a": "A"}}
    checked = check_patterns(
        Path(BUILT_TREE),
        [FilterSet((), (), ("a",), json.dumps(bad)), FilterSet((), (), ("a",), json.dumps(good))],
    )
    assert checked.unavailable is None
    refused, kept = checked.verdicts
    assert [problem.split(":")[0] for problem in refused.problems] == [
        "models.filters.maxInputPrice",
        "models.filters.require.0",
        "models.groupBy",
        "models.metadata",
    ]
    assert kept.problems == ()
