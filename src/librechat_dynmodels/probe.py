"""``doctor --probe ENDPOINT``: fetch one custom endpoint's model list as the server would.

Nothing here fetches anything: the checkout's own ``userModelsFetch.js`` (installed by the patches) does, run
by ``node`` through the driver ``probe.js`` beside this module, with the checkout's ``api`` folder as its
working directory and LibreChat's ``~`` alias registered. The endpoint comes from the configuration doctor
reads (``librechat.yaml`` or ``CONFIG_PATH``); ``${VAR}`` references are resolved as the server's ``dotenv``
resolves them: the process environment wins and ``.env`` fills in what it lacks; the child gets both, so settings
such as ``PROXY`` or ``DYNAMIC_MODELS_TIMEOUT_MS`` apply as they would on the server. LibreChat's modules load as
on the server: its logger may create ``api/logs``.

The key reaches the child only through its environment (``LIBRECHAT_DYNMODELS_PROBE_KEY``, which the driver
removes before any LibreChat code loads): never its argv, never a file. The child's output is read only for
its one result line; every text in it (and the last line of its stderr when it has none) is scrubbed of the
key and of secret header values before any of it is used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from secrets import token_hex
from typing import Any

from .checkout import Checkout
from .doctor import (
    USER_PROVIDED,
    _shown,
    config_location,
    endpoint_name,
    load_config,
    normalize_endpoint_name,
    read_env,
)
from .errors import ProbeError
from .model_filters import FILTER_KEYS, check_patterns, filter_set, result_line, run_driver, structure_problems
from .models import ProbeReport

FETCH_MODULE = "api/server/services/Config/userModelsFetch.js"
DRIVER = Path(__file__).with_name("probe.js")
KEY_VARIABLE = "LIBRECHAT_DYNMODELS_PROBE_KEY"
RESULT_MARK = "LIBRECHAT_DYNMODELS_PROBE_RESULT"
FIRST = 10
TIMEOUT_S = 30.0
_ENV_REFERENCE = re.compile(r"\$\{(\w+)\}")
_CATEGORY = re.compile(r"^[a-z_]{1,40}$")
_SCRUBBED = "[redacted]"
# LibreChat's crypto module reads these when it loads (v0.7.x fails to load without them). The probe stores and
# reads no user key, so a checkout that has not set them yet gets throwaway values of the right length.
_CREDENTIAL_KEYS = {"CREDS_KEY": 32, "CREDS_IV": 16}


class _Secrets:
    """Values that must never leave this module: the key and resolved secret header values."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def add(self, value: str) -> None:
        if value and value not in self.values:
            self.values.append(value)
            self.values.sort(key=len, reverse=True)  # a longer secret that contains a shorter one goes first

    def scrub(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, _SCRUBBED)
        return text


def probe(
    checkout: Checkout,
    endpoint: str,
    key_env: str | None = None,
    base_url: str | None = None,
    timeout: float = TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> ProbeReport:
    """Fetch ``endpoint``'s models with the checkout's own code; raises :class:`ProbeError` when it cannot run."""
    environ = os.environ if environ is None else environ
    root = checkout.root
    node = shutil.which("node", path=environ.get("PATH"))
    if node is None:
        raise ProbeError("node is not on PATH: doctor --probe runs the checkout's own fetch with Node.js")
    if not (root / "node_modules").is_dir() and not (root / "api" / "node_modules").is_dir():
        raise ProbeError(f"the checkout has no node_modules: run 'npm ci' in {root} first")
    if not (root / FETCH_MODULE).is_file():
        raise ProbeError(
            f"{FETCH_MODULE} not found: the patches are not applied; run 'librechat-dynmodels apply' first",
        )

    dotenv, _ = read_env(root)
    location, source = config_location(root, dotenv)
    data, findings = load_config(root, location, source)
    if data is None:
        raise ProbeError(findings[0].message, findings[0].path)
    endpoints = data.get("endpoints") if isinstance(data.get("endpoints"), dict) else {}
    assert isinstance(endpoints, dict)
    item, name = _find_endpoint(endpoints.get("custom"), endpoint, _shown(root, location))

    def lookup(variable: str) -> str | None:
        return environ.get(variable) or dotenv.get(variable) or None

    secrets = _Secrets()
    key = _api_key(item, name, key_env, environ, lookup)
    secrets.add(key)
    url, user_url = _base_url(item, name, base_url, lookup)
    payload = {
        "api": str(root / "api"),
        "module": str(root / FETCH_MODULE),
        "endpoint": {
            "name": name,
            "baseURL": url,
            "userProvidedURL": user_url,
            "headers": None if user_url else _headers(item.get("headers"), lookup, secrets),
            "allowedAddresses": _allowed_addresses(endpoints.get("allowedAddresses")),
        },
        "filters": _filters(item, name, root, environ),
        "first": FIRST,
    }
    throwaway = {variable: token_hex(size) for variable, size in _CREDENTIAL_KEYS.items() if lookup(variable) is None}
    child_env = {**throwaway, **dotenv, **environ, KEY_VARIABLE: key}
    started = time.monotonic()
    try:
        done = run_driver(node, DRIVER, payload, root / "api", child_env, timeout)
    except subprocess.TimeoutExpired:
        elapsed = int((time.monotonic() - started) * 1000)
        return ProbeReport(name, "timeout", None, 0, 0, (), elapsed, payload["filters"] is not None, user_url)
    except OSError as exc:
        raise ProbeError(f"cannot run {node}: {exc.strerror or exc}") from None
    result = result_line(done.stdout, RESULT_MARK)
    if result is None:
        said = [line for line in secrets.scrub(done.stderr).splitlines() if line.strip()]
        last = f": {said[-1].strip()}" if said else ""
        raise ProbeError(f"the probe stopped without a result (node exit {done.returncode}){last}")
    return _report(result, name, root, payload["filters"] is not None, user_url, secrets)


def _find_endpoint(custom: Any, wanted: str, shown: str) -> tuple[dict[str, Any], str]:
    items = [item for item in custom if isinstance(item, dict)] if isinstance(custom, list) else []
    names = [endpoint_name(item, index) for index, item in enumerate(items)]
    for item, name in zip(items, names, strict=True):
        if normalize_endpoint_name(name) == normalize_endpoint_name(wanted):
            return item, name
    known = ", ".join(repr(n) for n in names) or "none"
    raise ProbeError(f"no custom endpoint named {wanted!r} in {shown}; known: {known}")


def _resolve(value: str, lookup: Any, what: str, name: str) -> str:
    def one(match: re.Match[str]) -> str:
        found = lookup(match.group(1))
        if found is None:
            raise ProbeError(
                f"endpoint {name!r}: {what} uses ${{{match.group(1)}}}, which is set neither in .env nor in the "
                "environment"
            )
        return str(found)

    return _ENV_REFERENCE.sub(one, value)


def _api_key(item: Mapping[str, Any], name: str, key_env: str | None, environ: Mapping[str, str], lookup: Any) -> str:
    if key_env:
        key = environ.get(key_env)
        if not key:
            raise ProbeError(f"--key-env {key_env}: no such variable is set (or it is empty) in this environment")
        return key
    configured = item.get("apiKey")
    if configured == USER_PROVIDED:
        raise ProbeError(
            f'endpoint {name!r} takes each user\'s own key (apiKey: "user_provided"): '
            "put a key to test in a variable and name it with --key-env NAME"
        )
    if not isinstance(configured, str) or not configured:
        raise ProbeError(f"endpoint {name!r} has no apiKey; give one with --key-env NAME")
    return _resolve(configured, lookup, "apiKey", name)


def _base_url(item: Mapping[str, Any], name: str, given: str | None, lookup: Any) -> tuple[str, bool]:
    configured = item.get("baseURL")
    if configured == USER_PROVIDED:
        if not given:
            raise ProbeError(
                f'endpoint {name!r} takes each user\'s own base URL (baseURL: "user_provided"): '
                "give one to test with --base-url URL"
            )
        return given, True
    if given:
        raise ProbeError(
            f"endpoint {name!r} has its own baseURL; --base-url is only for an endpoint whose baseURL is "
            '"user_provided"'
        )
    if not isinstance(configured, str) or not configured:
        raise ProbeError(f"endpoint {name!r} has no baseURL")
    return _resolve(configured, lookup, "baseURL", name), False


def _headers(headers: Any, lookup: Any, secrets: _Secrets) -> dict[str, str] | None:
    """Configured headers, ``${VAR}`` resolved (values from variables are secrets); unset ones stay as written,
    and so do LibreChat's ``{{...}}`` placeholders, which only a user's request fills in."""
    if not isinstance(headers, dict):
        return None
    resolved: dict[str, str] = {}
    for key, value in headers.items():
        text = str(value)

        def one(match: re.Match[str]) -> str:
            found = lookup(match.group(1))
            if found is None:
                return match.group()
            secrets.add(str(found))
            return str(found)

        resolved[str(key)] = _ENV_REFERENCE.sub(one, text)
    return resolved


def _allowed_addresses(value: Any) -> list[str] | None:
    return [str(entry) for entry in value] if isinstance(value, list) else None


def _filters(item: Mapping[str, Any], name: str, root: Path, environ: Mapping[str, str]) -> dict[str, list[str]] | None:
    """The endpoint's filters, judged first by the checkout's data provider (the driver refuses to run without
    it, with the build command)."""
    models = item.get("models") if isinstance(item.get("models"), dict) else {}
    assert isinstance(models, dict)
    if not any(models.get(key) for key in FILTER_KEYS):
        return None
    problems = structure_problems(models)
    if not problems:
        checked = check_patterns(root, [filter_set(models, ())], environ)
        problems = list(checked.verdicts[0].problems) if checked.verdicts else []
    if problems:
        raise ProbeError(
            f"endpoint {name!r}: {problems[0]}; LibreChat refuses this configuration at startup (see 'doctor')"
        )
    filters = {key: list(models[key]) for key in FILTER_KEYS if models.get(key)}
    return filters or None


def _report(
    result: dict[str, Any], name: str, root: Path, filtered: bool, user_url: bool, secrets: _Secrets
) -> ProbeReport:
    """The driver's result line as a report, every text the child chose scrubbed of the secrets."""
    elapsed_ms = _int(result.get("elapsedMs"))
    fatal = result.get("fatal")
    detail = secrets.scrub(str(result.get("detail") or "").strip())
    if fatal == "module_alias":
        raise ProbeError(f"module-alias cannot be loaded from {root / 'api'}: run 'npm ci' in {root} first")
    if fatal == "fetch_module":
        raise ProbeError(
            f"{FETCH_MODULE} cannot be loaded ({detail}); run 'librechat-dynmodels verify' and 'npm ci' in {root}"
        )
    if fatal == "no_filter_export":
        raise ProbeError(
            f"endpoint {name!r} has models.include or models.exclude, but the checkout's librechat-data-provider "
            f"has no filterModelList (not patched, or not built since): run 'npm run build:data-provider' in {root}"
        )
    if fatal:
        raise ProbeError(f"the probe failed: {detail or secrets.scrub(str(fatal))}")
    models = result.get("models")
    if isinstance(models, dict):
        first = tuple(secrets.scrub(str(m)) for m in models.get("first") or ())[:FIRST]
        kept, fetched = _int(models.get("count")), _int(models.get("fetched"))
        return ProbeReport(name, "ok", None, kept, fetched, first, elapsed_ms, filtered, user_url)
    category = secrets.scrub(str(result.get("error") or ""))
    category = category if _CATEGORY.match(category) else "bad_response"
    status = result.get("status")
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    return ProbeReport(name, category, status, 0, 0, (), elapsed_ms, filtered, user_url)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
