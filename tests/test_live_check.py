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
