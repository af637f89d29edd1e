"""Is the applied series running? The built artifacts, a running server, and what to do next.

LibreChat's backend loads ``packages/data-provider/dist`` (and ``packages/*/dist``), the browser loads
``client/dist``: patched sources take effect only once those are rebuilt, and a docker compose setup that
runs LibreChat's published image never sees the checkout at all. This module checks the builds by markers
the series puts in its own sources (string literals that survive minification), asks a running server
(``--url``) without a login, and says what to rebuild and restart. It returns result objects; nothing here
prints.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .checkout import Checkout

# The markers, each a string literal in a feature source the series installs (tests pin that they are there).
DATA_PROVIDER_MARKER = "librechat-dynmodels:data-provider:model-filters"  # packages/data-provider/src/modelFilters.ts
CLIENT_MARKER = "librechat-dynmodels:client:user-models-refresh"  # client/src/hooks/Config/useUserModelsRefresh.ts
FEATURE_ROUTE = "/api/models/fetch"
# What the data provider's dist must export once the series is built into it.
DATA_PROVIDER_EXPORTS = ("fetchUserModels", "filterModelList", "DYNAMIC_MODELS_DATA_PROVIDER_MARKER")
REACT_QUERY_EXPORTS = ("useFetchUserModelsMutation",)

BUILT = "built"
OUT_OF_DATE = "out of date"
NOT_BUILT = "not built"
NO_BUILD = "no build needed"

COMPOSE_FILE = "docker-compose.yml"
OVERRIDE_FILES = ("docker-compose.override.yml", "docker-compose.override.yaml")
OVERRIDE_EXAMPLE = "examples/docker/docker-compose.override.yml"


class ComponentBuild(NamedTuple):
    """One built artifact the running LibreChat loads, against the patched sources it is built from."""

    component: str  # backend | data-provider | client | packages/NAME
    artifact: str | None  # the folder checked, relative to the checkout (None: loaded from source)
    state: str  # built | out of date | not built | no build needed
    command: str | None  # what rebuilds it, run in the checkout
    detail: str  # one line: what was found


class ComposeCheck(NamedTuple):
    """How LibreChat's docker-compose.yml runs the ``api`` service."""

    file: str | None  # docker-compose.yml, when there is one with an `api` service
    image: str | None  # the image it runs
    builds: bool  # `api` is built from a build: in the file or an override
    override: str | None  # the override file that builds it


class LiveCheck(NamedTuple):
    """What a running LibreChat answers, asked without a login."""

    url: str
    route_status: int | None  # POST /api/models/fetch unauthenticated: 401 patched, 404 not
    route: str  # patched | not patched | unexpected
    bundle: str  # patched | not patched | unknown
    assets_read: int
    detail: str

    @property
    def ok(self) -> bool:
        return self.route == "patched" and self.bundle == "patched"


class RuntimeReport(NamedTuple):
    root: Path | None
    series: str | None
    builds: tuple[ComponentBuild, ...]
    live: LiveCheck | None = None
    rebuild: str | None = None  # the one command that rebuilds every stale artifact
    ok: bool = True  # every artifact built (and, with --url, the server runs the series)


def make_report(
    root: Path | None, series: str | None, builds: tuple[ComponentBuild, ...], live: LiveCheck | None = None
) -> RuntimeReport:
    stale = [b for b in builds if b.state in (OUT_OF_DATE, NOT_BUILT)]
    ok = not stale and (live is None or live.ok)
    return RuntimeReport(root, series, builds, live, rebuild_command(stale), ok)


# -- components and commands ------------------------------------------------------------------------


def component_of(path: str) -> str:
    """Which built artifact a patched source ends up in."""
    if path.startswith("client/"):
        return "client"
    if path.startswith("packages/"):
        name = path.split("/")[1]
        return "data-provider" if name == "data-provider" else f"packages/{name}"
    return "backend"


def _root_scripts(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return scripts if isinstance(scripts, dict) else {}


def build_command(root: Path, component: str) -> str | None:
    """The command that rebuilds ``component`` in LibreChat's checkout (what examples/docker/image-stage.sh runs)."""
    if component == "backend":
        return None
    if component == "client":
        return "npm run frontend"  # builds the data provider and the packages the bundle includes, then the bundle
    name = "data-provider" if component == "data-provider" else component.split("/", 1)[1]
    if f"build:{name}" in _root_scripts(root):
        return f"npm run build:{name}"
    return f"cd packages/{name} && npm run build"


def rebuild_command(stale: list[ComponentBuild]) -> str | None:
    commands = [b.command for b in stale if b.command]
    if not commands:
        return None
    if "npm run frontend" in commands:
        return "npm run frontend"
    return " && ".join(dict.fromkeys(commands))


# -- the built artifacts ----------------------------------------------------------------------------


def _newest(root: Path, paths: list[str]) -> float:
    times = [(root / p).stat().st_mtime for p in paths if (root / p).is_file()]
    return max(times, default=0.0)


def _contains(path: Path, needles: tuple[str, ...]) -> list[str]:
    """The needles missing from the file (all of them when it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return list(needles)
    return [n for n in needles if n not in text]


def _data_provider_main(root: Path) -> str:
    try:
        data = json.loads((root / "packages/data-provider/package.json").read_text(encoding="utf-8"))
        main = data.get("main") if isinstance(data, dict) else None
    except (OSError, ValueError):
        main = None
    return f"packages/data-provider/{main if isinstance(main, str) else 'dist/index.js'}"


_RELATIVE_REQUIRES = re.compile(r"""(?:require\(|from\s*|import\()\s*["'](\.{1,2}/[^"']+)["']""")


def _loaded_text(entry: Path, limit: int = 50) -> str:
    """The entry script and the chunks it loads by relative path (tsdown splits the data provider's dist
    into ``index.js`` and shared ``data-service-HASH.js`` chunks), as one text."""
    seen: list[Path] = []
    queue = [entry]
    texts = []
    while queue and len(seen) < limit:
        path = queue.pop(0).resolve()
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        texts.append(text)
        queue += [path.parent / ref for ref in _RELATIVE_REQUIRES.findall(text)]
    return "\n".join(texts)


def _check_data_provider(root: Path, sources: list[str], command: str | None) -> ComponentBuild:
    artifact = "packages/data-provider/dist"
    main = _data_provider_main(root)
    if not (root / main).is_file():
        return ComponentBuild("data-provider", artifact, NOT_BUILT, command, f"{main} is missing")
    loaded = _loaded_text(root / main)
    missing = [n for n in DATA_PROVIDER_EXPORTS + (DATA_PROVIDER_MARKER,) if n not in loaded]
    react_query = sorted((root / artifact / "react-query").glob("*.*js"))
    if not any(all(n in _loaded_text(p) for n in REACT_QUERY_EXPORTS) for p in react_query):
        missing += list(REACT_QUERY_EXPORTS)
    if missing:
        return ComponentBuild(
            "data-provider", artifact, NOT_BUILT, command, f"the dist does not export {', '.join(missing)}"
        )
    if (root / main).stat().st_mtime < _newest(root, sources):
        return ComponentBuild("data-provider", artifact, OUT_OF_DATE, command, f"{main} is older than the sources")
    return ComponentBuild("data-provider", artifact, BUILT, command, f"{main} exports what the series adds")


def _bundle_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "client/dist").rglob("*.js") if p.is_file())


def _check_client(root: Path, sources: list[str], command: str | None) -> ComponentBuild:
    artifact = "client/dist"
    index = root / artifact / "index.html"
    if not index.is_file():
        return ComponentBuild("client", artifact, NOT_BUILT, command, f"{artifact}/index.html is missing")
    carrier = next((p for p in _bundle_files(root) if not _contains(p, (CLIENT_MARKER,))), None)
    if carrier is None:
        return ComponentBuild(
            "client", artifact, NOT_BUILT, command, "no script of the bundle has the feature's marker"
        )
    if min(index.stat().st_mtime, carrier.stat().st_mtime) < _newest(root, sources):
        return ComponentBuild("client", artifact, OUT_OF_DATE, command, "the bundle is older than the sources")
    shown = carrier.relative_to(root).as_posix()
    return ComponentBuild("client", artifact, BUILT, command, f"the feature's hooks are in {shown}")


def check_builds(root: Path, patched: list[str], markers: bool = True) -> tuple[ComponentBuild, ...]:
    """Every artifact the patched files end up in. ``markers=False`` compares modification times only
    (cheap, for ``status``) and leaves out the artifacts that were never built."""
    by_component: dict[str, list[str]] = {}
    for path in patched:
        by_component.setdefault(component_of(path), []).append(path)
    if "data-provider" in by_component:  # the client bundle includes the data provider
        by_component.setdefault("client", [])
    results = []
    for component in sorted(by_component, key=["backend", "data-provider", "client"].index):
        command = build_command(root, component)
        sources = by_component[component]
        if component == "client":
            sources = sources + by_component.get("data-provider", [])
        if component == "backend":
            results.append(ComponentBuild("backend", None, NO_BUILD, None, "loaded from source: restart LibreChat"))
        elif markers and component == "data-provider":
            results.append(_check_data_provider(root, sources, command))
        elif markers and component == "client":
            results.append(_check_client(root, sources, command))
        else:
            results.append(_by_time(root, component, sources, command))
    return tuple(r for r in results if markers or r.state != NOT_BUILT)


def _by_time(root: Path, component: str, sources: list[str], command: str | None) -> ComponentBuild:
    artifact = {"data-provider": _data_provider_main(root), "client": "client/dist/index.html"}.get(
        component, f"{component}/dist"
    )
    if not (root / artifact).exists():
        return ComponentBuild(component, artifact, NOT_BUILT, command, f"{artifact} is missing")
    if (root / artifact).stat().st_mtime < _newest(root, sources):
        return ComponentBuild(component, artifact, OUT_OF_DATE, command, f"{artifact} is older than the sources")
    return ComponentBuild(component, artifact, BUILT, command, f"{artifact} is newer than the sources")


def patched_files(checkout: Checkout, catalog: Any) -> tuple[str | None, list[str]]:
    """The series and the files it has patched in the checkout (by the manifest, or by content when the
    state folder was removed, as in an image)."""
    from . import engine

    report = engine.status(checkout, catalog)
    series = report.series.id if report.series else None
    return series, [f.path for f in report.files if f.state == "patched"]


def runtime_check(checkout: Checkout, catalog: Any) -> RuntimeReport:
    from .errors import StateError

    series, patched = patched_files(checkout, catalog)
    if not patched:
        raise StateError("the series is not applied here, so there is no build to check; run 'apply' first")
    return make_report(checkout.root, series, check_builds(checkout.root, patched))


# -- docker compose ------------------------------------------------------------------------------------


def _api_service(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    services = data.get("services") if isinstance(data, dict) else None
    api = services.get("api") if isinstance(services, dict) else None
    return api if isinstance(api, dict) else None


def check_compose(root: Path) -> ComposeCheck:
    api = _api_service(root / COMPOSE_FILE)
    if api is None:
        return ComposeCheck(None, None, False, None)
    image = api.get("image") if isinstance(api.get("image"), str) else None
    if api.get("build"):
        return ComposeCheck(COMPOSE_FILE, image, True, None)
    for name in OVERRIDE_FILES:
        override = _api_service(root / name)
        if override is not None and override.get("build"):
            return ComposeCheck(COMPOSE_FILE, override.get("image") or image, True, name)
    return ComposeCheck(COMPOSE_FILE, image, False, None)


def compose_runs_published_image(compose: ComposeCheck) -> bool:
    return compose.file is not None and compose.image is not None and not compose.builds


def compose_advice(compose: ComposeCheck) -> str:
    return (
        f"{compose.file} runs the published image {compose.image} for `api` and builds nothing, so docker compose "
        f"never runs the patched checkout; copy {OVERRIDE_EXAMPLE} of librechat-dynmodels to "
        f"{OVERRIDE_FILES[0]} here, set LIBRECHAT_VERSION in .env, and run: docker compose up -d --build"
    )


# -- what to do next -------------------------------------------------------------------------------------


def next_steps(root: Path, components: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """What to rebuild and restart after ``apply`` of these series components, in this checkout."""
    steps = []
    builds = [c for c in ("data-provider", "client") if c in components]
    if builds:
        command = build_command(root, "client")
        what = " and ".join({"data-provider": "the data provider", "client": "the client bundle"}[c] for c in builds)
        if "client" not in builds:
            what += " and the client bundle, which includes it"
        steps.append(f"rebuild {what} (the running LibreChat loads dist, not the sources): {command}")
    steps.append("restart LibreChat so it loads them (npm run backend, or your process manager)")
    compose = check_compose(root)
    if compose_runs_published_image(compose):
        steps.append(f"docker compose: {compose_advice(compose)}")
    elif compose.builds:
        builder = compose.override or compose.file
        steps.append(
            f"docker compose: rebuild the image and restart: docker compose up -d --build ({builder} builds `api`)"
        )
    return tuple(steps)


# -- a running LibreChat -------------------------------------------------------------------------------------

_MAX_ASSETS = 400  # LibreChat v0.8.7's client/dist has 84 scripts
_MAX_ASSET_BYTES = 32 * 1024 * 1024
_TIMEOUT = 10.0
_SCRIPT_REFS = re.compile(r"""(?:src|href)=["']([^"']+\.m?js)["']""")
_CHUNK_REFS = re.compile(r"""["'(]((?:\.{1,2}/|/|assets/)[\w.\-/]*\.m?js)["')]""")


def _request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Accept": "*/*", "User-Agent": "librechat-dynmodels"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    host = urllib.parse.urlsplit(url).hostname or ""
    # a LibreChat on this machine is asked directly, whatever proxy the environment names
    handlers = [urllib.request.ProxyHandler({})] if host in ("localhost", "127.0.0.1", "::1") else []
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=_TIMEOUT) as answer:
            return int(answer.status), answer.read(_MAX_ASSET_BYTES)
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""


def live_check(url: str) -> LiveCheck:
    """Ask the LibreChat at ``url``: is the feature's route there (401 without a login, 404 without the
    series), and does the bundle it serves carry the client marker? Sends no key and no cookie."""
    from .errors import UsageError

    base = url.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url needs http://HOST:PORT or https://HOST, not {url!r}")
    try:
        status, _ = _request(base + FEATURE_ROUTE, "POST", b"{}")
        route = {401: "patched", 404: "not patched"}.get(status, "unexpected")
        bundle, read = _served_bundle(base)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        from .errors import DynModelsError

        raise DynModelsError(f"no answer from {base}: {reason}") from None
    detail = f"POST {FEATURE_ROUTE} without a login answered {status}"
    return LiveCheck(base, status, route, bundle, read, detail)


def _served_bundle(base: str) -> tuple[str, int]:
    status, page = _request(base + "/")
    if status != 200 or not page:
        return "unknown", 0
    html = page.decode("utf-8", "replace")
    queue = [urllib.parse.urljoin(base + "/", ref) for ref in _SCRIPT_REFS.findall(html)]
    seen: set[str] = set()
    while queue and len(seen) < _MAX_ASSETS:
        asset = queue.pop(0)
        if asset in seen or not asset.startswith(base):
            continue
        seen.add(asset)
        code, data = _request(asset)
        if code != 200:
            continue
        text = data.decode("utf-8", "replace")
        if CLIENT_MARKER in text:
            return "patched", len(seen)
        # `import("./Chunk-hash.js")` is relative to the importing script, Vite's `assets/...` to the base
        queue += [
            urllib.parse.urljoin(asset if ref.startswith(".") else base + "/", ref) for ref in _CHUNK_REFS.findall(text)
        ]
    # "not patched" only when every script the page reaches was read
    unread = [a for a in queue if a not in seen and a.startswith(base)]
    return ("not patched" if seen and not unread else "unknown"), len(seen)


# -- verify --runtime / --url -------------------------------------------------------------------------------


def run_verify_runtime(context: Any, built: bool, url: str | None) -> tuple[RuntimeReport, int, list[Any]]:
    """``verify --runtime`` and/or ``--url``: the report, its exit code and its errors. ``context`` gives
    (checkout, catalog) and is only called for ``--runtime`` (``--url`` alone needs no checkout)."""
    from .errors import DynModelsError, ExitCode, NotBuiltError

    report = make_report(None, None, ())
    if built:
        checkout, catalog = context()
        report = runtime_check(checkout, catalog)
    if url is not None:
        report = make_report(report.root, report.series, report.builds, live_check(url))
    errors: list[DynModelsError] = []
    stale = [b for b in report.builds if b.state in (OUT_OF_DATE, NOT_BUILT)]
    if stale:
        what = ", ".join(f"{b.component} ({b.state}: {b.detail})" for b in stale)
        errors.append(NotBuiltError(f"applied, not built: run {report.rebuild} ({what})"))
    live = report.live
    if live is not None and not live.ok:
        problems = []
        if live.route != "patched":
            problems.append(f"{live.detail} (401 when the series runs, 404 when it does not)")
        if live.bundle != "patched":
            problems.append(f"the client bundle it serves is {live.bundle} ({live.assets_read} scripts read)")
        errors.append(DynModelsError(f"{live.url} does not run the series: {'; '.join(problems)}"))
    code = ExitCode.NOT_BUILT if stale else (ExitCode.FAILED if errors else ExitCode.OK)
    return report, int(code), errors


# -- doctor ---------------------------------------------------------------------------------------------------


def build_findings(root: Path, patches: Any) -> list[Any]:
    """``doctor``: a blocker while a dist LibreChat loads is older than the patched sources, and while
    docker-compose.yml runs a published image for ``api`` that nothing builds (a warning only when this
    checkout's own build is current, as when LibreChat runs from it with npm)."""
    from .models import Finding

    if patches is None or patches.state == "native":
        return []
    compose = check_compose(root)
    builds: tuple[ComponentBuild, ...] = ()
    if patches.state == "patched":
        builds = check_builds(root, list(patches.patched_files), markers=False)
    findings = []
    stale = [b for b in builds if b.state == OUT_OF_DATE]
    if stale and not compose.builds:  # with an image build, the image is rebuilt, not this checkout's dist
        findings.append(
            Finding(
                "blocker",
                "build_out_of_date",
                f"{', '.join(str(b.artifact) for b in stale)}: older than the patched sources, so LibreChat still "
                f"runs the unpatched build; run {rebuild_command(stale)} here, then restart LibreChat",
                path=str(stale[0].artifact),
            )
        )
    if compose_runs_published_image(compose):
        current = any(b.state == BUILT for b in builds) and not stale
        advice = compose_advice(compose)
        if current:
            advice += " (if you run LibreChat from this checkout with npm instead, its build is current)"
        findings.append(
            Finding("warning" if current else "blocker", "compose_published_image", advice, path=compose.file)
        )
    return findings
