"""scripts/live-check.py's own logic (no LibreChat, no browser, no network): venv reuse, generated
configs, and scripts/checklib.py's processes started and stopped by their PID with stand-ins."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import checklib  # noqa: E402


def load_live_check() -> Any:
    spec = importlib.util.spec_from_file_location("live_check", ROOT / "scripts" / "live-check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["live_check"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


live = load_live_check()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_ensure_venv_reuses_a_venv_with_the_same_pins(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/python").write_text("")
    (tmp_path / "dynmodels-pins.txt").write_text("a==1\nb==2\n")
    calls: list[list[str]] = []
    python = live.ensure_venv(tmp_path, ("a==1", "b==2"), run=lambda argv, check: calls.append(argv))
    assert python == tmp_path / "bin/python"
    assert calls == []


def test_ensure_venv_installs_the_pins_when_they_changed(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/python").write_text("")
    (tmp_path / "dynmodels-pins.txt").write_text("a==1\n")
    calls: list[list[str]] = []
    live.ensure_venv(tmp_path, ("a==2",), run=lambda argv, check: calls.append(argv))
    assert calls[0][1:] == ["-m", "venv", str(tmp_path)]
    assert calls[1][-1] == "a==2"
    assert (tmp_path / "dynmodels-pins.txt").read_text() == "a==2\n"


def test_the_pinned_litellm_is_never_the_compromised_release() -> None:
    litellm = [pin for pin in live.PINS if pin.startswith("litellm")]
    assert litellm and all("==" in pin and not pin.endswith("==1.107.0") for pin in litellm)


def test_litellm_config_mocks_every_model_and_holds_no_key() -> None:
    keys = live.Keys.fresh()
    config = live.litellm_config(keys.models())
    names = {entry["model_name"]: entry["litellm_params"] for entry in config["model_list"]}
    assert set(live.ALICE_MODELS + live.ALICE_NEXT + live.BOB_MODELS) <= set(names)
    assert all(params["mock_response"] == live.mock_answer(name) for name, params in names.items())
    assert config["general_settings"]["custom_auth"] == "litellm_keys.user_api_key_auth"
    assert live.find_secrets(repr(config), keys.all()) == []


def test_keys_are_fresh_and_the_wrong_one_reaches_nothing() -> None:
    first, second = live.Keys.fresh(), live.Keys.fresh()
    assert set(first.all()).isdisjoint(second.all())
    assert first.wrong not in first.models()
    assert first.models()[first.alice] != first.models()[first.bob]


def test_librechat_config_has_the_user_provided_endpoints(tmp_path: Path) -> None:
    (tmp_path / "librechat.example.yaml").write_text("# x\nversion: 1.2.8\n")
    config = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2")
    by_name = {endpoint["name"]: endpoint for endpoint in config["endpoints"]["custom"]}
    assert config["version"] == "1.2.8"
    assert by_name["LiteLLM"]["apiKey"] == "user_provided"
    assert by_name["LiteLLM"]["baseURL"] == "http://127.0.0.1:1/v1"
    assert by_name["LiteLLM"]["models"] == {"default": live.DEFAULTS["LiteLLM"], "fetch": True}
    assert by_name["OwnURL"]["baseURL"] == "user_provided"
    assert "allowedAddresses" not in config["endpoints"]  # this release's schema does not name it


def test_librechat_config_allows_the_own_url_host_where_the_release_checks_urls(tmp_path: Path) -> None:
    (tmp_path / "packages/data-provider/src").mkdir(parents=True)
    (tmp_path / "packages/data-provider/src/config.ts").write_text("allowedAddresses: z.array(z.string())")
    config = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2")
    assert config["endpoints"]["allowedAddresses"] == ["127.0.0.1:2"]


def test_librechat_env_points_at_the_local_pieces(tmp_path: Path) -> None:
    env = live.librechat_env({"PATH": "/bin"}, "mongodb://127.0.0.1:5/LibreChat", 7, tmp_path / "c.yaml", "127.0.0.1:9")
    assert env["MONGO_URI"] == "mongodb://127.0.0.1:5/LibreChat"
    assert (env["HOST"], env["PORT"], env["ALLOW_REGISTRATION"]) == ("127.0.0.1", "7", "true")
    assert env["CONFIG_PATH"] == str(tmp_path / "c.yaml")
    assert len(env["CREDS_KEY"]) == 64 and len(env["CREDS_IV"]) == 32
    assert env["DYNAMIC_MODELS_ALLOWED_HOSTS"] == "127.0.0.1:9" and env["PATH"] == "/bin"


STAND_IN = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


def test_stop_ends_a_started_process_and_its_children(tmp_path: Path) -> None:
    processes = checklib.Processes(tmp_path / "logs")
    leader = processes.start("stand-in", [sys.executable, "-c", STAND_IN, str(tmp_path / "child.pid")])
    processes.wait_ready(
        "stand-in", lambda: (tmp_path / "child.pid").exists() and (tmp_path / "child.pid").read_text() != "", 20
    )
    child = int((tmp_path / "child.pid").read_text())
    assert alive(leader.pid) and alive(child)
    assert processes.stop(grace=5) == [f"stand-in (pid {leader.pid})"]
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(leader.pid) and not alive(child)


def test_processes_are_stopped_when_the_check_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="a step broke"):
        with checklib.Processes(tmp_path) as processes:
            started = processes.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
            raise RuntimeError("a step broke")
    assert started.poll() is not None


def test_wait_ready_names_a_process_that_exited(tmp_path: Path) -> None:
    with checklib.Processes(tmp_path) as processes:
        processes.start("crasher", [sys.executable, "-c", "print('no database'); raise SystemExit(3)"])
        with pytest.raises(checklib.NotReady, match=r"crasher exited with 3: no database"):
            processes.wait_ready("crasher", lambda: False, 20)


def test_find_secrets_names_each_key_found() -> None:
    assert live.find_secrets("a sk-1 b", ["sk-1", "sk-2"]) == ["sk-1"]


def test_events_reads_a_stream_up_to_its_error_data_line() -> None:
    """v0.8.x answers a refused chat with 200 'started' and the refusal on the resumable stream."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Stream(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'event: error\ndata: {"error":"illegal_model_request"}\n\n')
            self.wfile.flush()
            time.sleep(3)  # the stream stays open

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    check = object.__new__(live.LiveCheck)
    check.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert "illegal_model_request" in check.events("/api/agents/chat/stream/x", "token", timeout=10)
    finally:
        server.shutdown()


def test_librechat_config_adds_the_ollama_named_endpoint_when_given_its_url(tmp_path: Path) -> None:
    config = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2", "http://127.0.0.1:3/v1")
    by_name = {endpoint["name"]: endpoint for endpoint in config["endpoints"]["custom"]}
    assert by_name["Ollama"]["apiKey"] == "user_provided"
    assert by_name["Ollama"]["baseURL"] == "http://127.0.0.1:3/v1"
    assert by_name["Ollama"]["models"] == {"default": live.DEFAULTS["Ollama"], "fetch": True}
    without = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2")
    assert "Ollama" not in {endpoint["name"] for endpoint in without["endpoints"]["custom"]}


def test_the_ollama_step_runs_only_where_the_release_fetches_api_tags(tmp_path: Path) -> None:
    assert not live.release_fetches_ollama_tags(tmp_path)
    (tmp_path / "api/app/clients").mkdir(parents=True)
    (tmp_path / "api/app/clients/OllamaClient.js").write_text("axios.get(`${ollamaEndpoint}/api/tags`)")
    assert live.release_fetches_ollama_tags(tmp_path)


def get(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, bytes, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), ""


def test_the_ollama_shaped_server_lists_its_tags_for_its_key_only() -> None:
    import json

    server = live.OllamaShaped("sk-o", delay=0)
    origin = server.url.removesuffix("/v1")
    try:
        status, body, _ = get(f"{origin}/api/tags", {"Authorization": "Bearer sk-o"})
        assert status == 200 and [tag["name"] for tag in json.loads(body)["models"]] == live.OLLAMA_MODELS
        assert get(f"{origin}/api/tags", {"Authorization": "Bearer sk-other"})[0] == 401
        assert get(f"{origin}/api/tags")[0] == 401
        assert get(f"{server.url}/models", {"Authorization": "Bearer sk-o"})[0] == 404  # a list only from /api/tags
        assert server.calls[:2] == [("GET", "/api/tags", True), ("GET", "/api/tags", False)]
        assert server.count("GET", "/api/tags") == 3
    finally:
        server.server.shutdown()


def test_the_ollama_shaped_server_answers_a_chat_in_both_of_its_shapes() -> None:
    import json

    server = live.OllamaShaped("sk-o", delay=0)
    origin = server.url.removesuffix("/v1")
    model = live.OLLAMA_MODELS[0]
    answer = live.ollama_answer(model)
    try:
        chat = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
        status, body, kind = get(f"{server.url}/chat/completions", {"content-type": "application/json"}, chat)
        events = [line.removeprefix("data: ") for line in body.decode().splitlines() if line.startswith("data: ")]
        assert status == 200 and kind == "text/event-stream" and events[-1] == "[DONE]"
        assert json.loads(events[0])["choices"][0]["delta"]["content"] == answer
        status, body, kind = get(f"{origin}/api/chat", {"content-type": "application/json"}, chat)
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert status == 200 and kind == "application/x-ndjson"
        assert lines[0]["message"]["content"] == answer and lines[-1]["done"] is True
        unknown = json.dumps({"model": "nope", "messages": []}).encode()
        assert get(f"{origin}/api/chat", {"content-type": "application/json"}, unknown)[0] == 404
    finally:
        server.server.shutdown()


def test_the_gateway_call_log_counts_model_fetches_per_key_label(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    assert live.gateway_calls(log, "carol") == 0  # not written yet
    log.write_text(
        "GET /v1/models carol\nGET /v1/models/ carol\nGET /v1/models carol2\n"
        "POST /v1/chat/completions carol\nGET /v1/models unknown\n"
    )
    assert live.gateway_calls(log, "carol") == 2
    assert live.gateway_calls(log, "carol2") == 1
    assert live.gateway_calls(log, "carol", "/chat/completions") == 1


def test_key_labels_name_every_gateway_key_and_no_other() -> None:
    keys = live.Keys.fresh()
    labels = keys.labels()
    assert set(labels) == set(keys.models())
    assert labels[keys.carol] == "carol" and labels[keys.carol_next] == "carol_next"
    assert keys.ollama not in labels and keys.wrong not in labels
    assert live.find_secrets(" ".join(labels.values()), keys.all()) == []


def test_two_free_ports_never_answers_the_same_port_twice() -> None:
    picks = iter([5000, 5000, 5000, 5001])
    assert live.two_free_ports(lambda: next(picks)) == (5000, 5001)
    first, second = live.two_free_ports()
    assert first != second


def test_the_second_instance_shares_database_redis_and_secrets_on_its_own_port(tmp_path: Path) -> None:
    env = live.librechat_env(
        {}, "mongodb://127.0.0.1:5/LibreChat", 7, tmp_path / "c.yaml", "h:1", "redis://127.0.0.1:9"
    )
    assert (env["USE_REDIS"], env["REDIS_URI"]) == ("true", "redis://127.0.0.1:9")
    other = live.second_instance_env(env, 8)
    assert (other["PORT"], other["DOMAIN_SERVER"], other["DOMAIN_CLIENT"]) == (
        "8",
        "http://127.0.0.1:8",
        "http://127.0.0.1:8",
    )
    for same in ("MONGO_URI", "REDIS_URI", "USE_REDIS", "CREDS_KEY", "CREDS_IV", "JWT_SECRET", "JWT_REFRESH_SECRET"):
        assert other[same] == env[same]
    assert env["PORT"] == "7"  # the first one's is untouched
    assert live.librechat_env({}, "m", 7, tmp_path / "c.yaml", "h:1")["USE_REDIS"] == "false"


def test_redis_listens_on_loopback_only_and_writes_an_uncompressed_dump(tmp_path: Path) -> None:
    argv = live.redis_argv(6400, tmp_path)
    option = {argv[i]: argv[i + 1] for i in range(1, len(argv), 2)}
    assert argv[0] == "redis-server" and option["--port"] == "6400" and option["--bind"] == "127.0.0.1"
    assert option["--daemonize"] == "no" and option["--save"] == "" and option["--rdbcompression"] == "no"
    assert option["--dir"] == str(tmp_path)


def test_redis_command_speaks_resp_and_answers_the_first_reply_line() -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    got: list[bytes] = []

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(conn.recv(4096))
            conn.sendall(b"+PONG\r\n")

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        assert live.redis_command(listener.getsockname()[1], "PING") == "+PONG"
    finally:
        thread.join(5)
        listener.close()
    assert got == [b"*1\r\n$4\r\nPING\r\n"]


@pytest.mark.skipif(__import__("shutil").which("redis-server") is None, reason="redis-server is not installed")
def test_a_started_redis_answers_and_is_stopped_by_its_pid(tmp_path: Path) -> None:
    port = checklib.free_port()
    with checklib.Processes(tmp_path / "logs") as processes:
        redis = processes.start("redis", live.redis_argv(port, tmp_path))
        processes.wait_ready("redis", lambda: live.redis_command(port, "PING") == "+PONG", 20)
        assert live.redis_command(port, "SAVE") == "+OK" and (tmp_path / "dump.rdb").exists()
        assert processes.stop(grace=5) == [f"redis (pid {redis.pid})"]
    assert redis.poll() is not None and not alive(redis.pid)


def test_a_step_records_pass_fail_and_not_run_and_goes_on_after_an_exception() -> None:
    check = object.__new__(live.LiveCheck)
    check.steps = []

    def broken() -> tuple[bool, str]:
        raise ValueError("boom\nsecond line")

    def cannot() -> tuple[bool, str]:
        raise live.StepNotRun("no /api/tags in this release")

    assert check.step("passes", None, lambda: (True, "fine")) is True
    assert check.step("fails", None, lambda: (False, "wrong list")) is False
    assert check.step("breaks", None, broken) is False
    assert check.step("cannot run", None, cannot) is False
    assert [(step.name, step.status, step.detail) for step in check.steps] == [
        ("passes", "pass", "fine"),
        ("fails", "FAIL", "wrong list"),
        ("breaks", "FAIL", "ValueError: boom"),
        ("cannot run", "not run", "no /api/tags in this release"),
    ]


def test_the_ollama_steps_are_not_run_with_a_reason_without_an_ollama_server() -> None:
    check = object.__new__(live.LiveCheck)
    check.steps, check.ollama = [], None
    check.step("list", None, lambda: check._ollama_list(None))
    check.step("chat", None, lambda: check._ollama_chat(None))
    assert [step.status for step in check.steps] == ["not run", "not run"]
    assert "/api/tags" in check.steps[0].detail


def test_the_gateway_config_gives_each_model_its_model_info_for_the_menu_badges() -> None:
    config = live.litellm_config(live.Keys.fresh().models())
    info = {entry["model_name"]: entry.get("model_info") for entry in config["model_list"]}
    assert info["alpha-one"]["max_input_tokens"] == 200000 and info["alpha-one"]["supports_vision"] is True
    assert info["beta-one"]["input_cost_per_token"] == 2.5e-06
    assert info[live.DEFAULTS["LiteLLM"][0]] is None  # the default model has none: no row badge expected
    # every model a badge is expected for has the metadata it comes from
    assert set(live.BADGES) <= {name for name, entry in info.items() if entry}


def test_litellm_metadata_is_configured_only_where_the_series_validates_it(tmp_path: Path) -> None:
    schema = tmp_path / "packages/data-provider/src"
    schema.mkdir(parents=True)
    (schema / "config.ts").write_text("models: z.object({ default: z.array(z.string()) })")
    plain = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2")
    assert "metadata" not in plain["endpoints"]["custom"][0]["models"]
    (schema / "config.ts").write_text("models: z.object({ ...dynamicModelsConfigShape })")
    patched = live.librechat_config(tmp_path, "http://127.0.0.1:1/v1", "127.0.0.1:2")
    by_name = {endpoint["name"]: endpoint for endpoint in patched["endpoints"]["custom"]}
    assert by_name["LiteLLM"]["models"]["metadata"] == "litellm"
    assert "metadata" not in by_name["OwnURL"]["models"]  # its metadata comes with the list


def write_client(tree: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tree / "client/src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


FEATURE_FILES = {
    "components/DynamicModels/DynamicModelName.tsx": "export default function DynamicModelName() {}",
    "components/DynamicModels/index.ts": "import DynamicModelsRefresh from './DynamicModelsRefresh';",
    "components/Chat/Input/ModelAwayNotice.tsx": "export default function ModelAwayNotice() {}",
    "components/Chat/Input/__tests__/ModelAwayNotice.spec.tsx": "import ModelAwayNotice from '../ModelAwayNotice';",
}


def test_menu_glue_is_absent_where_only_the_feature_files_name_its_parts(tmp_path: Path) -> None:
    write_client(tmp_path, FEATURE_FILES)
    assert live.menu_glue(tmp_path) is False
    assert live.menu_glue(tmp_path / "no-such-tree") is False


def test_menu_glue_needs_badges_refresh_control_and_notice_imported_by_librechat_files(tmp_path: Path) -> None:
    write_client(tmp_path, FEATURE_FILES)
    menu = "import { DynamicModelName, DynamicModelsRefresh } from '~/components/DynamicModels';\n"
    write_client(tmp_path, {"components/Chat/Menus/Endpoints/components/EndpointModelItem.tsx": menu})
    assert live.menu_glue(tmp_path) is False  # no went-away notice wired
    write_client(tmp_path, {"components/Chat/Input/ChatForm.tsx": "import ModelAwayNotice from './ModelAwayNotice';\n"})
    assert live.menu_glue(tmp_path) is True


def test_a_step_about_a_part_the_series_lacks_is_not_applicable_and_not_counted() -> None:
    check = object.__new__(live.LiveCheck)
    check.steps, check.menu_glue = [], False
    check.step("passes", None, lambda: (True, "fine"))
    check.step("badges", None, lambda: check._menu_meta(None, live.ALICE_MODELS, live.BOB_MODELS))
    check.step("refresh", None, lambda: check._menu_refresh(None))
    check.step("went away", None, lambda: check._went_away(None))
    check.step("own URL metadata", None, lambda: check._own_url_meta(None))
    check.step("cannot run", None, lambda: (_ for _ in ()).throw(live.StepNotRun("no database operation")))
    assert [step.status for step in check.steps] == ["pass"] + ["not applicable"] * 4 + ["not run"]
    assert check.steps[1].detail == "not applicable (series has no menu glue)"
    assert live.tally(check.steps) == (1, 2, 4)  # passed, counted (a step not run counts), not applicable


def test_the_openrouter_shaped_server_gives_names_context_and_prices_for_its_key_only() -> None:
    import json
    import urllib.error
    import urllib.request

    server = live.OpenRouterShaped("sk-own")
    try:
        request = urllib.request.Request(server.url + "/models", headers={"Authorization": "Bearer sk-own"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            items = {item["id"]: item for item in json.loads(answer.read())["data"]}
        assert list(items) == live.OPENROUTER_MODELS
        first = items[live.OPENROUTER_MODELS[0]]
        assert (first["name"], first["context_length"], first["pricing"]["prompt"]) == ("OR Model A", 8192, "0.000001")
        wrong = urllib.request.Request(server.url + "/models", headers={"Authorization": "Bearer sk-other"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong, timeout=5)
        assert refused.value.code == 401
    finally:
        server.server.shutdown()


def test_a_menu_row_names_the_badges_its_width_cuts_off() -> None:
    row = live.Row(["alpha-one", "200K context", "Vision", "Tools"], "alpha-one 200K context Visio", "")
    assert row.clipped() == ["Vision", "Tools"]
    assert live.Row(["OR Model A", "8K context"], "OR Model A 8K context", "openrouter/or-model-a").clipped() == []
    assert str(row) == "alpha-one · 200K context · Vision · Tools"


def test_a_menu_row_names_the_badges_drawn_outside_its_box() -> None:
    """v0.7.9's rows are 2rem high: badges wrapped onto a second line overlap the next row, all text shown."""
    parts = ["OR Model A", "8K context", "Vision"]
    row = live.Row(parts, "OR Model A 8K context Vision", "", outside=["8K context", "Vision"])
    assert row.clipped() == ["8K context", "Vision"]
