"""A checkout where some components of a series fit: the refusal says which one fails and where, and names the
apply that applies the rest, only when the rest is useful; doctor never names a command that fails there."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import HOOK, ROUTES, build_tree, librechat_files, snapshot
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import applicable_components, load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.cli import app
from librechat_dynmodels.doctor import doctor
from librechat_dynmodels.errors import NoSeriesError

runner = CliRunner()
HOOK_PATH = "client/src/hooks/Input/useUserKey.ts"
ROUTES_PATH = "api/server/routes/models.js"
MOVED_HOOK = HOOK.replace("updateKey.mutate({ name: endpoint });", "updateKey.mutate({ name });")


@pytest.mark.parametrize(
    ("components", "failing", "applicable"),
    [
        (("backend", "data-provider", "client"), ("client",), ("backend", "data-provider")),
        (("backend", "data-provider", "client"), ("data-provider",), ("backend",)),
        (("backend", "data-provider", "client"), ("backend",), ()),  # data-provider alone calls a missing route
        (("backend", "client"), ("client",), ("backend",)),
        (("backend", "client"), ("backend",), ()),  # the client needs the backend through the data provider
        (("backend", "data-provider", "client"), (), ("backend", "data-provider", "client")),
    ],
)
def test_the_components_that_apply_alone_are_those_that_fit_with_what_they_need(
    components: tuple[str, ...], failing: tuple[str, ...], applicable: tuple[str, ...]
) -> None:
    assert applicable_components(components, failing) == applicable


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def client_misfit(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "lc", {**librechat_files(), HOOK_PATH: MOVED_HOOK})


def test_the_refusal_names_the_failing_component_its_first_hunk_and_the_apply_of_the_rest(
    tmp_path: Path, catalog_dir: Path
) -> None:
    root = client_misfit(tmp_path)
    before = snapshot(root)
    code, out, err = cli("--patches", str(catalog_dir), "apply", str(root))
    assert code == 1 and out == "" and snapshot(root) == before
    assert err.count("\n") == 1, err  # one line
    assert err.startswith(
        "error: no series fits this checkout: the client component of dynmodels-test does not fit (first: "
        f"{HOOK_PATH} hunk 1 of 0002-client.patch fails at line 5: "
    ), err
    command = f"--patches {catalog_dir} apply --component backend {root}"  # after the program as it ran
    assert "; its backend fits; nothing was written; to apply backend alone: " in err, err
    assert err.endswith(f" {command}\n"), err

    data = json.loads(cli("--patches", str(catalog_dir), "--json", "apply", str(root))[1])
    hint = {"does": "to apply backend alone", "command": f"librechat-dynmodels apply --component backend {root}"}
    assert data["errors"][0]["code"] == "no_series" and data["errors"][0]["hint"] == hint

    code, out, _ = cli("--patches", str(catalog_dir), "check", str(root))
    assert code == 1 and "the series does not apply\nTo apply backend alone: " in out, out
    assert out.endswith(f" {command}\n"), out
    _, out, _ = cli("--patches", str(catalog_dir), "status", str(root))
    assert out.endswith(f" {command}\n") and "\nTo apply backend alone: " in out, out

    code, out, err = cli(*shlex.split(command))  # the command it named
    assert code == 0, err
    assert "components: backend" in out and (root / ROUTES_PATH).read_text() != ROUTES


def test_a_named_series_that_fits_in_part_gets_the_hint_with_the_series(tmp_path: Path, catalog_dir: Path) -> None:
    root = client_misfit(tmp_path)
    code, _, err = cli("--patches", str(catalog_dir), "apply", "--series", "dynmodels-test", str(root))
    assert code == 1 and err.count("\n") == 1, err
    assert "the client component of dynmodels-test does not fit, its backend fits; nothing was written" in err
    assert "; to apply backend alone: " in err
    assert err.endswith(f" --patches {catalog_dir} apply --series dynmodels-test --component backend {root}\n"), err


def test_no_hint_when_what_fits_is_of_no_use_without_the_backend(tmp_path: Path, catalog_dir: Path) -> None:
    root = build_tree(tmp_path / "lc", {**librechat_files(), ROUTES_PATH: "completely different\n"})
    with pytest.raises(NoSeriesError, match=r"\(closest: dynmodels-test, 4 of 5 hunks match; first: ") as caught:
        engine.apply(find_checkout(root), load_catalog(catalog_dir))
    assert caught.value.hint is None
    assert engine.check(find_checkout(root), load_catalog(catalog_dir)).hint is None


def suggested_commands(text: str) -> list[str]:
    """Each 'librechat-dynmodels apply ...' in a finding (ended by ', then', ';', a quote or the end)."""
    return re.findall(r"librechat-dynmodels apply[^;']*?(?=, then|[;']|$)", text)


def test_doctor_names_only_an_apply_that_succeeds_on_the_checkout(tmp_path: Path, catalog_dir: Path) -> None:
    root = client_misfit(tmp_path)
    catalog = load_catalog(catalog_dir)
    before = doctor(find_checkout(root), catalog)
    [finding] = [f for f in before.findings if f.code == "patches_not_applied"]
    [command] = suggested_commands(finding.message)
    assert command == f"librechat-dynmodels apply --component backend {root}", finding.message
    code, _, err = cli("--patches", str(catalog_dir), *shlex.split(command)[1:])
    assert code == 0, err

    # backend applied, the client cannot be: doctor says so instead of naming 'apply --component client'
    after = doctor(find_checkout(root), catalog)
    [left_out] = [f for f in after.findings if f.code == "components_left_out"]
    assert suggested_commands(left_out.message) == [], left_out.message
    assert left_out.message.endswith("client of dynmodels-test does not fit this checkout"), left_out.message


def test_doctor_names_the_left_out_components_that_fit(tmp_path: Path, catalog_dir: Path) -> None:
    root = build_tree(tmp_path / "lc", librechat_files())
    catalog = load_catalog(catalog_dir)
    engine.apply(find_checkout(root), catalog, engine.Options(components=("backend",)))
    [left_out] = [f for f in doctor(find_checkout(root), catalog).findings if f.code == "components_left_out"]
    [command] = suggested_commands(left_out.message)
    assert command == f"librechat-dynmodels apply --component client {root}"
    code, _, err = cli("--patches", str(catalog_dir), *shlex.split(command)[1:])
    assert code == 0, err


def test_doctor_on_a_native_release_names_the_apply_of_the_part_that_fits(tmp_path: Path, catalog_dir: Path) -> None:
    loader = {"packages/api/src/endpoints/config/models.ts": "createLoadConfigModels getUserKeyValues\n"}
    user_url = (
        'endpoints:\n  custom:\n    - name: "Own"\n      apiKey: "user_provided"\n      baseURL: "user_provided"\n'
    )
    user_url += '      models: { default: ["m1"], fetch: true }\n'
    root = build_tree(
        tmp_path / "lc",
        {**librechat_files("v0.8.5"), HOOK_PATH: MOVED_HOOK, "librechat.yaml": user_url, **loader},
    )
    folder = catalog_dir / "dynmodels-test"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text().replace("native: false", "native: true"))
    [finding] = [
        f for f in doctor(find_checkout(root), load_catalog(catalog_dir)).findings if f.code == "user_url_unchecked"
    ]
    [command] = suggested_commands(finding.message)
    assert command == f"librechat-dynmodels apply --component backend {root}", finding.message
    code, _, err = cli("--patches", str(catalog_dir), *shlex.split(command)[1:])
    assert code == 0, err
