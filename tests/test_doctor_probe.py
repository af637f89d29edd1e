"""doctor --probe: the checkout's own fetch module, run by node against a local stand-in provider.

The checkouts are small trees with a stand-in ``userModelsFetch.js`` (a plain http GET of ``{baseURL}/models``
that, like a careless logger, prints the provider's error body), a stand-in ``module-alias`` and, where the
filters need it, a stand-in ``librechat-data-provider``. The provider echoes the Authorization header it got in
its 401 body, so every test that reads output also proves the key was scrubbed from it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import build_tree, librechat_files
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.cli import app
from librechat_dynmodels.errors import ExitCode, ProbeError
from librechat_dynmodels.models import ProbeReport
from librechat_dynmodels.probe import FETCH_MODULE, KEY_VARIABLE, probe

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="doctor --probe runs node, which is not on PATH")
runner = CliRunner()

GOOD_KEY = "sk-good-5f1c7e2a9b"
BAD_KEY = "sk-wrong-0a9d4c3b77"
MODELS = [f"gpt-4o-{n:02d}" for n in range(12)] + ["text-embedding-3-small", "claude-3-5-sonnet"]

MODULE_ALIAS = """\
const Module = require('module');
const aliases = {};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  for (const [alias, target] of Object.entries(aliases)) {
    if (request === alias || request.startsWith(`${alias}/`)) {
      return resolve.call(this, target + request.slice(alias.length), ...rest);
    }
  }
  return resolve.call(this, request, ...rest);
};
function init() {}
init.addAlias = (alias, target) => {
  aliases[alias] = target;
};
module.exports = init;
"""

DATA_PROVIDER = """\
const literal = (text) => text.replace(/[.+?^${}()|[\\]\\\\]/g, '\\\\$&');
const glob = (p) => new RegExp(`^${p.split('*').map(literal).join('.*')}$`, 'i');
const any = (patterns, model) => patterns.some((p) => glob(p).test(model));
exports.filterModelList = (models, { include = [], exclude = [] } = {}) =>
  models.filter((m) => (!include.length || any(include, m)) && !any(exclude, m));
"""

# Required through LibreChat's ~ alias, as the real compat module requires LibreChat's own modules.
COMPAT = "const { logger } = require('~/config/logger');\nmodule.exports = { logger };\n"
LOGGER = "module.exports = { logger: { warn: (message) => console.log(`warn: ${message}`) } };\n"

FETCH = """\
const fs = require('fs');
const path = require('path');
const http = require('http');
const { logger } = require('./userModelsCompat');

const FetchErrors = Object.freeze({ UNAUTHORIZED: 'unauthorized', UNREACHABLE: 'unreachable' });

function fetchUserModelList({ name, baseURL, apiKey, userProvidedURL, headers, allowedAddresses }) {
  fs.writeFileSync(
    path.join(__dirname, 'seen.json'),
    JSON.stringify({
      argv: process.argv,
      execArgv: process.execArgv,
      keyInEnv: Object.prototype.hasOwnProperty.call(process.env, 'KEY_VARIABLE'),
      cwd: process.cwd(),
      env: { PROXY: process.env.PROXY },
      params: { name, baseURL, userProvidedURL, headers, allowedAddresses },
    }),
  );
  return new Promise((resolve, reject) => {
    const url = `${baseURL.replace(/\\/+$/, '')}/models`;
    const request = http.get(url, { headers: { ...(headers ?? {}), Authorization: `Bearer ${apiKey}` } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 401) {
          logger.warn(`${name}: provider said ${body}`);
          console.error(`provider said ${body}`);
          return resolve({ error: FetchErrors.UNAUTHORIZED, status: 401 });
        }
        if (res.statusCode >= 500) {
          return reject(new Error(`provider failed: ${body}`));
        }
        return resolve({ models: JSON.parse(body).data.map((model) => model.id) });
      });
    });
    request.on('error', () => resolve({ error: FetchErrors.UNREACHABLE }));
  });
}

module.exports = { FetchErrors, fetchUserModelList };
""".replace("KEY_VARIABLE", KEY_VARIABLE)

# As LibreChat's crypto module of v0.7.x, which the compat module loads: it reads the keys when it loads.
COMPAT_READING_CREDENTIALS = (
    "Buffer.from(process.env.CREDS_KEY, 'hex');\nBuffer.from(process.env.CREDS_IV, 'hex');\n"
    "require('fs').writeFileSync(require('path').join(__dirname, 'creds.json'), "
    "JSON.stringify([process.env.CREDS_KEY, process.env.CREDS_IV]));\n" + COMPAT
)

HANGS = "module.exports = { fetchUserModelList: () => new Promise(() => setInterval(() => {}, 1000)) };\n"


class Provider:
    """An OpenAI-compatible /models on 127.0.0.1: 200 for GOOD_KEY, else 401 echoing the Authorization header."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.fail = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                auth = self.headers.get("Authorization", "")
                provider.seen.append(auth)
                if provider.fail:
                    self._send(500, f"internal error for {auth}")
                elif self.path == "/v1/models" and auth == f"Bearer {GOOD_KEY}":
                    self._send(200, json.dumps({"object": "list", "data": [{"id": m} for m in MODELS]}))
                else:
                    self._send(401, json.dumps({"error": f"invalid api key in header: {auth}"}))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def provider() -> Iterator[Provider]:
    fake = Provider()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def endpoint_yaml(name: str = "LiteLLM", api_key: str = "user_provided", base_url: str = "", models: str = "") -> str:
    return (
        f'    - name: "{name}"\n'
        f'      apiKey: "{api_key}"\n'
        f'      baseURL: "{base_url}"\n'
        f"      models: {models or '{ default: [gpt-4o-mini], fetch: true }'}\n"
    )


def make(
    tmp_path: Path,
    *endpoints: str,
    fetch_js: str | None = FETCH,
    node_modules: bool = True,
    data_provider: str | None = DATA_PROVIDER,
    env: str | None = None,
    compat_js: str = COMPAT,
) -> Path:
    files: dict[str, str | bytes] = {
        **librechat_files(),
        "librechat.yaml": "endpoints:\n  custom:\n" + "".join(endpoints),
        "api/server/services/Config/userModelsCompat.js": compat_js,
        "api/config/logger.js": LOGGER,
    }
    if fetch_js is not None:
        files[FETCH_MODULE] = fetch_js
    if node_modules:
        files["api/node_modules/module-alias/index.js"] = MODULE_ALIAS
        if data_provider is not None:
            files["api/node_modules/librechat-data-provider/index.js"] = data_provider
    if env is not None:
        files[".env"] = env
    return build_tree(tmp_path / "lc", files)


def seen(root: Path) -> dict[str, Any]:
    data = json.loads((root / "api/server/services/Config/seen.json").read_text())
    assert isinstance(data, dict)
    return data


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["doctor", *args], env=env)


def everything(result: Any) -> str:
    return result.stdout + result.stderr


# -- a fetch that works -------------------------------------------------------------------


@needs_node
def test_probe_lists_the_models_the_key_reaches(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(base_url=provider.url))
    result = cli(str(root), "--probe", "LiteLLM", "--key-env", "PROBE_KEY", "--no-color", env={"PROBE_KEY": GOOD_KEY})
    assert result.exit_code == 0, everything(result)
    assert "result: ok" in result.stdout and "models: 14" in result.stdout
    assert "gpt-4o-09" in result.stdout and "gpt-4o-10" not in result.stdout  # the first ten
    assert result.stdout.rstrip().endswith("the fetch works: 14 models")
    assert provider.seen == [f"Bearer {GOOD_KEY}"] and GOOD_KEY not in everything(result)


@needs_node
def test_probe_report_has_counts_first_ids_and_time(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(base_url=provider.url))
    report = probe(find_checkout(root), "LiteLLM", "PROBE_KEY", environ={**os.environ, "PROBE_KEY": GOOD_KEY})
    assert report == ProbeReport("LiteLLM", "ok", None, 14, 14, tuple(MODELS[:10]), report.elapsed_ms, False, False)
    assert report.elapsed_ms >= 0


@needs_node
def test_probe_applies_include_and_exclude_with_the_checkouts_data_provider(tmp_path: Path, provider: Provider) -> None:
    models = '{ default: [gpt-4o-mini], fetch: true, include: ["gpt-*", "claude-*"], exclude: ["*-1*"] }'
    root = make(tmp_path, endpoint_yaml(base_url=provider.url, models=models))
    report = probe(find_checkout(root), "LiteLLM", "PROBE_KEY", environ={**os.environ, "PROBE_KEY": GOOD_KEY})
    assert (report.category, report.kept, report.fetched, report.filtered) == ("ok", 11, 14, True)
    assert report.first == tuple(MODELS[:10])
    result = cli(str(root), "--probe", "LiteLLM", "--key-env", "PROBE_KEY", env={"PROBE_KEY": GOOD_KEY})
    assert "models: 11 after models.include/exclude (14 fetched)" in result.stdout


@needs_node
def test_probe_resolves_configured_key_and_url_from_dotenv_then_the_environment(
    tmp_path: Path, provider: Provider
) -> None:
    entry = endpoint_yaml(name="Admin", api_key="${ADMIN_KEY}", base_url="${ADMIN_URL}")
    root = make(tmp_path, entry, env=f"ADMIN_KEY={GOOD_KEY}\n")
    report = probe(find_checkout(root), "Admin", environ={**os.environ, "ADMIN_URL": provider.url})
    assert report.category == "ok" and provider.seen == [f"Bearer {GOOD_KEY}"]
    assert seen(root)["params"]["userProvidedURL"] is False


@needs_node
def test_a_variable_set_in_the_environment_wins_over_dotenv_as_on_the_server(
    tmp_path: Path, provider: Provider
) -> None:
    # LibreChat loads .env with dotenv, which never overrides a variable the process already has.
    entry = endpoint_yaml(name="Admin", api_key="${ADMIN_KEY}", base_url=provider.url)
    root = make(tmp_path, entry, env=f"ADMIN_KEY={BAD_KEY}\nPROXY=http://dotenv-proxy\n")
    environ = {**os.environ, "ADMIN_KEY": GOOD_KEY, "PROXY": ""}
    report = probe(find_checkout(root), "Admin", environ=environ)
    assert report.category == "ok" and provider.seen == [f"Bearer {GOOD_KEY}"]
    assert seen(root)["env"]["PROXY"] == ""


@needs_node
def test_a_user_provided_base_url_comes_from_base_url_and_is_fetched_as_a_users(
    tmp_path: Path, provider: Provider
) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="user_provided"), env="")
    report = probe(
        find_checkout(root), "LiteLLM", "PROBE_KEY", provider.url, environ={**os.environ, "PROBE_KEY": GOOD_KEY}
    )
    assert report.category == "ok" and report.user_provided_url
    assert seen(root)["params"]["userProvidedURL"] is True and seen(root)["params"]["baseURL"] == provider.url


@needs_node
def test_endpoint_names_compare_as_librechat_normalises_them(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(name="Ollama", base_url=provider.url))
    report = probe(find_checkout(root), "OLLAMA", "PROBE_KEY", environ={**os.environ, "PROBE_KEY": GOOD_KEY})
    assert report.endpoint == "Ollama" and report.category == "ok"


# -- a fetch that fails, and the key ------------------------------------------------------


@needs_node
def test_a_checkout_without_creds_key_still_probes_with_throwaway_values(tmp_path: Path, provider: Provider) -> None:
    """v0.7.x's crypto module reads CREDS_KEY and CREDS_IV when it loads; a checkout with no .env yet still probes."""
    root = make(tmp_path, endpoint_yaml(base_url=provider.url), compat_js=COMPAT_READING_CREDENTIALS)
    environ = {k: v for k, v in os.environ.items() if k not in ("CREDS_KEY", "CREDS_IV")}
    report = probe(find_checkout(root), "LiteLLM", "K", environ={**environ, "K": GOOD_KEY})
    assert (report.category, report.fetched) == ("ok", len(MODELS))
    key, iv = json.loads((root / "api/server/services/Config/creds.json").read_text())
    assert (len(bytes.fromhex(key)), len(bytes.fromhex(iv))) == (32, 16)


@needs_node
def test_the_checkouts_own_creds_key_and_iv_are_kept(tmp_path: Path, provider: Provider) -> None:
    root = make(
        tmp_path,
        endpoint_yaml(base_url=provider.url),
        compat_js=COMPAT_READING_CREDENTIALS,
        env=f"CREDS_KEY={'ab' * 32}\n",
    )
    report = probe(find_checkout(root), "LiteLLM", "K", environ={**os.environ, "K": GOOD_KEY, "CREDS_IV": "cd" * 16})
    assert report.category == "ok"
    assert json.loads((root / "api/server/services/Config/creds.json").read_text()) == ["ab" * 32, "cd" * 16]


@needs_node
def test_a_refused_key_is_unauthorized_exit_1_and_never_shown(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(base_url=provider.url))
    env = {"PROBE_KEY": BAD_KEY}
    shown = cli(str(root), "--probe", "LiteLLM", "--key-env", "PROBE_KEY", "--no-color", env=env)
    assert shown.exit_code == 1
    assert "result: unauthorized (HTTP 401)" in shown.stdout
    assert "the fetch failed: unauthorized (HTTP 401): the provider refused the key" in shown.stdout
    assert provider.seen == [f"Bearer {BAD_KEY}"]  # the provider got it and echoed it back
    as_json = cli(str(root), "--probe", "LiteLLM", "--key-env", "PROBE_KEY", "--json", env=env)
    data = json.loads(as_json.stdout)
    assert (as_json.exit_code, data["command"], data["status"], data["exit_code"]) == (1, "doctor", "failed", 1)
    assert data["data"]["category"] == "unauthorized" and data["data"]["status"] == 401
    assert data["errors"] == [
        {
            "code": "unauthorized",
            "message": "endpoint 'LiteLLM': the fetch failed: unauthorized (HTTP 401)",
            "path": None,
        }
    ]
    for result in (shown, as_json):
        assert BAD_KEY not in everything(result) and "Bearer" not in everything(result)


@needs_node
def test_the_key_is_scrubbed_from_what_the_child_says_when_it_fails(tmp_path: Path, provider: Provider) -> None:
    provider.fail = True  # the stand-in throws the provider's body, which echoes the key
    root = make(tmp_path, endpoint_yaml(base_url=provider.url))
    with pytest.raises(ProbeError) as raised:
        probe(find_checkout(root), "LiteLLM", "PROBE_KEY", environ={**os.environ, "PROBE_KEY": BAD_KEY})
    assert "provider failed: internal error for Bearer [redacted]" in str(raised.value)
    assert BAD_KEY not in str(raised.value) and BAD_KEY not in repr(raised.value.args)
    result = cli(str(root), "--probe", "LiteLLM", "--key-env", "PROBE_KEY", "--json", env={"PROBE_KEY": BAD_KEY})
    assert result.exit_code == ExitCode.PROBE and BAD_KEY not in everything(result)
    assert json.loads(result.stdout)["errors"][0]["code"] == "probe"


@needs_node
def test_the_key_reaches_the_child_only_through_its_environment(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(base_url=provider.url))
    probe(find_checkout(root), "LiteLLM", "PROBE_KEY", environ={**os.environ, "PROBE_KEY": GOOD_KEY})
    child = seen(root)
    assert GOOD_KEY not in json.dumps(child["argv"]) + json.dumps(child["execArgv"])
    assert child["keyInEnv"] is False  # removed before LibreChat's code was loaded
    assert Path(child["cwd"]) == root / "api"
    assert not [path for path in tmp_path.rglob("*") if path.is_file() and GOOD_KEY.encode() in path.read_bytes()]


@needs_node
def test_a_child_that_never_answers_is_a_timeout(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="http://127.0.0.1:9/v1"), fetch_js=HANGS)
    report = probe(find_checkout(root), "LiteLLM", "PROBE_KEY", timeout=1.0, environ={**os.environ, "PROBE_KEY": "k"})
    assert (report.category, report.status, report.kept) == ("timeout", None, 0)


# -- it cannot run: one line, exit 5 ------------------------------------------------------


def probe_error(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = cli(str(root), "--probe", *args, env=env)
    assert result.exit_code == ExitCode.PROBE == 5, everything(result)
    assert "Traceback" not in everything(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_no_node_on_path(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"))
    line = probe_error(root, "LiteLLM", env={"PATH": str(tmp_path / "empty")})
    assert line == "error: node is not on PATH: doctor --probe runs the checkout's own fetch with Node.js"


@needs_node
def test_a_checkout_without_node_modules(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"), node_modules=False)
    assert probe_error(root, "LiteLLM") == f"error: the checkout has no node_modules: run 'npm ci' in {root} first"


@needs_node
def test_a_checkout_without_the_fetch_module_is_not_patched(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"), fetch_js=None)
    line = probe_error(root, "LiteLLM")
    assert (
        line == f"error: {FETCH_MODULE} not found: the patches are not applied; run 'librechat-dynmodels apply' first"
    )


@needs_node
def test_an_unknown_endpoint_lists_the_known_ones(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"), endpoint_yaml(name="OpenRouter"))
    line = probe_error(root, "Nope")
    assert line == "error: no custom endpoint named 'Nope' in librechat.yaml; known: 'LiteLLM', 'OpenRouter'"


@needs_node
def test_key_env_naming_an_unset_variable(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"))
    line = probe_error(root, "LiteLLM", "--key-env", "NOT_SET_ANYWHERE_42")
    assert line == "error: --key-env NOT_SET_ANYWHERE_42: no such variable is set (or it is empty) in this environment"


@needs_node
def test_a_user_provided_key_needs_key_env(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"))
    assert "--key-env NAME" in probe_error(root, "LiteLLM")


@needs_node
def test_a_user_provided_base_url_needs_base_url(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="user_provided"))
    assert "--base-url URL" in probe_error(root, "LiteLLM", "--key-env", "K", env={"K": GOOD_KEY})


@needs_node
def test_filters_need_the_built_data_provider(tmp_path: Path, provider: Provider) -> None:
    models = '{ default: [gpt-4o-mini], fetch: true, include: ["gpt-*"] }'
    stale = "exports.somethingElse = 1;\n"
    root = make(tmp_path, endpoint_yaml(base_url=provider.url, models=models), data_provider=stale)
    line = probe_error(root, "LiteLLM", "--key-env", "K", env={"K": "e"})  # a key too short to scrub blindly
    assert line.endswith(f"run 'npm run build:data-provider' in {root}")


@needs_node
def test_without_filters_the_data_provider_is_not_needed(tmp_path: Path, provider: Provider) -> None:
    root = make(tmp_path, endpoint_yaml(base_url=provider.url), data_provider=None)
    assert cli(str(root), "--probe", "LiteLLM", "--key-env", "K", env={"K": GOOD_KEY}).exit_code == 0


@needs_node
def test_json_envelope_of_a_probe_that_cannot_run(tmp_path: Path) -> None:
    root = make(tmp_path, endpoint_yaml(base_url="https://x.example/v1"))
    result = cli(str(root), "--probe", "Nope", "--json")
    data = json.loads(result.stdout)
    assert (result.exit_code, data["status"], data["exit_code"], data["data"]) == (5, "error", 5, None)
    assert data["errors"][0]["code"] == "probe"


def test_key_env_without_probe_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(str(tmp_path), "--key-env", "K")
    assert result.exit_code == ExitCode.USAGE and "--key-env and --base-url go with --probe ENDPOINT" in result.stderr


# -- against a real patched LibreChat tree (opt-in) ---------------------------------------


@pytest.mark.skipif(
    not os.environ.get("DYNMODELS_PROBE_TREE"),
    reason="opt-in: DYNMODELS_PROBE_TREE names a patched LibreChat tree with node_modules",
)
def test_probe_runs_a_real_patched_tree(tmp_path: Path, provider: Provider) -> None:
    """The real userModelsFetch.js and its compat module load through LibreChat's alias and fetch from the local
    provider, which DYNAMIC_MODELS_ALLOWED_HOSTS (in the child's environment) lets a user URL reach. The tree's
    librechat.yaml needs an endpoint named Probe with apiKey and baseURL "user_provided" and no filters."""
    root = Path(os.environ["DYNMODELS_PROBE_TREE"])
    if not (root / FETCH_MODULE).is_file():
        pytest.skip(f"{root} is not patched")
    checkout = find_checkout(root)
    config = root / "librechat.yaml"
    if not config.exists():
        pytest.skip(f"{config} is needed: an endpoint named Probe with baseURL user_provided")
    environ = {**os.environ, "K": GOOD_KEY, "DYNAMIC_MODELS_ALLOWED_HOSTS": provider.url.split("/")[2]}
    report = probe(checkout, "Probe", "K", provider.url, environ=environ)
    assert (report.category, report.fetched) == ("ok", len(MODELS))
    refused = probe(checkout, "Probe", "K", provider.url, environ={**environ, "K": BAD_KEY})
    assert (refused.category, refused.status) == ("unauthorized", 401)
