"""doctor: every rule on librechat.yaml and .env, the patch state, YAML errors, CONFIG_PATH, the CLI contract."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import PATCHED_ROUTES, ROUTES, build_tree, git_diff, librechat_files, write_series
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import Catalog, load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.cli import app
from librechat_dynmodels.doctor import doctor, parse_env
from librechat_dynmodels.models import DoctorReport

SRC = str(Path(__file__).resolve().parent.parent / "src")
runner = CliRunner()

DYNAMIC = """\
endpoints:
  custom:
    - name: "LiteLLM"
      apiKey: "user_provided"
      baseURL: "https://litellm.example.com/v1"
      models:
        default: ["gpt-4o-mini"]
        fetch: true
      titleConvo: true
      titleModel: "gpt-4o-mini"
"""
NATIVE_LOADER = "export function createLoadConfigModels(deps) {\n  const { getUserKeyValues } = deps;\n}\n"
# What the doctor reads of each native release family: its loader, and the allowedAddresses setting's source.
NATIVE_RELEASES: dict[str, dict[str, str]] = {
    "v0.8.5": {"packages/api/src/endpoints/config/models.ts": NATIVE_LOADER},
    "v0.8.6": {
        "packages/api/src/endpoints/config/models.ts": NATIVE_LOADER,
        "packages/api/src/auth/allowedAddresses.ts": "export function isAddressAllowed() {}\n",
    },
    "v0.8.7": {
        "packages/api/src/endpoints/config/models.ts": NATIVE_LOADER + "await validateEndpointURL(baseURL, name);\n",
        "packages/api/src/auth/allowedAddresses.ts": "export function isAddressAllowed() {}\n",
    },
}


def endpoint(name: str = "E", **fields: Any) -> str:
    """One endpoints.custom entry as YAML (fields given as YAML-ready strings)."""
    lines = [f'    - name: "{name}"'] + [f"      {key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def config(*entries: str, extra: str = "") -> str:
    return "endpoints:\n" + extra + "  custom:\n" + "".join(entries)


GOOD_MODELS = '{ default: ["m1"], fetch: true }'


def make(
    tmp_path: Path,
    yaml_text: str | None = DYNAMIC,
    env: str | None = None,
    native: str | None = None,
    name: str = "lc",
    **more: str,
) -> Path:
    """A checkout; ``native`` names the native release family to model (v0.8.5, v0.8.6, v0.8.7)."""
    files: dict[str, str | bytes] = dict(librechat_files(native or "v0.8.3"))
    if native:
        files.update(NATIVE_RELEASES[native])
    if yaml_text is not None:
        files["librechat.yaml"] = yaml_text
    if env is not None:
        files[".env"] = env
    files.update(more)
    return build_tree(tmp_path / name, files)


def run_doctor(root: Path, catalog: Catalog, apply_first: bool = False) -> DoctorReport:
    checkout = find_checkout(root)
    if apply_first:
        engine.apply(checkout, catalog)
    return doctor(checkout, catalog)


def codes(report: DoctorReport, severity: str | None = None) -> list[str]:
    return [f.code for f in report.findings if severity is None or f.severity == severity]


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


# -- the happy path -----------------------------------------------------------------------


def test_dynamic_endpoint_with_verified_patches_is_ok(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path), catalog, apply_first=True)
    assert report.ok and report.findings == ()
    (check,) = report.endpoints
    assert (check.name, check.eligible, check.fetch, check.user_provided, check.defaults) == (
        "LiteLLM",
        True,
        True,
        ("apiKey",),
        ("gpt-4o-mini",),
    )
    assert report.patches is not None
    assert (report.patches.state, report.patches.applied, report.patches.verified) == ("patched", True, True)
    assert report.config_source == "default" and report.env_file is None


def test_a_user_provided_base_url_with_the_admin_key_gives_no_per_user_models(tmp_path: Path, catalog: Catalog) -> None:
    """A user URL is never sent the admin key, and a user who can save only a URL sees the defaults."""
    yaml_text = config(endpoint("Proxy", apiKey='"${PROXY_KEY}"', baseURL='"user_provided"', models=GOOD_MODELS))
    root = make(tmp_path, yaml_text, env="PROXY_KEY=sk-admin\n")
    report = run_doctor(root, catalog, apply_first=True)
    (proxy,) = report.endpoints
    assert proxy.user_provided == ("baseURL",) and not proxy.eligible
    assert proxy.reasons == ("user_url_without_user_key",)
    assert codes(report) == ["user_url_without_user_key", "no_dynamic_endpoint"] and not report.ok
    finding = report.findings[0]
    assert finding.severity == "warning" and finding.endpoint == "Proxy"
    assert "never sent the endpoint's configured key" in finding.message and "models.default" in finding.message
    shown = cli("--patches", str(catalog.directory), "--no-color", "doctor", str(root)).stdout
    assert "Proxy     no" in shown and "user_url_without_user_key" in shown
    both = config(endpoint("Proxy", apiKey='"user_provided"', baseURL='"user_provided"', models=GOOD_MODELS))
    assert run_doctor(make(tmp_path, both, name="both"), catalog, apply_first=True).endpoints[0].eligible


# -- one test per rule --------------------------------------------------------------------


def test_fetch_without_user_provided_key_or_url_is_not_eligible(tmp_path: Path, catalog: Catalog) -> None:
    yaml_text = DYNAMIC + endpoint("Shared", apiKey='"sk-admin"', baseURL='"https://x/v1"', models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    shared = report.endpoints[1]
    assert not shared.eligible and shared.reasons == ("fetch_without_user_key",)
    finding = report.findings[0]
    assert (finding.severity, finding.endpoint, finding.path) == ("warning", "Shared", "librechat.yaml")
    assert report.ok  # LiteLLM still gets the feature


def test_user_provided_key_without_fetch_is_not_eligible(tmp_path: Path, catalog: Catalog) -> None:
    yaml_text = DYNAMIC + endpoint("NoFetch", apiKey='"user_provided"', models='{ default: ["m1"] }')
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert not report.endpoints[1].eligible
    assert codes(report) == ["user_key_without_fetch"] and "set models.fetch: true" in report.findings[0].message


def test_fetch_false_is_not_fetch(tmp_path: Path, catalog: Catalog) -> None:
    yaml_text = config(endpoint(apiKey='"user_provided"', models='{ default: ["m1"], fetch: "true" }'))
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert codes(report) == ["user_key_without_fetch", "no_dynamic_endpoint"] and not report.ok


@pytest.mark.parametrize("models", ["{ default: [], fetch: true }", "{ fetch: true }"])
def test_empty_defaults_block(tmp_path: Path, catalog: Catalog, models: str) -> None:
    yaml_text = DYNAMIC + endpoint("Empty", apiKey='"user_provided"', models=models)
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert codes(report, "blocker") == ["empty_defaults"] and not report.ok
    assert "nothing to fall back to" in report.findings[0].message


def test_title_and_summary_models_must_be_in_defaults(tmp_path: Path, catalog: Catalog) -> None:
    yaml_text = config(
        endpoint("A", apiKey='"user_provided"', models=GOOD_MODELS, titleModel='"gpt-4o"', summaryModel='"m2"'),
        endpoint("B", apiKey='"user_provided"', models=GOOD_MODELS, titleModel='"current_model"', summaryModel='"m1"'),
    )
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert codes(report) == ["title_model_not_in_defaults", "summary_model_not_in_defaults"]
    assert {f.endpoint for f in report.findings} == {"A"} and report.ok
    assert "titleModel 'gpt-4o' is not in models.default" in report.findings[0].message


def test_user_provided_base_url_on_native_release_wants_allowed_addresses(tmp_path: Path, catalog: Catalog) -> None:
    entry = endpoint(apiKey='"user_provided"', baseURL='"user_provided"', models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, config(entry), native="v0.8.7"), catalog)
    assert codes(report) == ["no_allowed_addresses"] and report.ok
    assert "endpoints.allowedAddresses" in report.findings[0].message
    allowed = config(entry, extra='  allowedAddresses: ["vllm.lan:8000"]\n')
    assert codes(run_doctor(make(tmp_path, allowed, native="v0.8.7", name="allowed"), catalog)) == []
    pre_native = run_doctor(make(tmp_path, config(entry), name="old"), catalog, apply_first=True)
    assert codes(pre_native) == []


def test_env_references_missing_from_dotenv_are_named(tmp_path: Path, catalog: Catalog) -> None:
    entry = endpoint(
        apiKey='"user_provided"',
        baseURL='"${LITELLM_URL}"',
        models=GOOD_MODELS,
        headers='{ X-Org: "${ORG_ID}", X-Team: "team-${TEAM}" }',
    )
    env = '# settings\nexport LITELLM_URL="https://litellm.example.com/v1"\nTEAM=\n'
    report = run_doctor(make(tmp_path, config(entry), env=env), catalog, apply_first=True)
    messages = [f.message for f in report.findings]
    assert codes(report) == ["env_var_missing", "env_var_missing"] and report.ok
    assert messages[0].startswith("${ORG_ID} (in headers.X-Org) is set neither in .env nor in the environment")
    assert messages[1].startswith("${TEAM} (in headers.X-Team) is set neither in .env nor in the environment")
    assert "docker compose" in messages[0]
    assert report.env_file == str(report.root / ".env")


def test_env_references_resolve_from_the_environment_too(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORG_ID", "from-the-process")
    entry = endpoint(apiKey='"user_provided"', models=GOOD_MODELS, headers='{ X-Org: "${ORG_ID}" }')
    report = run_doctor(make(tmp_path, config(entry)), catalog, apply_first=True)
    assert codes(report) == []


def test_an_api_key_from_a_variable_that_says_user_provided_is_user_provided(tmp_path: Path, catalog: Catalog) -> None:
    entry = endpoint(apiKey='"${LITELLM_KEY}"', baseURL='" ${LITELLM_URL} "', models=GOOD_MODELS)
    env = "LITELLM_KEY=user_provided\nLITELLM_URL=https://litellm.example.com/v1\n"
    report = run_doctor(make(tmp_path, config(entry), env=env), catalog, apply_first=True)
    assert report.ok and codes(report) == []
    assert report.endpoints[0].eligible and report.endpoints[0].user_provided == ("apiKey",)


def test_the_environment_wins_over_dotenv_as_with_dotenv(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_KEY", "sk-admin")
    entry = endpoint(apiKey='"${LITELLM_KEY}"', models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, config(entry), env="LITELLM_KEY=user_provided\n"), catalog, apply_first=True)
    assert codes(report) == ["fetch_without_user_key", "no_dynamic_endpoint"]


@pytest.mark.parametrize(
    ("api_key", "user_provided"),
    [
        ('"${UNSET_KEY_VAR}"', ()),  # unset: stays as written
        ('"${EMPTY_KEY}"', ()),  # empty: stays as written, as with LibreChat's `||`
        ('"user_${PROVIDED}"', ("apiKey",)),  # one reference inside the value
    ],
)
def test_api_key_references_resolve_as_extract_env_variable_does(
    tmp_path: Path, catalog: Catalog, api_key: str, user_provided: tuple[str, ...]
) -> None:
    entry = endpoint(apiKey=api_key, models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, config(entry), env="EMPTY_KEY=\nPROVIDED=provided\n"), catalog, True)
    assert report.endpoints[0].user_provided == user_provided


def test_yaml_aliases_are_refused_without_expanding_them(tmp_path: Path, catalog: Catalog) -> None:
    bomb = 'a: &a ["m", "m", "m", "m", "m", "m", "m", "m", "m"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
    )
    entry = endpoint(apiKey='"user_provided"', models="{ default: *f, fetch: true }")
    report = run_doctor(make(tmp_path, bomb + config(entry)), catalog, apply_first=True)
    assert [(f.severity, f.code, f.line) for f in report.findings] == [("warning", "config_aliases", 2)]
    assert "uses YAML aliases, which doctor does not expand" in report.findings[0].message
    assert report.endpoints == ()


@pytest.mark.parametrize("default", ['[["m1"], "m2"]', "[4]", '"m1"', "[{ description: x }]"])
def test_default_models_that_are_not_names_are_said_to_be_so(tmp_path: Path, catalog: Catalog, default: str) -> None:
    entry = endpoint(apiKey='"user_provided"', models=f"{{ default: {default}, fetch: true }}")
    report = run_doctor(make(tmp_path, config(entry)), catalog, apply_first=True)
    assert codes(report, "blocker") == ["invalid_model_list"]
    assert report.findings[0].message.startswith("models.default must be a list of model names")


def test_parse_env_handles_comments_quotes_and_export() -> None:
    text = (
        "# comment\n\nA=1\nexport B='two words'\nC=\"x # not a comment\"\nD=plain # comment\n"
        "E = spaced \nnot a line\nF=a=b\nG=a#b\nH: colon\nI=\"two\\nlines\"\nJ='no\\nbreak'\nK.L-M=`tick`\n"
        'N="multi\nline"\r\nA=last\n'
    )
    assert parse_env(text) == {
        "A": "last",
        "B": "two words",
        "C": "x # not a comment",
        "D": "plain",
        "E": "spaced",
        "F": "a=b",
        "G": "a",
        "H": "colon",
        "I": "two\nlines",
        "J": "no\\nbreak",
        "K.L-M": "tick",
        "N": "multi\nline",
    }


def test_dynamic_models_allowed_hosts_on_native_release_points_to_allowed_addresses(
    tmp_path: Path, catalog: Catalog
) -> None:
    report = run_doctor(make(tmp_path, env="DYNAMIC_MODELS_ALLOWED_HOSTS=vllm.lan\n", native="v0.8.7"), catalog)
    assert codes(report) == ["allowed_hosts_ignored"] and report.ok
    assert "endpoints.allowedAddresses" in report.findings[0].message and report.findings[0].path == ".env"
    pre_native = make(tmp_path, env="DYNAMIC_MODELS_ALLOWED_HOSTS=vllm.lan\n", name="old")
    assert codes(run_doctor(pre_native, catalog, apply_first=True)) == []


def native_extras(catalog_dir: Path, release: str, series_id: str | None = None) -> Catalog:
    """A catalog with one native extras series (one backend hunk) naming ``release``."""
    native_patch = git_diff({"api/server/routes/models.js": (ROUTES, PATCHED_ROUTES)})
    write_series(
        catalog_dir,
        series_id or f"dynmodels-native-{release}",
        (release,),
        {"0001-backend.patch": ("backend", native_patch)},
        native=True,
    )
    return load_catalog(catalog_dir)


def test_dynamic_models_allowed_hosts_is_an_alias_once_the_native_extras_are_applied(
    tmp_path: Path, catalog_dir: Path
) -> None:
    catalog = native_extras(catalog_dir, "v0.8.5", "dynmodels-native-test")
    root = make(tmp_path, env="DYNAMIC_MODELS_ALLOWED_HOSTS=vllm.lan\n", native="v0.8.7")
    assert "allowed_hosts_ignored" in codes(run_doctor(root, catalog))
    report = run_doctor(root, catalog, apply_first=True)
    assert report.patches is not None and report.patches.applied
    assert "allowed_hosts_alias" in codes(report) and "allowed_hosts_ignored" not in codes(report)
    finding = next(f for f in report.findings if f.code == "allowed_hosts_alias")
    assert "alias of endpoints.allowedAddresses" in finding.message and finding.path == ".env"


def test_on_v0_8_5_dynamic_models_allowed_hosts_is_the_extras_own_allowlist(tmp_path: Path, catalog_dir: Path) -> None:
    catalog = native_extras(catalog_dir, "v0.8.5")
    root = make(tmp_path, env="DYNAMIC_MODELS_ALLOWED_HOSTS=vllm.lan\n", native="v0.8.5")
    before = run_doctor(root, catalog)
    finding = next(f for f in before.findings if f.code == "allowed_hosts_ignored")
    assert "has no endpoints.allowedAddresses" in finding.message and "trusted hosts" in finding.message
    after = run_doctor(root, catalog, apply_first=True)
    assert not {"allowed_hosts_ignored", "allowed_hosts_alias"} & set(codes(after)) and after.ok


def test_a_user_provided_base_url_on_v0_8_5_asks_for_no_allowed_addresses(tmp_path: Path, catalog_dir: Path) -> None:
    catalog = native_extras(catalog_dir, "v0.8.5")
    entry = endpoint(apiKey='"user_provided"', baseURL='"user_provided"', models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, config(entry), native="v0.8.5"), catalog, apply_first=True)
    assert codes(report) == [] and report.ok


@pytest.mark.parametrize(("release", "unchecked"), [("v0.8.5", True), ("v0.8.6", True), ("v0.8.7", False)])
def test_native_loaders_that_fetch_a_user_url_unchecked_are_named_until_the_extras_are_applied(
    tmp_path: Path, catalog_dir: Path, release: str, unchecked: bool
) -> None:
    catalog = native_extras(catalog_dir, release)
    entry = endpoint("Proxy", apiKey='"user_provided"', baseURL='"user_provided"', models=GOOD_MODELS)
    yaml_text = config(entry, extra='  allowedAddresses: ["vllm.lan:8000"]\n')
    root = make(tmp_path, yaml_text, native=release)
    before = run_doctor(root, catalog)
    assert ("user_url_unchecked" in codes(before)) is unchecked
    shown = cli("doctor", str(root), "--patches", str(catalog_dir), "--no-color").stdout
    assert "patches: extras not applied (optional: native per-user fetching" in shown
    if unchecked:
        finding = next(f for f in before.findings if f.code == "user_url_unchecked")
        assert finding.message.startswith("Proxy: this release's own loader fetches a user's base URL without")
    assert "user_url_unchecked" not in codes(run_doctor(root, catalog, apply_first=True))


def test_applied_native_extras_are_verified_like_any_series(tmp_path: Path, catalog_dir: Path) -> None:
    catalog = native_extras(catalog_dir, "v0.8.5", "dynmodels-native-test")
    root = make(tmp_path, native="v0.8.7")
    report = run_doctor(root, catalog, apply_first=True)
    assert report.ok and report.patches is not None
    assert report.patches.native_support and report.patches.applied and report.patches.verified
    shown = cli("doctor", str(root), "--patches", str(catalog_dir))
    assert "patches: patched (dynmodels-native-test; from the manifest, verified)" in shown.stdout
    (root / "api/server/routes/models.js").write_text(ROUTES + "// edited\n")
    drifted = doctor(find_checkout(root), catalog)
    assert codes(drifted, "blocker") == ["patches_drifted"] and not drifted.ok
    assert drifted.patches is not None and drifted.patches.verified is False


def test_no_dynamic_endpoint_blocks(tmp_path: Path, catalog: Catalog) -> None:
    yaml_text = config(endpoint("Plain", apiKey='"sk-admin"', models='{ default: ["m1"] }'))
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert codes(report) == ["no_dynamic_endpoint"] and not report.ok
    assert report.endpoints[0].reasons == ("static_endpoint",)
    assert codes(run_doctor(make(tmp_path, "version: 1.2.1\n", name="none"), catalog)) == [
        "no_dynamic_endpoint",
        "patches_not_applied",
    ]


# -- configuration files ------------------------------------------------------------------


def test_yaml_error_names_file_line_and_column(tmp_path: Path, catalog: Catalog) -> None:
    broken = "endpoints:\n  custom:\n    - name: x\n      apiKey: [unclosed\n      models: {}\n"
    root = make(tmp_path, broken)
    report = run_doctor(root, catalog, apply_first=True)
    (finding,) = report.findings
    assert (finding.severity, finding.code, finding.path) == ("blocker", "config_invalid", "librechat.yaml")
    assert (finding.line, finding.column) == (5, 13)
    assert finding.message.startswith("line 5, column 13: invalid YAML: ")
    result = cli("--patches", str(catalog.directory), "doctor", str(root))
    assert result.exit_code == 1
    assert result.stderr == f"error: librechat.yaml: {finding.message}\n"


def test_missing_librechat_yaml_is_one_line_and_exit_1(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, None)
    engine.apply(find_checkout(root), catalog)
    result = cli("--patches", str(catalog.directory), "doctor", str(root))
    assert result.exit_code == 1
    assert result.stderr == "error: librechat.yaml: not found; LibreChat needs it for custom endpoints\n"


def test_config_path_from_dotenv_relative_to_the_root(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, "not: [valid", env="CONFIG_PATH=config/mine.yaml\n", **{"config/mine.yaml": DYNAMIC})
    report = run_doctor(root, catalog, apply_first=True)
    assert report.ok and report.config == str(root / "config/mine.yaml")
    assert report.config_source == "CONFIG_PATH in .env"


def test_config_path_absolute_and_missing(tmp_path: Path, catalog: Catalog) -> None:
    elsewhere = tmp_path / "etc" / "librechat.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(DYNAMIC)
    root = make(tmp_path, None, env=f'CONFIG_PATH="{elsewhere}"\n')
    assert run_doctor(root, catalog, apply_first=True).ok
    elsewhere.unlink()
    report = doctor(find_checkout(root), catalog)
    assert codes(report) == ["config_missing"] and report.findings[0].path == str(elsewhere)
    assert "(CONFIG_PATH in .env)" in report.findings[0].message


def test_config_path_url_is_not_downloaded(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, None, env="CONFIG_PATH=https://example.com/librechat.yaml\n")
    report = run_doctor(root, catalog, apply_first=True)
    assert codes(report) == ["config_remote"] and report.ok and report.endpoints == ()


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [("- a list\n", "the file must be a YAML mapping"), ("endpoints:\n  custom: {}\n", "endpoints.custom must be")],
)
def test_malformed_configuration_shapes_block(tmp_path: Path, catalog: Catalog, yaml_text: str, message: str) -> None:
    report = run_doctor(make(tmp_path, yaml_text), catalog, apply_first=True)
    assert codes(report) == ["config_invalid"] and message in report.findings[0].message


# -- the patches --------------------------------------------------------------------------


def test_patches_not_applied_block(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path), catalog)
    assert codes(report) == ["patches_not_applied"] and not report.ok
    assert report.patches is not None and not report.patches.applied and report.patches.verified is None


def test_patches_drifted_block(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path)
    engine.apply(find_checkout(root), catalog)
    (root / "api/server/routes/models.js").write_text("edited\n")
    report = doctor(find_checkout(root), catalog)
    assert codes(report) == ["patches_drifted"] and report.patches is not None and report.patches.verified is False
    assert "api/server/routes/models.js (drifted)" in report.findings[0].message


def test_patches_in_place_without_this_tool_are_a_warning(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path)
    engine.apply(find_checkout(root), catalog)
    shutil.rmtree(root / ".librechat-dynmodels")
    report = doctor(find_checkout(root), catalog)
    assert codes(report) == ["patches_unverified"] and report.ok


def test_components_left_out_are_a_warning_naming_the_command_that_adds_them(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, name="Libre Chat")
    engine.apply(find_checkout(root), catalog, engine.Options(components=("backend",)))
    report = doctor(find_checkout(root), catalog)
    assert codes(report) == ["components_left_out"] and "without client" in report.findings[0].message
    command = report.findings[0].message.split("; add them with: librechat-dynmodels ", 1)[1]
    assert command == f"apply --component client '{root}'"
    added = cli("--patches", str(catalog.directory), *shlex.split(command))
    assert added.exit_code == 0 and "already applied" not in added.stdout
    assert codes(doctor(find_checkout(root), catalog)) == []


def test_filters_without_the_data_provider_component_are_a_warning(tmp_path: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    write_series(
        catalog_dir,
        patches={
            "0001-backend.patch": ("backend", git_diff({"api/server/routes/models.js": (ROUTES, PATCHED_ROUTES)})),
            "0002-data-provider.patch": (
                "data-provider",
                git_diff({"packages/data-provider/src/modelFilters.ts": (None, "export {};\n")}),
            ),
        },
    )
    catalog = load_catalog(catalog_dir)
    filtered = DYNAMIC.replace("        fetch: true\n", '        fetch: true\n        exclude: ["*embedding*"]\n')
    backend_only = make(tmp_path, filtered, name="backend-only")
    engine.apply(find_checkout(backend_only), catalog, engine.Options(components=("backend",)))
    report = doctor(find_checkout(backend_only), catalog)
    assert codes(report) == ["patterns_unchecked", "components_left_out", "filters_not_applied"] and report.ok
    assert "apply --component data-provider" in report.findings[2].message

    unfiltered = make(tmp_path, DYNAMIC, name="unfiltered")
    engine.apply(find_checkout(unfiltered), catalog, engine.Options(components=("backend",)))
    assert codes(doctor(find_checkout(unfiltered), catalog)) == ["components_left_out"]
    complete = make(tmp_path, filtered, name="complete")
    engine.apply(find_checkout(complete), catalog)
    assert codes(doctor(find_checkout(complete), catalog)) == ["patterns_unchecked"]  # applied, never built


def test_native_release_needs_no_patches(tmp_path: Path, catalog: Catalog) -> None:
    report = run_doctor(make(tmp_path, native="v0.8.7"), catalog)
    assert report.ok and report.findings == ()
    assert report.patches is not None and report.patches.native_support and report.patches.state == "native"


# -- the command line ---------------------------------------------------------------------


def test_json_envelope_of_doctor(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path, DYNAMIC + endpoint("Empty", apiKey='"user_provided"', models="{ fetch: true }"))
    result = cli("--patches", str(catalog.directory), "doctor", str(root), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and (data["command"], data["status"], data["exit_code"]) == ("doctor", "failed", 1)
    assert list(data["data"]) == [
        "root",
        "librechat_version",
        "config",
        "config_source",
        "env_file",
        "endpoints",
        "patches",
        "findings",
        "ok",
    ]
    assert list(data["data"]["findings"][0]) == ["severity", "code", "message", "endpoint", "path", "line", "column"]
    assert data["data"]["endpoints"][1] == {
        "name": "Empty",
        "eligible": False,
        "fetch": True,
        "user_provided": ["apiKey"],
        "defaults": [],
        "reasons": ["empty_defaults"],
    }
    assert [e["code"] for e in data["errors"]] == ["empty_defaults", "patches_not_applied"]
    assert data["errors"][0]["path"] == "librechat.yaml"
    assert data["errors"][0]["message"].startswith("endpoint 'Empty': models.default is empty")


def test_doctor_exit_0_and_human_report(tmp_path: Path, catalog: Catalog) -> None:
    root = make(tmp_path)
    engine.apply(find_checkout(root), catalog)
    result = cli("--patches", str(catalog.directory), "doctor", str(root))
    assert result.exit_code == 0 and result.stderr == ""
    assert "LiteLLM   yes" in result.stdout
    assert "patches: patched (dynmodels-test; from the manifest, verified)" in result.stdout
    assert result.stdout.rstrip().endswith("nothing blocks the feature (0 warnings)")


def test_doctor_on_a_non_checkout_is_exit_1(tmp_path: Path) -> None:
    result = cli("doctor", str(tmp_path))
    assert result.exit_code == 1 and "not a LibreChat checkout" in result.stderr


def test_help_imports_neither_yaml_nor_the_doctor() -> None:
    probe = (
        "import sys\n"
        "from librechat_dynmodels.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='x')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('yaml' in sys.modules, 'librechat_dynmodels.doctor' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=SRC, CI="true")
    )
    assert done.stderr.strip().splitlines()[-1] == "False False", done.stderr


def test_a_native_loader_that_sends_the_admin_key_to_a_user_url_says_so(tmp_path: Path, catalog_dir: Path) -> None:
    catalog = native_extras(catalog_dir, "v0.8.5")
    entry = endpoint("Proxy", apiKey='"sk-admin"', baseURL='"user_provided"', models=GOOD_MODELS)
    report = run_doctor(make(tmp_path, config(entry), native="v0.8.5"), catalog)
    finding = next(f for f in report.findings if f.code == "user_url_unchecked")
    assert "(and, for Proxy, the configured apiKey)" in finding.message


def test_on_a_terminal_each_blocker_is_printed_once(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from librechat_dynmodels import cli as cli_module

    monkeypatch.delenv("CI", raising=False)
    root = make(tmp_path, DYNAMIC + endpoint("Empty", apiKey='"user_provided"', models="{ fetch: true }"))
    args = ("--patches", str(catalog.directory), "--no-color", "doctor", str(root))
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: True)
    shown = cli(*args)
    assert shown.exit_code == 1 and shown.stderr == ""
    assert "empty_defaults" in shown.stdout and "patches_not_applied" in shown.stdout
    assert "2 blockers, 0 warnings: fix the blockers and run doctor again" in shown.stdout
    quiet = cli("-q", *args)
    assert quiet.stdout == "" and [line.split(":")[0] for line in quiet.stderr.splitlines()] == ["error", "error"]
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: stream is sys.stdout)  # stderr to a log
    logged = cli(*args)
    assert "error: librechat.yaml: endpoint 'Empty': models.default is empty" in logged.stderr


def test_a_config_that_is_not_utf8_is_named_by_its_byte_and_line_not_by_python_s_codec(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = make(tmp_path, yaml_text=None)
    (root / "librechat.yaml").write_bytes(b'version: 1.2.1\nendpoints:\n  custom:\n    - name: "caf\xe9"\n')
    report = run_doctor(root, catalog)
    [unreadable] = [f for f in report.findings if f.code == "config_unreadable"]
    assert unreadable.message == "not UTF-8 text (byte 0xe9 on line 4); save it as UTF-8"
    assert "codec" not in unreadable.message
