"""``doctor``: does this checkout's configuration get per-user models, and are the patches in place?

Reads the checkout's ``.env`` (as ``dotenv`` does) and its ``librechat.yaml`` (``CONFIG_PATH`` from ``.env`` when
set), resolves ``${VAR}`` in ``apiKey`` and ``baseURL`` as LibreChat's ``extractEnvVariable`` does (the process
environment first, then ``.env``, as after ``dotenv``), then judges every custom endpoint against the feature's rule
and asks the engine for the state of the patches. The ``models.include``/``exclude`` patterns are judged by the
checkout's own built data provider (:mod:`.model_filters`). Every finding is data with a severity: a ``blocker``
stops the feature, a ``warning`` does not. Nothing here prints, and PyYAML is imported only when a file is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .catalog import Catalog, first_yaml_alias
from .checkout import Checkout, detect_native_support
from .errors import DynModelsError, command_hint
from .model_filters import (
    FILTER_KEYS,
    META_KEYS,
    FilterSet,
    FilterVerdict,
    check_patterns,
    filter_set,
    structure_problems,
)
from .models import DoctorReport, EndpointCheck, Finding, PatchCheck
from .runtime import build_findings

USER_PROVIDED = "user_provided"
BLOCKER = "blocker"
WARNING = "warning"
_ENV_REFERENCE = re.compile(r"\$\{(\w+)\}")
# LibreChat's extractEnvVariable: the whole value one reference, else each reference in it
_WHOLE_REFERENCE = re.compile(r"\$\{(.+)\}")
_SOME_REFERENCE = re.compile(r"\$\{([^}]+)\}")
# dotenv 16's LINE (lib/main.js), which LibreChat's api uses
_DOTENV_LINE = re.compile(
    r"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\""
    r"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)",
    re.MULTILINE | re.ASCII,
)
_DOTENV_QUOTES = re.compile(r"^(['\"`])([\s\S]*)\1$", re.MULTILINE)
# Releases whose code has `endpoints.allowedAddresses` (v0.8.6 on) carry this file; v0.8.5 does not.
ALLOWED_ADDRESSES_SOURCE = "packages/api/src/auth/allowedAddresses.ts"
# The native loader validates a user's base URL from v0.8.7 on; v0.8.5 and v0.8.6 fetch it unchecked.
NATIVE_LOADER_SOURCE = "packages/api/src/endpoints/config/models.ts"
# A librechat.yaml is tens of KiB. Parsing and judging one costs doctor seconds a MiB (1 MiB of 6,000
# endpoints: 6.7 s, 80 MB; 30 MB: 40 s, 1.6 GB), so a larger file is refused as the blocker
# config_too_large (exit 1) before it is parsed (30 MB: 1.7 s, 32 MB, the patch check included).
MAX_CONFIG_BYTES = 1024 * 1024
_ENV_NOTE = (
    "doctor sees .env and its own environment: ignore this if the server gets the variable elsewhere (docker "
    "compose, systemd)"
)


# -- .env and the location of librechat.yaml ---------------------------------------------


def parse_env(text: str) -> dict[str, str]:
    """``.env`` as dotenv 16's ``parse`` reads it: its line pattern, quotes removed, ``\\n`` expanded in double
    quotes, the last of a repeated key."""
    values: dict[str, str] = {}
    for match in _DOTENV_LINE.finditer(re.sub(r"\r\n?", "\n", text)):
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = _DOTENV_QUOTES.sub(r"\2", value)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        values[match.group(1)] = value
    return values


def resolve_env(value: Any, variables: Mapping[str, str]) -> Any:
    """``value`` with ``${VAR}`` resolved as LibreChat's ``extractEnvVariable`` resolves it (an unset or empty
    variable stays as written)."""
    if not isinstance(value, str) or not value:
        return value
    trimmed = value.strip()
    whole = _WHOLE_REFERENCE.fullmatch(trimmed)
    if whole:
        return variables.get(whole.group(1)) or trimmed
    return _SOME_REFERENCE.sub(lambda m: variables.get(m.group(1)) or m.group(), trimmed)


def read_env(root: Path) -> tuple[dict[str, str], Path | None]:
    path = root / ".env"
    try:
        return parse_env(path.read_text(encoding="utf-8", errors="replace")), path
    except OSError:
        return {}, None


def config_location(root: Path, env: Mapping[str, str]) -> tuple[str, str]:
    """Where LibreChat reads its configuration: ``CONFIG_PATH`` (relative to the root) or the default."""
    configured = env.get("CONFIG_PATH", "").strip()
    if not configured:
        return str(root / "librechat.yaml"), "default"
    if configured.startswith(("http://", "https://")):
        return configured, "CONFIG_PATH in .env"
    path = Path(configured).expanduser()
    return str(path if path.is_absolute() else root / path), "CONFIG_PATH in .env"


def _shown(root: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def load_config(root: Path, location: str, source: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The parsed configuration, or None and the one finding that says why not."""
    shown = _shown(root, location)
    where = " (CONFIG_PATH in .env)" if source != "default" else ""
    if location.startswith(("http://", "https://")):
        return None, [
            Finding(
                WARNING,
                "config_remote",
                "CONFIG_PATH in .env is a URL; doctor does not download it, so no endpoint was checked "
                "(save it locally and point CONFIG_PATH there to check it)",
                path=location,
            )
        ]
    try:
        with Path(location).open("rb") as handle:  # read no further than the cap
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            mib, kib = divmod(MAX_CONFIG_BYTES, 1024 * 1024)
            limit = f"{mib} MiB" if mib and not kib else f"{MAX_CONFIG_BYTES // 1024} KiB"
            message = f"larger than {limit} (a librechat.yaml is tens of KiB); not parsed, so nothing was checked"
            return None, [Finding(BLOCKER, "config_too_large", message, path=shown)]
        text = raw.decode("utf-8")
    except FileNotFoundError:
        return None, [
            Finding(BLOCKER, "config_missing", f"not found{where}; LibreChat needs it for custom endpoints", path=shown)
        ]
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); save it as UTF-8"
        return None, [Finding(BLOCKER, "config_unreadable", message, path=shown)]
    except OSError as exc:
        return None, [Finding(BLOCKER, "config_unreadable", f"cannot read: {exc}", path=shown)]

    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
    try:
        alias = first_yaml_alias(text)
        data = None if alias else yaml.load(text, Loader=loader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is None:
            return None, [Finding(BLOCKER, "config_invalid", f"invalid YAML: {problem}", path=shown)]
        line, column = mark.line + 1, mark.column + 1
        return None, [
            Finding(
                BLOCKER,
                "config_invalid",
                f"line {line}, column {column}: invalid YAML: {problem}",
                path=shown,
                line=line,
                column=column,
            )
        ]
    if alias:
        line, column = alias.line + 1, alias.column + 1
        message = (
            f"line {line}, column {column}: uses YAML aliases, which doctor does not expand (a few lines of them can "
            "grow without bound), so no endpoint was checked; write the values out to have them checked"
        )
        return None, [Finding(WARNING, "config_aliases", message, path=shown, line=line, column=column)]
    if not isinstance(data, dict):
        return None, [Finding(BLOCKER, "config_invalid", "the file must be a YAML mapping", path=shown)]
    return data, []


# -- custom endpoints ---------------------------------------------------------------------


def normalize_endpoint_name(name: str) -> str:
    """An endpoint name as LibreChat compares it (``normalizeEndpointName``): any case of Ollama is ``ollama``."""
    return "ollama" if name.lower() == "ollama" else name


def endpoint_name(item: Mapping[str, Any], index: int) -> str:
    return str(item.get("name") or f"endpoints.custom[{index}]")


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string below ``value`` with the dotted key that leads to it."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _model_names(value: Any) -> tuple[tuple[str, ...], str | None]:
    """The names of ``models.default`` (strings, or mappings with a ``name``) and what is wrong with it."""
    if value is None:
        return (), None
    if not isinstance(value, list):
        return (), "models.default must be a list of model names"
    names = []
    wrong = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
        else:
            wrong.append(f"item {index + 1}")
    if wrong:
        return tuple(names), f"models.default must be a list of model names ({', '.join(wrong[:3])} is not one)"
    return tuple(names), None


def check_endpoint(
    item: dict[str, Any],
    index: int,
    env: Mapping[str, str],
    allowlist_setting: bool,
    allowed_addresses: bool,
    shown: str,
    patterns: tuple[FilterVerdict | None, str | None] = (None, None),
) -> tuple[EndpointCheck, list[Finding]]:
    """``env``: the variables the server sees; ``patterns``: the data provider's verdict on the endpoint's
    filters, or why there is none."""
    name = endpoint_name(item, index)
    models = item.get("models") if isinstance(item.get("models"), dict) else {}
    assert isinstance(models, dict)
    fetch = models.get("fetch") is True
    user_provided = tuple(key for key in ("apiKey", "baseURL") if resolve_env(item.get(key), env) == USER_PROVIDED)
    defaults, defaults_wrong = _model_names(models.get("default"))
    # The feature's rule: a user's own base URL is only ever sent that user's own key, never the endpoint's
    # configured one, so only a user-provided apiKey gives per-user models (a URL-only user sees the defaults).
    dynamic = fetch and "apiKey" in user_provided
    findings: list[Finding] = []

    def add(severity: str, code: str, message: str) -> None:
        findings.append(Finding(severity, code, message, endpoint=name, path=shown))

    if fetch and not user_provided:
        add(
            WARNING,
            "fetch_without_user_key",
            'models.fetch is true but neither apiKey nor baseURL is "user_provided": the list is fetched with '
            "the configured key and is the same for every user",
        )
    if fetch and user_provided == ("baseURL",):
        add(
            WARNING,
            "user_url_without_user_key",
            "baseURL is \"user_provided\" but apiKey is not: a user's own base URL is never sent the endpoint's "
            "configured key, so users (who can save only a URL here) all see models.default; set apiKey: "
            '"user_provided" as well for per-user models',
        )
    if user_provided and not fetch:
        add(
            WARNING,
            "user_key_without_fetch",
            f'{" and ".join(user_provided)} "user_provided" without models.fetch: true: every user sees '
            "models.default; set models.fetch: true to list each user's own models",
        )
    if defaults_wrong:
        add(BLOCKER, "invalid_model_list", f"{defaults_wrong}; LibreChat refuses the whole configuration at startup")
    elif not defaults:
        fallback = "users without a key, or whose fetch fails, have nothing to fall back to, and " if dynamic else ""
        add(BLOCKER, "empty_defaults", f"models.default is empty: {fallback}LibreChat requires at least one model")
    if dynamic:
        for key, what in (("titleModel", "titles"), ("summaryModel", "summaries")):
            model = item.get(key)
            if isinstance(model, str) and model and model != "current_model" and model not in defaults:
                code = f"{key[: -len('Model')]}_model_not_in_defaults"
                add(
                    WARNING,
                    code,
                    f"{key} {model!r} is not in models.default: users whose key cannot reach it get no {what}; "
                    "add it to models.default",
                )
    if allowlist_setting and "baseURL" in user_provided and not allowed_addresses:
        add(
            WARNING,
            "no_allowed_addresses",
            'baseURL is "user_provided" on a release with native per-user fetching and endpoints.allowedAddresses '
            "is not set: list the private services (host:port) users may point at there; releases that "
            "validate the URL refuse private and loopback hosts without it",
        )
    for severity, code, message in _filter_findings(models, fetch, defaults, *patterns):
        add(severity, code, message)
    missing: dict[str, str] = {}
    for where, text in _strings({k: v for k, v in item.items() if k != "name"}, ""):
        for variable in _ENV_REFERENCE.findall(text):
            if not env.get(variable) and variable not in missing:
                missing[variable] = where
    for variable, where in missing.items():
        add(
            WARNING,
            "env_var_missing",
            f"${{{variable}}} (in {where}) is set neither in .env nor in the environment; {_ENV_NOTE}",
        )
    reasons = tuple(f.code for f in findings)
    eligible = dynamic and not any(f.severity == BLOCKER for f in findings)
    if not fetch and not user_provided:
        reasons = ("static_endpoint", *reasons)  # an ordinary endpoint: not a problem, not dynamic either
    return EndpointCheck(name, eligible, fetch, user_provided, defaults, reasons), findings


def _filter_findings(
    models: Mapping[str, Any],
    fetch: bool,
    defaults: tuple[str, ...],
    verdict: FilterVerdict | None,
    unavailable: str | None,
) -> list[tuple[str, str, str]]:
    """``models.include`` and ``models.exclude``: valid patterns (LibreChat refuses the config otherwise), and
    of some use. Each as (severity, code, message)."""
    found: list[tuple[str, str, str]] = []
    used = [f"models.{key}" for key in FILTER_KEYS + META_KEYS if models.get(key) not in (None, [])]
    problems = structure_problems(models) + list(verdict.problems if verdict else ())
    for problem in problems:
        message = f"{problem}; LibreChat refuses the whole configuration at startup"
        pattern = problem.startswith(tuple(f"models.{key} " for key in FILTER_KEYS))
        found.append((BLOCKER, "invalid_model_pattern" if pattern else "invalid_models_key", message))
    if used and unavailable and not problems:
        found.append((WARNING, "patterns_unchecked", f"{' and '.join(used)}: {unavailable}"))
    if used and not fetch:
        message = (
            f"{' and '.join(used)} set but models.fetch is not true: the filters apply only to a fetched list, "
            "so they have no effect here"
        )
        found.append((WARNING, "filters_without_fetch", message))
    if fetch and defaults and not problems and verdict is not None and verdict.kept_defaults == ():
        message = (
            f"models.include keeps none of models.default ({', '.join(defaults)}): a fetched list keeps only "
            "other models than those users without a key (or whose fetch fails) see; check the patterns "
            "(a glob matches the whole id, case-insensitive: 'gpt-4*', not 'gpt-4') or the defaults"
        )
        found.append((WARNING, "include_keeps_no_default", message))
    return found


def _custom_endpoints(data: Mapping[str, Any]) -> Any:
    endpoints = data.get("endpoints")
    custom = endpoints.get("custom") if isinstance(endpoints, dict) else None
    return [] if custom is None else custom


def check_filters(
    root: Path, data: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[int, FilterVerdict], str | None]:
    """The checkout's data provider's verdict on each custom endpoint's filters (by index), in one run."""
    custom = _custom_endpoints(data)
    sets: dict[int, FilterSet] = {}
    for index, item in enumerate(custom if isinstance(custom, list) else ()):
        models = item.get("models") if isinstance(item, dict) else None
        if isinstance(models, dict) and any(models.get(key) not in (None, []) for key in FILTER_KEYS + META_KEYS):
            sets[index] = filter_set(models, _model_names(models.get("default"))[0])
    checked = check_patterns(root, list(sets.values()), environ)
    return dict(zip(sets, checked.verdicts, strict=False)), checked.unavailable


def check_config(
    data: dict[str, Any],
    env: Mapping[str, str],
    allowlist_setting: bool,
    shown: str,
    filters: tuple[Mapping[int, FilterVerdict], str | None] = ({}, None),
) -> tuple[tuple[EndpointCheck, ...], list[Finding]]:
    """``allowlist_setting``: the release fetches natively and reads ``endpoints.allowedAddresses``;
    ``filters``: :func:`check_filters`."""
    endpoints = data.get("endpoints")
    endpoints = endpoints if isinstance(endpoints, dict) else {}
    custom = endpoints.get("custom")
    custom = [] if custom is None else custom
    if not isinstance(custom, list):
        return (), [Finding(BLOCKER, "config_invalid", "endpoints.custom must be a list", path=shown)]
    allowed = bool(endpoints.get("allowedAddresses"))
    checks: list[EndpointCheck] = []
    findings: list[Finding] = []
    for index, item in enumerate(custom):
        if not isinstance(item, dict):
            findings.append(
                Finding(WARNING, "config_invalid", f"endpoints.custom[{index}] is not a mapping; skipped", path=shown)
            )
            continue
        verdicts, unavailable = filters
        check, found = check_endpoint(
            item, index, env, allowlist_setting, allowed, shown, (verdicts.get(index), unavailable)
        )
        checks.append(check)
        findings += found
    if not any(c.fetch and "apiKey" in c.user_provided for c in checks):
        findings.append(
            Finding(
                BLOCKER,
                "no_dynamic_endpoint",
                'no custom endpoint has models.fetch: true with apiKey "user_provided"; '
                "no user gets their own model list",
                path=shown,
            )
        )
    return tuple(checks), findings


# -- the patches --------------------------------------------------------------------------


def check_patches(checkout: Checkout, catalog: Catalog) -> tuple[PatchCheck | None, list[Finding]]:
    """The engine's own status and verify: applied by this tool, and every file as it wrote it?"""
    from . import engine

    try:
        status = engine.status(checkout, catalog)
    except DynModelsError as exc:
        return None, [Finding(BLOCKER, "patches_unknown", f"cannot read the patch state: {exc}")]
    series = status.series.id if status.series else None
    applied = status.applied_at is not None
    # what doctor may tell an admin to run: an apply that succeeds on this checkout, or none
    apply_command = (
        command_hint("apply", checkout.root)
        if status.series and status.state == "pristine"
        else (status.hint.command if status.hint else None)
    )
    if status.native_support and not applied and not status.interrupted_operation:
        # the release fetches per-user models itself; the extras series are optional there
        check = PatchCheck(
            True, status.native_evidence, "native", series, False, None, status.components, (), apply_command
        )
        return check, []
    findings: list[Finding] = []
    verified: bool | None = None
    if status.interrupted_operation:
        findings.append(Finding(BLOCKER, "interrupted_operation", status.message or "an interrupted run was found"))
    elif applied:
        report = engine.verify(checkout, catalog)
        verified = report.ok
        if not report.ok:
            changed = ", ".join(f"{f.path} ({f.state})" for f in report.files if f.state != "ok")
            findings.append(
                Finding(
                    BLOCKER,
                    "patches_drifted",
                    f"changed since apply: {changed}; to see the edits: "
                    f"{command_hint('verify', '--verbose', checkout.root)}; then to re-apply: "
                    f"{command_hint('apply', '--force', checkout.root)}",
                )
            )
        elif series in catalog.series:
            left_out = [c for c in catalog.series[series].components if c not in status.components]
            if left_out:
                fits = _addable(checkout, catalog)
                addable = [c for c in left_out if c in fits]
                misfits = [c for c in left_out if c not in fits]
                flags = [w for c in addable for w in ("--component", c)]
                add = f"add {'them' if not misfits else ', '.join(addable)} with: " if addable else ""
                findings.append(
                    Finding(
                        WARNING,
                        "components_left_out",
                        f"applied without {', '.join(left_out)}: the browser does not refresh model lists on its "
                        "own (a plain 'apply' keeps the components applied); "
                        + (f"{add}{command_hint('apply', *flags, checkout.root)}" if addable else "")
                        + ("; " if addable and misfits else "")
                        + (
                            f"{', '.join(misfits)} of {series} {'does' if len(misfits) == 1 else 'do'} not fit this "
                            "checkout"
                            if misfits
                            else ""
                        ),
                    )
                )
    elif status.state == "patched":
        findings.append(
            Finding(
                WARNING,
                "patches_unverified",
                "the patches are in the files but were not applied by this tool (no state folder), so they "
                "cannot be verified; 'librechat-dynmodels rollback' cannot undo them either",
            )
        )
    elif status.state == "pristine":
        findings.append(
            Finding(BLOCKER, "patches_not_applied", "the patches are not applied; run 'librechat-dynmodels apply'")
        )
    else:
        why = status.message or f"the checkout is {status.state}"
        then = str(status.hint) if status.hint else "run 'librechat-dynmodels check' to see each hunk"
        findings.append(Finding(BLOCKER, "patches_not_applied", f"{why}; {then}"))
    patched = tuple(f.path for f in status.files if f.state == "patched")
    check = PatchCheck(
        status.native_support,
        status.native_evidence,
        status.state,
        series,
        applied,
        verified,
        status.components,
        patched,
        apply_command if not applied else None,
    )
    return check, findings


def _addable(checkout: Checkout, catalog: Catalog) -> tuple[str, ...]:
    """The components of the applied series that ``apply --component`` can add here; none when the state cannot
    tell (the patch findings say why)."""
    from . import engine

    try:
        return engine.addable_components(checkout, catalog)
    except DynModelsError:
        return ()


def _native_findings(
    root: Path,
    env: Mapping[str, str],
    endpoints: tuple[EndpointCheck, ...],
    allowlist_setting: bool,
    applied: bool,
    apply_command: str | None = None,
) -> list[Finding]:
    """``apply_command``: the apply that succeeds on this checkout (PatchCheck.apply_command), or None."""
    extras = f"'{apply_command}'" if apply_command else "none of this catalog's fits this checkout"
    findings: list[Finding] = []
    if env.get("DYNAMIC_MODELS_ALLOWED_HOSTS", "").strip():
        if allowlist_setting and applied:
            findings.append(
                Finding(
                    WARNING,
                    "allowed_hosts_alias",
                    "DYNAMIC_MODELS_ALLOWED_HOSTS is set in .env; on this release the applied extras read it only "
                    "as an alias of endpoints.allowedAddresses (a bare host is allowed on the port of each user "
                    "URL), and LibreChat's own code ignores it; list those hosts as host:port under "
                    "endpoints.allowedAddresses in librechat.yaml",
                    path=".env",
                )
            )
        elif allowlist_setting:
            findings.append(
                Finding(
                    WARNING,
                    "allowed_hosts_ignored",
                    "DYNAMIC_MODELS_ALLOWED_HOSTS is set in .env, but this release fetches per-user models "
                    "natively and never reads it; list those hosts as host:port under endpoints.allowedAddresses "
                    "in librechat.yaml",
                    path=".env",
                )
            )
        elif not applied:
            findings.append(
                Finding(
                    WARNING,
                    "allowed_hosts_ignored",
                    "DYNAMIC_MODELS_ALLOWED_HOSTS is set in .env, but this release fetches per-user models "
                    "natively and never reads it (it has no endpoints.allowedAddresses either); the extras "
                    f"series ({extras}) reads it as its list of trusted hosts",
                    path=".env",
                )
            )
    user_urls = [e.name for e in endpoints if "baseURL" in e.user_provided]
    if user_urls and not applied and not _native_loader_checks_user_urls(root):
        admin_key = [e.name for e in endpoints if e.user_provided == ("baseURL",)]
        also_key = f" (and, for {', '.join(admin_key)}, the configured apiKey)" if admin_key else ""
        findings.append(
            Finding(
                WARNING,
                "user_url_unchecked",
                f"{', '.join(user_urls)}: this release's own loader fetches a user's base URL without checking "
                f"the address and sends the endpoint's configured headers there{also_key}; the extras series "
                f"({extras}) adds the check (private and loopback hosts refused) and keeps those back",
            )
        )
    return findings


def _native_loader_checks_user_urls(root: Path) -> bool:
    try:
        return "validateEndpointURL" in (root / NATIVE_LOADER_SOURCE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


# -- the command --------------------------------------------------------------------------


def _uses_filters(data: Mapping[str, Any]) -> bool:
    endpoints = data.get("endpoints")
    custom = endpoints.get("custom") if isinstance(endpoints, dict) else None
    return any(
        isinstance(item, dict)
        and isinstance(item.get("models"), dict)
        and any(item["models"].get(key) not in (None, []) for key in FILTER_KEYS + META_KEYS)
        for item in (custom if isinstance(custom, list) else [])
    )


def _filters_applied_findings(checkout: Checkout, catalog: Catalog, patches: PatchCheck) -> list[Finding]:
    """The filters live in the data-provider component: without it LibreChat neither checks nor applies them."""
    series = catalog.series.get(patches.series or "")
    if series is None or "data-provider" not in series.components or "data-provider" in patches.components:
        return []
    add = (
        f"add it with: {command_hint('apply', '--component', 'data-provider', checkout.root)}, then run "
        "'npm run build:data-provider'"
        if "data-provider" in _addable(checkout, catalog)
        else f"the data-provider component of {series.id} does not fit this checkout"
    )
    message = (
        "models.include/exclude are set, but the data-provider component is not applied: LibreChat neither checks "
        f"nor applies them, so every list stays unfiltered; {add}"
    )
    return [Finding(WARNING, "filters_not_applied", message)]


def doctor(checkout: Checkout, catalog: Catalog, environ: Mapping[str, str] | None = None) -> DoctorReport:
    """``environ``: the environment the server would start with (this process's by default)."""
    environ = os.environ if environ is None else environ
    root = checkout.root
    env, env_file = read_env(root)
    variables = {**env, **environ}  # dotenv never overrides a variable the environment sets
    location, source = config_location(root, env)
    shown = _shown(root, location)
    native = detect_native_support(root).present
    allowlist_setting = native and (root / ALLOWED_ADDRESSES_SOURCE).is_file()
    data, findings = load_config(root, location, source)
    endpoints: tuple[EndpointCheck, ...] = ()
    if data is not None:
        filters = check_filters(root, data, environ) if _uses_filters(data) else ({}, None)
        endpoints, found = check_config(data, variables, allowlist_setting, shown, filters)
        findings += found
    patches, found = check_patches(checkout, catalog)
    applied = patches is not None and patches.applied
    if native:
        apply_command = patches.apply_command if patches is not None else None
        findings += _native_findings(root, env, endpoints, allowlist_setting, applied, apply_command)
    findings += found
    if data is not None and patches is not None and applied and _uses_filters(data):
        findings += _filters_applied_findings(checkout, catalog, patches)
    findings += build_findings(checkout.root, patches)  # applied is not running (runtime.py)
    return DoctorReport(
        root=root,
        librechat_version=checkout.version,
        config=location,
        config_source=source,
        env_file=str(env_file) if env_file else None,
        endpoints=endpoints,
        patches=patches,
        findings=tuple(findings),
        ok=not any(f.severity == BLOCKER for f in findings),
    )
