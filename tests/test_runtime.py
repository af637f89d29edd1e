"""Applied is not running: verify --runtime on fake dist folders, --url against a small local server,
status/doctor/apply saying what comes next."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import build_tree
from librechat_dynmodels import runtime
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.cli import app

ROOT = Path(__file__).resolve().parent.parent
FEATURE = ROOT / "patches" / "feature"
runner = CliRunner()
OLD = 1_600_000_000  # a modification time long before any apply


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def applied(tree: Path, catalog_dir: Path) -> Path:
    done = run("--patches", str(catalog_dir), "apply", str(tree))
    assert done.exit_code == 0, done.output
    return tree


def bundle(tree: Path, script: str, mtime: float | None = None) -> None:
    """A built client/dist whose entry script has ``script``."""
    build_tree(
        tree,
        {
            "client/dist/index.html": '<script type="module" crossorigin src="/assets/index-Ab1.js"></script>',
            "client/dist/assets/index-Ab1.js": script,
        },
    )
    if mtime is not None:
        for path in ("client/dist/index.html", "client/dist/assets/index-Ab1.js"):
            os.utime(tree / path, (mtime, mtime))


def data_provider_dist(tree: Path, exports: tuple[str, ...], hooks: tuple[str, ...]) -> None:
    build_tree(
        tree,
        {
            "packages/data-provider/package.json": json.dumps({"main": "dist/index.js"}),
            "packages/data-provider/dist/index.js": "".join(f"exports.{name} = {name};\n" for name in exports)
            + f"const m = '{runtime.DATA_PROVIDER_MARKER}';\n",
            "packages/data-provider/dist/react-query/index.es.js": "".join(f"export {{ {h} }};\n" for h in hooks),
        },
    )


MARKED = f'function u(){{r.useDebugValue("{runtime.CLIENT_MARKER}")}}'


# -- the markers are the feature's own ----------------------------------------------------------------


def test_the_markers_are_literals_the_feature_uses_at_runtime_in_every_series() -> None:
    hook = (FEATURE / "client/src/hooks/Config/useUserModelsRefresh.ts").read_text()
    assert f"export const USER_MODELS_CLIENT_MARKER = '{runtime.CLIENT_MARKER}';" in hook
    assert "  useDebugValue(USER_MODELS_CLIENT_MARKER);\n" in hook  # a call keeps it through minification
    filters = (FEATURE / "packages/data-provider/src/modelFilters.ts").read_text()
    assert f"export const DYNAMIC_MODELS_DATA_PROVIDER_MARKER = '{runtime.DATA_PROVIDER_MARKER}';" in filters
    catalog = load_catalog(None)
    for series in catalog.series.values():
        installed = {i.path for p in series.patches for i in p.installs}
        diffs = "".join((series.directory / p.file).read_text() for p in series.patches)
        assert {"client/src/hooks/Config/useUserModelsRefresh.ts", "packages/data-provider/src/modelFilters.ts"} <= (
            installed
        ), series.id
        for name in ("fetchUserModels", "useFetchUserModelsMutation", runtime.FEATURE_ROUTE):
            assert name in diffs, (series.id, name)


# -- verify --runtime on fake dist folders --------------------------------------------------------------


def test_verify_runtime_says_applied_not_built_until_the_bundle_is_rebuilt(tree: Path, catalog_dir: Path) -> None:
    applied(tree, catalog_dir)
    before = run("--patches", str(catalog_dir), "verify", "--runtime", str(tree))
    assert before.exit_code == 6
    assert "applied, not built: run npm run frontend" in before.output
    assert "client/dist/index.html is missing" in before.output
    bundle(tree, MARKED)
    after = run("--patches", str(catalog_dir), "verify", "--runtime", str(tree))
    assert after.exit_code == 0, after.output
    assert "the feature's hooks are in client/dist/assets/index-Ab1.js" in after.output
    assert "verified at runtime" in after.output


def test_a_bundle_built_from_the_unpatched_source_is_not_built(tree: Path, catalog_dir: Path) -> None:
    applied(tree, catalog_dir)
    bundle(tree, "function u(){r.useEffect(()=>{},[])}")  # newer than the sources, but no marker
    done = run("--patches", str(catalog_dir), "--json", "verify", "--runtime", str(tree))
    data = json.loads(done.stdout)
    assert done.exit_code == 6 and data["errors"][0]["code"] == "not_built"
    client = next(b for b in data["data"]["builds"] if b["component"] == "client")
    assert client["state"] == "not built" and client["detail"] == "no script of the bundle has the feature's marker"
    assert data["data"]["rebuild"] == "npm run frontend" and data["data"]["ok"] is False


def test_a_bundle_older_than_the_patched_sources_is_out_of_date_in_verify_and_status(
    tree: Path, catalog_dir: Path
) -> None:
    applied(tree, catalog_dir)
    bundle(tree, MARKED, mtime=OLD)
    done = run("--patches", str(catalog_dir), "verify", "--runtime", str(tree))
    assert done.exit_code == 6 and "the bundle is older than the sources" in done.output
    status = run("--patches", str(catalog_dir), "status", str(tree))
    assert "state: patched, build out of date" in status.output
    bundle(tree, MARKED)
    assert "state: patched\n" in run("--patches", str(catalog_dir), "status", str(tree)).output


def test_status_of_a_checkout_never_built_says_only_patched(tree: Path, catalog_dir: Path) -> None:
    applied(tree, catalog_dir)
    assert "state: patched\n" in run("--patches", str(catalog_dir), "status", str(tree)).output


def test_verify_runtime_on_a_pristine_checkout_is_one_line(tree: Path, catalog_dir: Path) -> None:
    done = run("--patches", str(catalog_dir), "verify", "--runtime", str(tree))
    assert done.exit_code == 1
    assert done.output.strip().endswith(
        "the series is not applied here, so there is no build to check; run 'apply' first"
    )


def test_the_data_provider_dist_must_export_what_the_series_adds(tmp_path: Path) -> None:
    tree = build_tree(tmp_path, {"package.json": json.dumps({"scripts": {"build:data-provider": "x"}})})
    sources = ["packages/data-provider/src/index.ts", "client/src/routes/Root.tsx"]
    build_tree(tree, {p: "patched\n" for p in sources})
    for path in sources:
        os.utime(tree / path, (OLD, OLD))
    data_provider_dist(tree, runtime.DATA_PROVIDER_EXPORTS, ())
    bundle(tree, MARKED)
    builds = {b.component: b for b in runtime.check_builds(tree, sources)}
    assert builds["data-provider"].state == "not built"
    assert builds["data-provider"].detail == "the dist does not export useFetchUserModelsMutation"
    assert builds["data-provider"].command == "npm run build:data-provider"
    assert builds["client"].state == "built"
    data_provider_dist(tree, runtime.DATA_PROVIDER_EXPORTS, runtime.REACT_QUERY_EXPORTS)
    assert {b.state for b in runtime.check_builds(tree, sources)} == {"built"}
    os.utime(tree / "packages/data-provider/dist/index.js", (OLD - 10, OLD - 10))
    stale = runtime.check_builds(tree, sources)
    assert [b.state for b in stale] == ["out of date", "built"]
    assert runtime.rebuild_command(list(stale[:1])) == "npm run build:data-provider"


def test_a_data_provider_change_needs_the_client_bundle_rebuilt_too(tmp_path: Path) -> None:
    builds = runtime.check_builds(tmp_path, ["packages/data-provider/src/index.ts"])
    assert [(b.component, b.state, b.command) for b in builds] == [
        ("data-provider", "not built", "cd packages/data-provider && npm run build"),  # no root script here
        ("client", "not built", "npm run frontend"),
    ]
    assert runtime.rebuild_command(list(builds)) == "npm run frontend"


# -- --url against a running server ----------------------------------------------------------------------


def server(patched: bool) -> type[BaseHTTPRequestHandler]:
    """LibreChat as seen without a login: the feature's route (401 patched, 404 not), the SPA and its chunks."""
    chunk = MARKED if patched else "function u(){}"
    files = {
        "/": b'<html><link rel="modulepreload" href="/assets/vendor-1.js"><script type="module" '
        b'src="/assets/index-2.js"></script></html>',
        "/assets/vendor-1.js": b"export const v = 1;",
        "/assets/index-2.js": b'const r = () => import("./Root-3.js"); const d = ["assets/Other-4.js"];',
        "/assets/Root-3.js": chunk.encode(),
        "/assets/Other-4.js": b"export {};",
    }

    class Handler(BaseHTTPRequestHandler):
        seen: list[tuple[str, str, str | None]] = []

        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            Handler.seen.append(("POST", self.path, self.headers.get("Authorization") or self.headers.get("Cookie")))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/api/models/fetch" and patched:
                self.answer(401, b"Unauthorized")
            else:
                self.answer(404, b"Not Found")

        def do_GET(self) -> None:
            Handler.seen.append(("GET", self.path, self.headers.get("Authorization") or self.headers.get("Cookie")))
            body = files.get(self.path)
            self.answer(200 if body is not None else 404, body or b"")

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[ThreadingHTTPServer] = []

    def start(patched: bool) -> tuple[str, type[BaseHTTPRequestHandler]]:
        handler = server(patched)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", handler

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def test_url_finds_the_route_and_the_marker_in_a_lazy_chunk_without_a_login(serve: Any) -> None:
    url, handler = serve(True)
    done = run("verify", "--url", url)
    assert done.exit_code == 0, done.output
    assert "route POST /api/models/fetch: patched (POST /api/models/fetch without a login answered 401)" in done.output
    assert "client bundle served: patched" in done.output
    assert all(credentials is None for _, _, credentials in handler.seen)  # type: ignore[attr-defined]
    assert ("GET", "/assets/Root-3.js", None) in handler.seen  # type: ignore[attr-defined]


def test_url_of_an_unpatched_server_fails_naming_what_it_answered(serve: Any) -> None:
    url, _ = serve(False)
    done = run("--json", "verify", "--url", url)
    data = json.loads(done.stdout)
    assert done.exit_code == 1
    live = data["data"]["live"]
    assert (live["route_status"], live["route"], live["bundle"]) == (404, "not patched", "not patched")
    assert live["assets_read"] == 4
    assert "answered 404 (401 when the series runs, 404 when it does not)" in data["errors"][0]["message"]


def test_url_says_unknown_when_it_stops_reading_before_the_last_script(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = serve(False)
    monkeypatch.setattr(runtime, "_MAX_ASSETS", 2)
    live = runtime.live_check(url)
    assert (live.bundle, live.assets_read, live.ok) == ("unknown", 2, False)


def test_url_needs_http_and_a_host(tmp_path: Path) -> None:
    done = run("verify", "--url", "localhost:3080")
    assert done.exit_code == 2 and "--url needs http://HOST:PORT" in done.output


def test_url_that_nobody_answers_is_one_line() -> None:
    done = run("verify", "--url", "http://127.0.0.1:9")  # the discard port: nothing listens here
    assert done.exit_code == 1 and "no answer from http://127.0.0.1:9" in done.output


# -- apply, doctor and docker compose ----------------------------------------------------------------------


COMPOSE = {"services": {"api": {"image": "registry.librechat.ai/danny-avila/librechat-dev:latest"}}}


def test_apply_ends_with_what_to_rebuild_and_restart(tree: Path, catalog_dir: Path) -> None:
    build_tree(tree, {"docker-compose.yml": yaml.safe_dump(COMPOSE)})
    done = run("--patches", str(catalog_dir), "apply", str(tree))
    assert done.exit_code == 0, done.output
    lines = [line for line in done.output.splitlines() if line.startswith("next: ")]
    assert lines[0] == (
        "next: rebuild the client bundle (the running LibreChat loads dist, not the sources): npm run frontend"
    )
    assert lines[1].startswith("next: restart LibreChat")
    assert (
        "docker-compose.yml runs the published image registry.librechat.ai/danny-avila/librechat-dev:latest"
        in (lines[2])
    )
    assert "examples/docker/docker-compose.override.yml" in lines[2] and "docker compose up -d --build" in lines[2]


def test_compose_check_sees_a_build_in_the_file_or_an_override(tmp_path: Path) -> None:
    build_tree(tmp_path, {"docker-compose.yml": yaml.safe_dump(COMPOSE)})
    assert runtime.compose_runs_published_image(runtime.check_compose(tmp_path))
    build_tree(tmp_path, {"docker-compose.override.yaml": "services:\n  api:\n    build: {context: ../x}\n"})
    found = runtime.check_compose(tmp_path)
    assert found.builds and found.override == "docker-compose.override.yaml"
    assert runtime.check_compose(tmp_path / "nowhere") == runtime.ComposeCheck(None, None, False, None)


def doctor(tree: Path, catalog_dir: Path) -> Any:
    done = run("--patches", str(catalog_dir), "--json", "doctor", str(tree))
    return done.exit_code, {f["code"]: f for f in json.loads(done.stdout)["data"]["findings"]}


def test_doctor_blocks_while_the_build_is_stale_or_compose_runs_a_published_image(
    tree: Path, catalog_dir: Path
) -> None:
    applied(tree, catalog_dir)
    bundle(tree, MARKED, mtime=OLD)
    code, findings = doctor(tree, catalog_dir)
    assert code == 1 and findings["build_out_of_date"]["severity"] == "blocker"
    assert "run npm run frontend here, then restart LibreChat" in findings["build_out_of_date"]["message"]
    bundle(tree, MARKED)
    build_tree(tree, {"docker-compose.yml": yaml.safe_dump(COMPOSE)})
    code, findings = doctor(tree, catalog_dir)
    # the checkout's own build is current: it may run from source, so docker compose is only a warning
    assert "build_out_of_date" not in findings and findings["compose_published_image"]["severity"] == "warning"
    bundle(tree, MARKED, mtime=OLD)
    code, findings = doctor(tree, catalog_dir)
    assert code == 1 and findings["compose_published_image"]["severity"] == "blocker"
    assert "docker-compose.override.yml" in findings["compose_published_image"]["message"]
    build_tree(tree, {"docker-compose.override.yml": yaml.safe_dump({"services": {"api": {"build": "."}}})})
    code, findings = doctor(tree, catalog_dir)
    # the override builds the image: neither the compose file nor this checkout's dist is what runs
    assert not {"compose_published_image", "build_out_of_date"} & set(findings)


def test_a_data_provider_dist_split_into_chunks_is_read_through_its_requires(tmp_path: Path) -> None:
    """tsdown (v0.8.8-rc1's data provider, v0.8.7 here) puts the code in a shared chunk the entry requires."""
    sources = ["packages/data-provider/src/index.ts"]
    tree = build_tree(tmp_path, {sources[0]: "patched\n"})
    os.utime(tree / sources[0], (OLD, OLD))
    chunk = "".join(f"exports.{name} = {name};\n" for name in runtime.DATA_PROVIDER_EXPORTS)
    build_tree(
        tree,
        {
            "packages/data-provider/package.json": json.dumps({"main": "dist/index.js"}),
            "packages/data-provider/dist/index.js": 'const d = require("./data-service-Ct1.js");\nexports.x = d.x;\n',
            "packages/data-provider/dist/data-service-Ct1.js": chunk + f'const m = "{runtime.DATA_PROVIDER_MARKER}";\n',
            "packages/data-provider/dist/react-query/index.js": 'const d = require("../data-service-Ct1.js");\n'
            "exports.useFetchUserModelsMutation = useFetchUserModelsMutation;\n",
        },
    )
    (data_provider,) = [b for b in runtime.check_builds(tree, sources) if b.component == "data-provider"]
    assert data_provider.state == "built", data_provider.detail
    (tree / "packages/data-provider/dist/data-service-Ct1.js").write_text("exports.other = 1;\n")
    (data_provider,) = [b for b in runtime.check_builds(tree, sources) if b.component == "data-provider"]
    assert data_provider.state == "not built" and "fetchUserModels" in data_provider.detail
