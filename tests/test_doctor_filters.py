"""models.include / models.exclude: the patterns as modelFilters.ts reads them, and what doctor says about them."""

from __future__ import annotations

import json
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
from librechat_dynmodels.model_filters import (
    ModelPatternError,
    UncheckedPatternError,
    compile_model_pattern,
    filter_models,
    find_pattern_problems,
)
from librechat_dynmodels.models import DoctorReport

runner = CliRunner()

# The list of the TypeScript spec (model-filters.spec.ts).
FETCHED = [
    "gpt-4o",
    "gpt-4o-mini",
    "GPT-4.1",
    "gpt-3.5-turbo",
    "claude-3-5-sonnet",
    "text-embedding-3-small",
    "whisper-1",
    "dall-e-3",
    "openai/gpt-4o",
]


# -- the patterns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "model", "matches"),
    [
        # globs: the whole id, ignoring case; regular expression characters are literal
        ("gpt-4*", "GPT-4.1", True),
        ("gpt-4*", "openai/gpt-4o", False),
        ("*gpt-4*", "openai/gpt-4o", True),
        ("whisper-?", "whisper-1", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4.1", "gpt-401", False),
        ("(a|b)", "a", False),
        ("(a|b)", "(A|B)", True),
        ("/", "/", True),  # a lone slash is a glob
        ("*", "any\nthing", True),
        # regular expressions: searched anywhere, with their flags
        ("/^dall-e/", "dall-e-3", True),
        ("/embedding/", "text-embedding-3-small", True),
        ("/^GPT/", "gpt-4o", False),
        ("/^GPT/i", "gpt-4o", True),
        ("/a/b/", "xa/by", True),  # the last slash ends the body
        ("/4o$/", "gpt-4o\n", False),  # JavaScript's $ is the end of the input
        ("/4o$/m", "gpt-4o\nx", True),
        ("/^a.b$/", "a\nb", False),
        ("/^a.b$/s", "a\nb", True),
        # JavaScript syntax, read as JavaScript does
        ("/(?<family>gpt)-\\k<family>/", "gpt-gpt", True),
        ("/\\d+/", "\u0663", False),  # \d is ASCII only
        ("/\\w/", "\u00e9", False),
        ("/[]/", "anything", False),  # the empty class matches nothing
        ("/^[^]$/", "\n", True),  # and its negation anything
        ("/a{/", "a{", True),  # a lone brace is literal without the u flag
        ("/\\q/", "q", True),  # an identity escape
        ("/\\1(a)/", "a", True),  # a reference to a group not closed yet matches the empty string
        ("/\\cJ/", "\n", True),
        ("/\\u{41}/u", "A", True),
        ("/\\u{41}/", "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu", True),  # without u: 41 times 'u'
    ],
)
def test_patterns_match_as_in_modelfilters_ts(pattern: str, model: str, matches: bool) -> None:
    assert bool(compile_model_pattern(pattern).search(model)) is matches


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty pattern"),
        ("   ", "empty pattern"),
        ("/gpt", 'regular expression not closed with "/"'),
        ("//", "empty regular expression"),
        ("/gpt/g", 'unsupported flags "g" (use i, m, s or u)'),
        ("/a/b", 'unsupported flags "b" (use i, m, s or u)'),
        ("/gpt/ii", "invalid regular expression"),
        ("/(gpt/", "invalid regular expression"),
        ("/[a/", "invalid regular expression"),
        ("/*a/", "invalid regular expression"),
        ("/a{2,1}/", "invalid regular expression"),
        ("/a\\/", "invalid regular expression"),
        # what Python would read but JavaScript refuses
        ("/(?P<n>a)/", "invalid regular expression"),
        ("/(?i)gpt/", "invalid regular expression"),
        ("/(?#note)/", "invalid regular expression"),
        ("/(?>a)/", "invalid regular expression"),
        ("/a*+/", "invalid regular expression"),
        ("/(?<n>a)\\k<m>/", "invalid regular expression"),
        # stricter with the u flag
        ("/a{/u", "invalid regular expression"),
        ("/\\q/u", "invalid regular expression"),
        ("/\\-/u", "invalid regular expression"),
    ],
)
def test_invalid_patterns_give_the_reason_of_modelfilters_ts(pattern: str, reason: str) -> None:
    with pytest.raises(ModelPatternError) as raised:
        compile_model_pattern(pattern)
    assert raised.value.reason.startswith(reason)
    assert not isinstance(raised.value, UncheckedPatternError)


@pytest.mark.parametrize("pattern", ["/\\p{L}/u", "/(?<=a+)b/", "/(?i:gpt)/"])
def test_patterns_python_cannot_express_are_unchecked_not_invalid(pattern: str) -> None:
    with pytest.raises(UncheckedPatternError):
        compile_model_pattern(pattern)
    assert find_pattern_problems({"include": [pattern]}) == []


def test_problems_name_the_key_and_the_pattern() -> None:
    problems = find_pattern_problems({"include": ["gpt-*"], "exclude": ["/(/"]})
    assert len(problems) == 1 and problems[0].startswith('models.exclude pattern "/(/": invalid regular expression')
    assert find_pattern_problems(None) == [] and find_pattern_problems({}) == []


def test_values_that_are_not_lists_of_strings_are_problems() -> None:
    assert find_pattern_problems({"include": "gpt-*", "exclude": [4, None]}) == [
        "models.include must be a list of patterns, not a string",
        "models.exclude pattern 4: not a string (a number)",
        "models.exclude pattern None: not a string (null)",
    ]


def test_filter_keeps_the_list_without_filters() -> None:
    assert filter_models(FETCHED, None, None) == FETCHED
    assert filter_models(FETCHED, [], []) == FETCHED


def test_filter_keeps_only_ids_matching_one_include_pattern() -> None:
    assert filter_models(FETCHED, ["gpt-4*", "claude-*"]) == ["gpt-4o", "gpt-4o-mini", "GPT-4.1", "claude-3-5-sonnet"]


def test_filter_then_drops_ids_matching_an_exclude_pattern() -> None:
    kept = filter_models(FETCHED, ["*gpt*", "*e*"], ["*embedding*", "*whisper*", "/^dall-e/", "*-mini"])
    assert kept == ["gpt-4o", "GPT-4.1", "gpt-3.5-turbo", "claude-3-5-sonnet", "openai/gpt-4o"]


def test_invalid_patterns_match_nothing() -> None:
    assert filter_models(FETCHED, ["/(/"]) == []
    assert filter_models(FETCHED, None, ["/(/"]) == FETCHED


# -- doctor -------------------------------------------------------------------------------


def make(tmp_path: Path, models: str, name: str = "LiteLLM") -> Path:
    """A checkout whose one endpoint is dynamic, with ``models`` as its YAML flow mapping."""
    yaml_text = (
        "endpoints:\n  custom:\n"
        f'    - name: "{name}"\n'
        '      apiKey: "user_provided"\n'
        '      baseURL: "https://litellm.example.com/v1"\n'
        f"      models: {models}\n"
    )
    return build_tree(tmp_path / "lc", {**librechat_files(), "librechat.yaml": yaml_text})


def run_doctor(root: Path, catalog: Catalog) -> DoctorReport:
    checkout = find_checkout(root)
    engine.apply(checkout, catalog)
    return doctor(checkout, catalog)


def findings(report: DoctorReport) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in report.findings]


def test_valid_filters_that_keep_a_default_are_fine(tmp_path: Path, catalog: Catalog) -> None:
    models = '{ default: ["gpt-4o-mini"], fetch: true, include: ["gpt-4*"], exclude: ["*embedding*", "/^dall-e/"] }'
    report = run_doctor(make(tmp_path, models), catalog)
    assert report.ok and report.findings == ()


def test_an_invalid_pattern_blocks_and_names_key_pattern_and_reason(tmp_path: Path, catalog: Catalog) -> None:
    models = '{ default: ["gpt-4o-mini"], fetch: true, exclude: ["*embedding*", "/(/"] }'
    report = run_doctor(make(tmp_path, models), catalog)
    assert not report.ok and findings(report) == [("blocker", "invalid_model_pattern")]
    (finding,) = report.findings
    assert finding.endpoint == "LiteLLM" and finding.path == "librechat.yaml"
    assert finding.message.startswith('models.exclude pattern "/(/": invalid regular expression')
    assert "LibreChat refuses the whole configuration at startup" in finding.message
    assert not report.endpoints[0].eligible and report.endpoints[0].reasons == ("invalid_model_pattern",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"gpt-*"', "models.include must be a list of patterns, not a string"),
        ("[4]", "models.include pattern 4: not a string"),
        ('[""]', 'models.include pattern "": empty pattern'),
    ],
)
def test_include_that_is_not_a_list_of_patterns_blocks(
    tmp_path: Path, catalog: Catalog, value: str, message: str
) -> None:
    report = run_doctor(make(tmp_path, f'{{ default: ["gpt-4o-mini"], fetch: true, include: {value} }}'), catalog)
    assert findings(report) == [("blocker", "invalid_model_pattern")]
    assert report.findings[0].message.startswith(message)


def test_include_that_keeps_no_default_is_a_warning(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(
        make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["claude-*", "gpt-4"] }'), catalog
    )
    assert report.ok and findings(report) == [("warning", "include_keeps_no_default")]
    assert report.findings[0].message.startswith("models.include keeps none of models.default (gpt-4o-mini)")


def test_exclude_alone_is_not_judged_against_the_defaults(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, exclude: ["*"] }'), catalog)
    assert report.findings == ()


def test_filters_without_fetch_are_a_warning(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(
        make(tmp_path, '{ default: ["gpt-4o-mini"], include: ["gpt-*"], exclude: ["*-mini"] }'), catalog
    )
    assert ("warning", "filters_without_fetch") in findings(report)
    finding = next(f for f in report.findings if f.code == "filters_without_fetch")
    assert finding.message.startswith("models.include and models.exclude set but models.fetch is not true")
    assert "include_keeps_no_default" not in {f.code for f in report.findings}


def test_empty_filter_lists_are_no_filters(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: [], exclude: [] }'), catalog)
    assert report.findings == ()


# -- the command line ---------------------------------------------------------------------


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


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


def test_cli_exits_0_with_filter_warnings_and_shows_them(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, '{ default: ["gpt-4o-mini"], fetch: true, include: ["claude-*"] }')
    engine.apply(find_checkout(root), catalog)
    result = cli("--patches", str(catalog.directory), "--no-color", "doctor", str(root))
    assert result.exit_code == 0 and result.stderr == ""
    assert "include_keeps_no_default" in result.stdout
    assert result.stdout.rstrip().endswith("nothing blocks the feature (1 warning)")
