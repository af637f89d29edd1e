#!/usr/bin/env python3
"""Opt-in: the patched LibreChat running for real, driven by two real users in headless Chromium.

Starts every part itself on 127.0.0.1, waits for each, and stops each by its PID at the end (also on
failure or Ctrl-C):

1. the database: nx-27017 (pinned, in the live venv) through scripts/nx27017_fixes.py;
2. the gateway: a real LiteLLM proxy without a database: scripts/litellm_keys.py is its
   ``general_settings.custom_auth`` (per-run virtual keys with different model sets; any other key
   gets 401) and every model answers with ``mock_response``, so a chat completes offline;
   plus a small OpenRouter-shaped ``/api/v1/models`` server for the endpoint whose URL the user gives;
3. LibreChat: the given patched tree, built as users build it (``npm run frontend`` when
   ``client/dist`` is missing or with ``--build``), started with ``npm run backend`` and a
   librechat.yaml with a custom endpoint ``LiteLLM`` (``apiKey: user_provided``, ``models.fetch``,
   the proxy as admin baseURL) and ``OwnURL`` (the user gives key and baseURL).

Then alice and bob, each in their own Chromium, register, log in, save keys in the key dialog, pick
models and chat; the server is asked for a chat naming the other user's model; wrong, replaced and
revoked keys; reload, log out and in, a tab hidden 5 minutes (the page's clock is moved); and the
keys are looked for in every page, response body, log line and database file. A screenshot per
step, a JSON summary, and the last line ``N/M live steps pass``.

    python3 scripts/live-check.py TREE [--shots DIR] [--json FILE] [--build]

The live venv (nx-27017, litellm[proxy], selenium, pymongo at the pins below) is created on first
use at ~/.cache/librechat-dynmodels/live-venv (``--venv`` or DYNMODELS_LIVE_VENV) and reused while
its pins match; the script re-runs itself with that venv's interpreter. Exit 0 when every step
passes, 1 when one fails or did not run, 2 when something it needs is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from checklib import (  # noqa: E402
    HIDE_TAB_JS,
    ModelMenu,
    NotReady,
    Processes,
    Shots,
    chromium,
    close_chromium,
    free_port,
    http_status,
    missing_browser,
    serve_in_thread,
    serve_json,
    wires,
)

# litellm 1.107.0 was published compromised: never that one
PINS = ("nx-27017==0.8.1", "litellm[proxy]==1.80.0", "selenium==4.36.0", "pymongo==4.20.0")
DEFAULT_VENV = Path(os.environ.get("DYNMODELS_LIVE_VENV", Path.home() / ".cache/librechat-dynmodels/live-venv"))
ENDPOINT, OWN_URL, OLLAMA = "LiteLLM", "OwnURL", "Ollama"
DEFAULTS = {ENDPOINT: ["live-default-model"], OWN_URL: ["own-default-model"], OLLAMA: ["ollama-default-model"]}
ALICE_MODELS, ALICE_NEXT, BOB_MODELS = ["alpha-one", "alpha-two"], ["alpha-three"], ["beta-one", "beta-two"]
CAROL_MODELS, CAROL_NEXT = ["gamma-one", "gamma-two"], ["gamma-three"]  # the Redis steps' user (API only)
OLLAMA_MODELS = ["llama-live:1b", "qwen-live:0.5b"]
OLLAMA_ID = "ollama"  # LibreChat's name for it once loaded (normalizeEndpointName): menu ids, key name, state
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
OPENROUTER_MODELS = ["openrouter/or-model-a", "openrouter/or-model-b"]
# what the gateway's /model/info says per deployment (config.yaml model_info), and what the menu then
# shows beside each model (issue 28): alice's and bob's keys each see their own models' entries only
LITELLM_INFO: dict[str, dict[str, Any]] = {
    "alpha-one": {
        "max_input_tokens": 200000,
        "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05,
        "supports_vision": True,
        "supports_function_calling": True,
    },
    "alpha-two": {"max_input_tokens": 32768},
    "alpha-three": {"max_input_tokens": 1000000},
    "beta-one": {"max_input_tokens": 128000, "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "supports_function_calling": True},
    "beta-two": {"max_input_tokens": 65536, "input_cost_per_token": 0, "output_cost_per_token": 0},
}
BADGES = {
    "alpha-one": ["200K context", "$3.00 / $15.00 per 1M", "Vision", "Tools"],
    "alpha-two": ["32K context"],
    "beta-one": ["128K context", "$2.50 / $10.00 per 1M", "Tools"],
    "beta-two": ["64K context"],  # configured 0/0: LiteLLM's default for no price, read as unknown
}
# the OpenRouter-shaped server's items: a name (the menu's label), a description (its tooltip), context and prices
OPENROUTER_ITEMS = {
    "openrouter/or-model-a": {"name": "OR Model A", "description": "The first OpenRouter-shaped model", "context_length": 8192,
                              "pricing": {"prompt": "0.000001", "completion": "0.000002"},
                              "architecture": {"input_modalities": ["text", "image"]}},
    "openrouter/or-model-b": {"name": "OR Model B", "context_length": 131072, "pricing": {"prompt": "0", "completion": "0"}},
}  # fmt: skip
OPENROUTER_BADGES = {"openrouter/or-model-a": ["OR Model A", "8K context", "$1.00 / $2.00 per 1M", "Vision"], "openrouter/or-model-b": ["OR Model B", "128K context", "Free"]}
NO_MENU_GLUE = "not applicable (series has no menu glue)"
# the label and badges of a model's name (arguments[0]) drawn outside its menu row's box
OUTSIDE_ROW_JS = """
const name = arguments[0];
const row = name.closest('[role="option"], [role="menuitem"], [role="menuitemradio"]') || name.parentElement;
const box = row.getBoundingClientRect();
return Array.from(name.querySelectorAll(':scope > span:first-child, :scope > span:nth-child(2) > span'))
  .filter((part) => { const r = part.getBoundingClientRect();
    return r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5 || r.left < box.left - 0.5 || r.right > box.right + 0.5; })
  .map((part) => part.textContent.trim());
"""


# ----------------------------------------------------------------------------- set-up, pure parts


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, pins: tuple[str, ...] = PINS, run: Callable[..., Any] = subprocess.run) -> Path:
    """The live venv's interpreter: reused while its marker names the same pins, else (re)created."""
    marker = venv / "dynmodels-pins.txt"
    wanted = "\n".join(pins) + "\n"
    if venv_python(venv).exists() and marker.exists() and marker.read_text() == wanted:
        return venv_python(venv)
    print(f"creating the live venv {venv} ({', '.join(pins)}); a few minutes", flush=True)
    run([sys.executable, "-m", "venv", str(venv)], check=True)
    run([str(venv_python(venv)), "-m", "pip", "install", "-q", *pins], check=True)
    marker.write_text(wanted)
    return venv_python(venv)


@dataclass(frozen=True)
class Keys:
    """This run's keys (fresh each run, so finding one anywhere means this run put it there)."""

    alice: str
    alice_next: str
    bob: str
    wrong: str
    own: str
    ollama: str
    carol: str
    carol_next: str

    @classmethod
    def fresh(cls) -> Keys:
        names = ("alice", "alice2", "bob", "wrong", "own", "ollama", "carol", "carol2")
        return cls(*(f"sk-live-{name}-{secrets.token_hex(12)}" for name in names))

    def all(self) -> list[str]:
        return [self.alice, self.alice_next, self.bob, self.wrong, self.own, self.ollama, self.carol, self.carol_next]

    def models(self) -> dict[str, list[str]]:
        """What each key reaches on the gateway (the wrong key is none of them: 401)."""
        return {
            self.alice: ALICE_MODELS,
            self.alice_next: ALICE_NEXT,
            self.bob: BOB_MODELS,
            self.carol: CAROL_MODELS,
            self.carol_next: CAROL_NEXT,
        }

    def labels(self) -> dict[str, str]:
        """A name per gateway key, which the gateway's call log writes instead of the key."""
        return {key: name for name, key in self.__dict__.items() if key in self.models()}


def mock_answer(model: str) -> str:
    return f"Mock answer from {model} via LiteLLM"


def litellm_config(models_by_key: dict[str, list[str]]) -> dict[str, Any]:
    models = sorted({model for models in models_by_key.values() for model in models} | set(DEFAULTS[ENDPOINT]))
    return {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_key": "unused",
                    "mock_response": mock_answer(model),
                    # an answer that takes as long as a real one: v0.8.7's resumable stream loses an answer
                    # that is complete before the page subscribes to it
                    "mock_delay": 1.5,
                },
                **({"model_info": LITELLM_INFO[model]} if model in LITELLM_INFO else {}),
            }
            for model in models
        ],
        "general_settings": {"custom_auth": "litellm_keys.user_api_key_auth"},
        "litellm_settings": {"telemetry": False, "drop_params": True},
    }


def knows(tree: Path, setting: str) -> bool:
    """Whether this release's config schema names a setting (newer keys are refused by older ones)."""
    schema = tree / "packages/data-provider/src/config.ts"
    return schema.exists() and setting in schema.read_text(errors="replace")


def menu_glue(tree: Path) -> bool:
    """Whether the tree's series wires the feature's menu parts into LibreChat's own components: the
    metadata badges (DynamicModelName), the refresh control (DynamicModelsRefresh) and the
    went-away notice (ModelAwayNotice)."""
    return wires(tree, "DynamicModelName", "DynamicModelsRefresh", "ModelAwayNotice")


def librechat_config(tree: Path, proxy_url: str, own_host: str, ollama_url: str | None = None) -> dict[str, Any]:
    version = "1.2.1"
    example = tree / "librechat.example.yaml"
    if example.exists():
        found = re.search(r"^version:\s*([\d.]+)", example.read_text(), re.M)
        version = found.group(1) if found else version
    endpoint = {
        "apiKey": "user_provided",
        "models": {"fetch": True},
        "titleConvo": False,
        "summarize": False,
    }
    endpoints: dict[str, Any] = {
        "custom": [
            {
                **endpoint,
                "name": ENDPOINT,
                "baseURL": proxy_url,
                "models": {"default": DEFAULTS[ENDPOINT], "fetch": True},
                "modelDisplayLabel": ENDPOINT,
            },
            {
                **endpoint,
                "name": OWN_URL,
                "baseURL": "user_provided",
                "models": {"default": DEFAULTS[OWN_URL], "fetch": True},
                "modelDisplayLabel": OWN_URL,
            },
        ]
    }
    if ollama_url:  # named Ollama: LibreChat's fetch (and the feature's) asks {origin}/api/tags first
        endpoints["custom"].append(
            {
                **endpoint,
                "name": OLLAMA,
                "baseURL": ollama_url,
                "models": {"default": DEFAULTS[OLLAMA], "fetch": True},
                "modelDisplayLabel": OLLAMA,
            }
        )
    if knows(tree, "dynamicModelsConfigShape"):  # the series validates models.metadata (else it would be dropped)
        endpoints["custom"][0]["models"]["metadata"] = "litellm"  # LiteLLM's /models answer does not name it
    if knows(tree, "allowedAddresses"):
        endpoints["allowedAddresses"] = [own_host]
    return {"version": version, "cache": True, "endpoints": endpoints}


def librechat_env(
    base: dict[str, str], mongo_uri: str, port: int, config_path: Path, own_host: str, redis_uri: str | None = None
) -> dict[str, str]:
    origin = f"http://127.0.0.1:{port}"
    redis = {"USE_REDIS": "true", "REDIS_URI": redis_uri} if redis_uri else {"USE_REDIS": "false"}
    return {
        **base,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MONGO_URI": mongo_uri,
        "DOMAIN_CLIENT": origin,
        "DOMAIN_SERVER": origin,
        "CONFIG_PATH": str(config_path),
        "CREDS_KEY": secrets.token_hex(32),
        "CREDS_IV": secrets.token_hex(16),
        "JWT_SECRET": secrets.token_hex(32),
        "JWT_REFRESH_SECRET": secrets.token_hex(32),
        "ALLOW_REGISTRATION": "true",
        "ALLOW_EMAIL_LOGIN": "true",
        "ALLOW_SOCIAL_LOGIN": "false",
        "ENDPOINTS": "custom",
        "SEARCH": "false",
        **redis,
        "DEBUG_LOGGING": "true",
        "DEBUG_CONSOLE": "true",
        "NO_INDEX": "true",
        "DYNAMIC_MODELS_ALLOWED_HOSTS": own_host,
        "BAN_VIOLATIONS": "false",
        "LIMIT_CONCURRENT_MESSAGES": "false",
        "LIMIT_MESSAGE_IP": "false",
        "LIMIT_MESSAGE_USER": "false",
        "LOGIN_MAX": "1000",
        "REGISTER_MAX": "1000",
    }


def second_instance_env(env: dict[str, str], port: int) -> dict[str, str]:
    """The second LibreChat process: the first's database, Redis and secrets (a token and a stored
    key of one instance are valid on the other), on its own port."""
    origin = f"http://127.0.0.1:{port}"
    return {**env, "PORT": str(port), "DOMAIN_CLIENT": origin, "DOMAIN_SERVER": origin}


def two_free_ports(pick: Callable[[], int] = free_port) -> tuple[int, int]:
    """Two different free ports (two processes that bind in turn may otherwise be given the same one)."""
    first = pick()
    second = pick()
    while second == first:
        second = pick()
    return first, second


def redis_argv(port: int, folder: Path) -> list[str]:
    """Debian's redis-server on 127.0.0.1 only, in the foreground (stopped by its PID), saving nothing
    by itself; SAVE writes an uncompressed dump.rdb into ``folder`` for the no-key-in-Redis step."""
    return [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--save", "",
        "--appendonly", "no",
        "--rdbcompression", "no",
        "--dir", str(folder),
        "--dbfilename", "dump.rdb",
    ]  # fmt: skip


def redis_command(port: int, *words: str, timeout: float = 5) -> str:
    """One RESP command to the Redis on 127.0.0.1:port; answers the first line of its reply."""
    import socket

    request = f"*{len(words)}\r\n" + "".join(f"${len(word.encode())}\r\n{word}\r\n" for word in words)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode(errors="replace").split("\r\n")[0]


def gateway_calls(log: Path, label: str, path_end: str = "/models") -> int:
    """How many requests with this key (by its label) the gateway saw on a path ending so."""
    if not log.exists():
        return 0
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ")
        count += len(parts) == 3 and parts[1].rstrip("/").endswith(path_end) and parts[2] == label
    return count


def release_fetches_ollama_tags(tree: Path) -> bool:
    """Whether this release's own model fetch asks an endpoint named Ollama for ``/api/tags``."""
    places = ("packages/api/src/endpoints/models.ts", "api/app/clients/OllamaClient.js", "api/server/services/ModelService.js")
    return any((tree / place).exists() and "/api/tags" in (tree / place).read_text(errors="replace") for place in places)


def find_secrets(text: str, secrets_: list[str]) -> list[str]:
    return [secret for secret in secrets_ if secret in text]


# the refresh control's spinner: kept when it shows, however briefly (a refresh on loopback is quick)
WATCH_SPINNER_JS = """
const css = arguments[0];
window.__spinner = '';
const look = () => {
  for (const el of document.querySelectorAll(css)) {
    if (el.querySelector('.animate-spin') || el.getAttribute('aria-busy') === 'true') {
      window.__spinner = window.__spinner || (el.textContent || '').trim() || 'spinner';
    }
  }
};
new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
"""


# ----------------------------------------------------------------------------- local stand-ins


class OpenRouterShaped:
    """``GET /api/v1/models`` in OpenRouter's shape (ids with pricing and context) for one key; 401 else."""

    def __init__(self, key: str) -> None:
        self.key, self.calls = key, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.calls += 1
                presented = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if not self.path.split("?")[0].rstrip("/").endswith("/models"):
                    status, body = 404, {"error": {"message": "not found"}}
                elif presented != outer.key:
                    status, body = 401, {"error": {"message": "No auth credentials found", "code": 401}}
                else:
                    status = 200
                    body = {
                        "data": [{"id": model, **OPENROUTER_ITEMS[model]} for model in OPENROUTER_MODELS]
                    }
                serve_json(self, status, json.dumps(body).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_in_thread(Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.host}/api/v1"


def ollama_answer(model: str) -> str:
    return f"Mock answer from {model} via Ollama"


class OllamaShaped:
    """Ollama's HTTP shape for one key: ``GET /api/tags`` (``models[].name``) with that key, 401 else;
    a chat on ``POST /v1/chat/completions`` (OpenAI's stream, as Ollama serves it: v0.8.x's agents)
    or ``POST /api/chat`` (Ollama's own NDJSON stream: v0.7.9's agents call it, without a key).
    ``GET /v1/models`` answers 404, so a list can only have come from ``/api/tags``. ``calls`` keeps
    ``(method, path, presented the key)`` per request."""

    def __init__(self, key: str, delay: float = 1.5) -> None:
        self.key, self.delay = key, delay
        self.calls: list[tuple[str, str, bool]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def record(self) -> bool:
                keyed = self.headers.get("Authorization", "") == f"Bearer {outer.key}"
                outer.calls.append((self.command, self.path.split("?")[0], keyed))
                return keyed

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                keyed = self.record()
                if self.path.split("?")[0] != "/api/tags":
                    serve_json(self, 404, b'{"error":"not found"}')
                elif not keyed:
                    serve_json(self, 401, b'{"error":"unauthorized"}')
                else:
                    tags = [
                        {"name": model, "model": model, "size": 1000, "digest": "0" * 64, "details": {"family": "llama"}}
                        for model in OLLAMA_MODELS
                    ]
                    serve_json(self, 200, json.dumps({"models": tags}).encode())

            def do_POST(self) -> None:  # noqa: N802
                self.record()
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                model = str(body.get("model", ""))
                path = self.path.split("?")[0]
                if model not in OLLAMA_MODELS or path not in ("/v1/chat/completions", "/api/chat"):
                    serve_json(self, 404, json.dumps({"error": f"model {model!r} not found"}).encode())
                    return
                time.sleep(outer.delay)  # as long as a real answer (see litellm_config)
                if path == "/api/chat":
                    self.ndjson(model, body.get("stream", True) is not False)
                else:
                    self.openai(model, bool(body.get("stream")))

            def ndjson(self, model: str, stream: bool) -> None:
                done = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True, "done_reason": "stop",
                        "total_duration": 1, "load_duration": 1, "prompt_eval_count": 1, "prompt_eval_duration": 1,
                        "eval_count": 1, "eval_duration": 1}  # fmt: skip
                answer = {"role": "assistant", "content": ollama_answer(model)}
                if not stream:
                    serve_json(self, 200, json.dumps({**done, "message": answer}).encode())
                    return
                lines = [{**done, "done": False, "message": answer}, {**done, "message": {"role": "assistant", "content": ""}}]
                payload = "".join(json.dumps(line) + "\n" for line in lines).encode()
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def openai(self, model: str, stream: bool) -> None:
                usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
                base = {"id": "chatcmpl-ollama", "created": 1767225600, "model": model}
                if not stream:
                    message = {"role": "assistant", "content": ollama_answer(model)}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    serve_json(self, 200, json.dumps({**base, "object": "chat.completion", "choices": [choice], "usage": usage}).encode())
                    return
                chunk = {**base, "object": "chat.completion.chunk"}
                events = [
                    {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ollama_answer(model)}, "finish_reason": None}]},
                    {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {**chunk, "choices": [], "usage": usage},
                ]
                payload = ("".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n").encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_in_thread(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def count(self, method: str, path: str) -> int:
        return sum(1 for call in self.calls if call[:2] == (method, path))


# ----------------------------------------------------------------------------- the browser side


class NetLog:
    """Every request the page made (from Chromium's performance log) and the bodies of /api/ answers."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.requests: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def drain(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message.get("method"), message.get("params", {})
            rid = params.get("requestId")
            if method == "Network.requestWillBeSent":
                request = params["request"]
                if rid not in self.requests:
                    self.order.append(rid)
                self.requests[rid] = {
                    "method": request["method"],
                    "url": request["url"],
                    "post": request.get("postData", ""),
                    "status": None,
                    "body": None,
                }
            elif method == "Network.responseReceived" and rid in self.requests:
                self.requests[rid]["status"] = params["response"]["status"]
            elif method == "Network.loadingFinished" and rid in self.requests:
                record = self.requests[rid]
                if "/api/" in record["url"] and record["body"] is None:
                    try:
                        record["body"] = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": rid})["body"]
                    except Exception:  # evicted or a stream
                        record["body"] = ""

    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        self.drain()
        return [
            self.requests[rid]
            for rid in self.order
            if self.requests[rid]["method"] == method and self.requests[rid]["url"].split("?")[0].endswith(path)
        ]


@dataclass
class User:
    name: str
    email: str
    password: str
    driver: Any
    menu: ModelMenu
    net: NetLog
    pages: list[str] = field(default_factory=list)


@dataclass
class Row:
    """A model row with metadata in the menu: its label and badges (as the page holds them), what of
    it shows (a badge clipped by the menu's width does not), its tooltip, and the parts drawn outside
    the row's own box (over the row above or below: a row of fixed height with badges wrapped)."""

    parts: list[str]
    shown: str
    title: str
    outside: list[str] = field(default_factory=list)

    def clipped(self) -> list[str]:
        return [part for part in self.parts if part not in self.shown or part in self.outside]

    def __str__(self) -> str:
        return " · ".join(self.parts) + (f" (title {self.title!r})" if self.title else "")


@dataclass
class Step:
    name: str
    status: str  # pass, FAIL, not run, not applicable
    detail: str
    shot: str = ""


class StepNotRun(Exception):
    """A step that cannot run here (says which database operation or piece fails)."""


class StepNotApplicable(Exception):
    """A step about a part the tree's series does not carry (never counted as passed nor as failed)."""


class LiveCheck:
    def __init__(self, base: str, keys: Keys, shots: Shots, processes: Processes, own: OpenRouterShaped, args: Any) -> None:
        self.base, self.keys, self.shots, self.processes, self.own, self.args = base, keys, shots, processes, own, args
        self.steps: list[Step] = []
        self.users: dict[str, User] = {}
        self.ollama: OllamaShaped | None = None
        self.second: str | None = None  # the second LibreChat process on the same Redis (--redis)
        self.redis_port: int | None = None
        self.calls_log: Path | None = None  # the gateway's call log (METHOD PATH LABEL)
        self.menu_glue = False  # the series wires badges, refresh control and went-away notice (menu_glue)
        self.chat_url: dict[str, str] = {}  # a user's conversation (its /c/ID page), from their chat step

    # -- helpers
    def user(self, name: str) -> User:
        if name not in self.users:
            driver = chromium(self.args.chromium, self.args.chromedriver, network_log=True)
            self.users[name] = User(name, f"{name}@example.com", f"pw-{name}-{secrets.token_hex(6)}", driver, ModelMenu(driver, ENDPOINT), NetLog(driver))
        return self.users[name]

    def step(self, name: str, who: User | None, action: Callable[[], tuple[bool, str]]) -> bool:
        try:
            ok, detail = action()
            status = "pass" if ok else "FAIL"
        except StepNotRun as reason:
            status, detail = "not run", str(reason)
        except StepNotApplicable as reason:
            status, detail = "not applicable", str(reason)
        except Exception as exc:  # a step that broke is a failed step, the run goes on
            status, detail = "FAIL", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        shot = ""
        if who is not None:
            try:
                shot = self.shots.take(who.driver, f"{who.name}-{name}").name
                who.net.drain()
                who.pages.append(who.driver.page_source + who.driver.execute_script("return JSON.stringify(localStorage)"))
            except Exception:
                pass
        self.steps.append(Step(name, status, detail, shot))
        print(f"{status.upper() if status != 'pass' else 'ok':8} {name}: {detail}", flush=True)
        return status == "pass"

    def settle(self, user: User, quiet: float = 1.5, timeout: float = 20) -> None:
        """Waits until the page made no request for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            user.net.drain()
            if len(user.net.order) != seen:
                seen, since = len(user.net.order), time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.25)

    def fetches(self, user: User) -> int:
        return len(user.net.calls("POST", "/api/models/fetch"))

    def last_fetch_state(self, user: User, endpoint: str) -> dict[str, Any]:
        for call in reversed(user.net.calls("POST", "/api/models/fetch")):
            try:
                return dict(json.loads(call["body"] or "{}")["dynamic"][endpoint])
            except (KeyError, ValueError, TypeError):
                continue
        return {}

    def others(self, mine: list[str]) -> list[str]:
        every = ALICE_MODELS + ALICE_NEXT + BOB_MODELS + DEFAULTS[ENDPOINT]
        return [model for model in every if model not in mine]

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        timeout: float = 30,
        base: str | None = None,
        limit: int = 4000,
    ) -> tuple[int, str]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request((base or self.base) + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        request.add_header("user-agent", BROWSER_UA)  # LibreChat's uaParser answers "Illegal request" otherwise
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(limit).decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(limit).decode(errors="replace")

    def events(self, path: str, token: str, timeout: float = 15) -> str:
        """The first events of a server-sent stream (up to its error or final event, or ``timeout``)."""
        request = urllib.request.Request(self.base + path)
        request.add_header("authorization", f"Bearer {token}")
        request.add_header("user-agent", BROWSER_UA)
        lines: list[str] = []
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                for raw in response:
                    lines.append(raw.decode(errors="replace"))
                    data = lines[-1].startswith("data:")
                    if (data and ("error" in "".join(lines[-2:]) or '"final"' in lines[-1])) or len(lines) > 50:
                        break
        except urllib.error.HTTPError as error:
            lines.append(f"HTTP {error.code}: {error.read(500).decode(errors='replace')}")
        except OSError as error:  # the stream stayed open with nothing more
            lines.append(f"({type(error).__name__})")
        return "".join(lines)

    def token(self, user: User) -> str:
        status, body = self.api("POST", "/api/auth/login", {"email": user.email, "password": user.password})
        if status != 200:
            raise RuntimeError(f"API login answered {status}: {body[:200]}")
        return str(json.loads(body)["token"])

    # -- user actions in the real UI
    def register(self, user: User) -> tuple[bool, str]:
        from selenium.webdriver.common.by import By

        user.driver.get(f"{self.base}/register")
        user.menu.wait(lambda: user.driver.find_element(By.ID, "confirm_password"), 60)
        for field_id, value in (
            ("name", user.name.title()),
            ("username", user.name),
            ("email", user.email),
            ("password", user.password),
            ("confirm_password", user.password),
        ):
            user.driver.find_element(By.ID, field_id).send_keys(value)
        user.driver.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
        calls: list[dict[str, Any]] = []
        user.menu.wait(lambda: calls.extend(user.net.calls("POST", "/api/auth/register")) or any(c["status"] for c in calls), 30)
        status = next((c["status"] for c in calls if c["status"]), None)
        return status in (200, 201), f"POST /api/auth/register answered {status}"

    def login(self, user: User) -> tuple[bool, str]:
        from selenium.webdriver.common.by import By

        user.driver.get(f"{self.base}/login")
        user.menu.wait(lambda: user.driver.find_element(By.ID, "password"), 60)
        user.driver.find_element(By.ID, "email").send_keys(user.email)
        user.driver.find_element(By.ID, "password").send_keys(user.password)
        user.driver.find_element(By.CSS_SELECTOR, '[data-testid="login-button"]').click()
        shown = user.menu.wait(lambda: DEFAULTS[ENDPOINT][0] in user.menu.button_text() or user.menu.button_text(), 60)
        self.settle(user)
        return shown, f"logged in at {user.driver.current_url}; {user.menu.describe()}"

    def select_endpoint_defaults(self, user: User) -> tuple[bool, str]:
        """The user's LiteLLM menu lists the defaults only (picking the default model there)."""
        picked = DEFAULTS[ENDPOINT][0] in user.menu.button_text() or user.menu.pick(DEFAULTS[ENDPOINT][0])
        listed = user.menu.lists(DEFAULTS[ENDPOINT], self.others(DEFAULTS[ENDPOINT]), lambda: self.shots.take(user.driver, f"{user.name}-menu"))
        return picked and listed, f"menu lists only {DEFAULTS[ENDPOINT]}: {listed}; {user.menu.describe()}"

    def save_key(self, user: User, key: str, endpoint: str = ENDPOINT, base_url: str | None = None) -> None:
        from selenium.webdriver.common.by import By

        menu = ModelMenu(user.driver, endpoint)
        menu.open_key_dialog()
        field_ = user.driver.find_element(By.CSS_SELECTOR, "input#apiKey")
        field_.clear()
        field_.send_keys(key)
        if base_url is not None:
            url_field = user.driver.find_element(By.CSS_SELECTOR, "input#baseURL")
            url_field.clear()
            url_field.send_keys(base_url)
        menu.button_with_text("Submit").click()
        self.settle(user)

    def revoke_key(self, user: User) -> None:
        from selenium.webdriver.common.by import By

        user.menu.open_key_dialog()
        user.menu.button_with_text("Revoke").click()
        revoke = '//button[normalize-space()="Revoke"]'
        # the confirmation's own button, once shown (while it animates in, the last shown is the dialog's)
        user.menu.wait(lambda: len([b for b in user.driver.find_elements(By.XPATH, revoke) if b.is_displayed()]) > 1, 5)
        time.sleep(0.5)
        user.menu.button_with_text("Revoke").click()
        self.settle(user)

    def away_notice(self, user: User) -> Any | None:
        """The went-away notice above the chat input, when shown."""
        from selenium.webdriver.common.by import By

        shown = [el for el in user.driver.find_elements(By.CSS_SELECTOR, '[data-testid="model-away-notice"]') if el.is_displayed()]
        return shown[0] if shown else None

    def follow_list(self, user: User, models: list[str], click_notice: bool = False) -> tuple[bool, str]:
        """The selected model becomes one of ``models`` once the list changed. In a new chat the
        page switches it by itself, with no went-away notice (useKeepListedModel: the key change
        took the default away, the user never chose it), also where the series has the notice
        (menu_glue): a notice there fails the step. ``click_notice`` is for an existing
        conversation whose model went away (menu_glue): nothing switches by itself, the notice
        names the model and offers a listed one, and the user's click on its "Use MODEL" selects
        it (which this does)."""
        from selenium.webdriver.common.by import By

        def selected() -> bool:
            return any(model in user.menu.button_text() for model in models)

        if not self.menu_glue:
            return user.menu.wait(selected, 20), "the page switched the selected model"
        if not click_notice:
            switched = user.menu.wait(selected, 20)
            notice = self.away_notice(user)
            if notice is not None:
                text = str(notice.text).replace("\n", " ")
                return False, f"a new chat shows the went-away notice {text!r} (selected {user.menu.button_text()!r}): the page should have switched to one of {models} by itself"
            if not switched:
                return False, f"the page did not switch the selected model to one of {models} (selected {user.menu.button_text()!r})"
            return True, "the page switched the selected model by itself, no notice, no click"
        if not user.menu.wait(lambda: self.away_notice(user) is not None, 20):
            return False, f"no went-away notice (selected {user.menu.button_text()!r})"
        notice = self.away_notice(user)
        text = str(notice.text).replace("\n", " ")
        buttons = notice.find_elements(By.TAG_NAME, "button")
        offered = str(buttons[0].text).strip().removeprefix("Use ") if buttons else ""
        if offered not in models:
            return False, f"the notice {text!r} offers {offered or 'nothing'}, not one of {models}"
        buttons[0].click()
        switched = user.menu.wait(selected, 10) and user.menu.wait(lambda: self.away_notice(user) is None, 5)
        return switched, f"the notice {text!r}; clicked 'Use {offered}': {'selected, notice gone' if switched else 'still not selected'}"

    def shows_models(self, user: User, models: list[str]) -> tuple[bool, str]:
        switched, how = self.follow_list(user, models)
        listed = user.menu.lists(models, self.others(models), lambda: self.shots.take(user.driver, f"{user.name}-menu"))
        return switched and listed, f"{how}; menu lists exactly {models}: {listed}; {user.menu.describe()}"

    def chat(self, user: User, model: str, menu: ModelMenu | None = None, answer: str | None = None) -> tuple[bool, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        menu = menu or user.menu
        if model not in menu.button_text() and not menu.pick(model):
            return False, f"could not pick {model}; {menu.describe()}"
        box = user.driver.find_element(By.CSS_SELECTOR, 'textarea[data-testid="text-input"], #prompt-textarea')
        box.send_keys(f"hello from {user.name}")
        box.send_keys(Keys.ENTER)
        answer = answer or mock_answer(model)
        got = user.menu.wait(lambda: answer in user.driver.find_element(By.TAG_NAME, "main").text, 60)
        self.settle(user)
        return got, f"picked {model}, sent a message: {'the mock answered ' + repr(answer) if got else 'no mock answer in the page'}"

    # -- the steps
    def run(self) -> None:
        alice = self.user("alice")
        self.step("alice registers", alice, lambda: self.register(alice))
        self.step("alice logs in and sees the defaults", alice, lambda: self._login_defaults(alice))
        self.step("alice saves her key: the menu shows its models without a reload", alice, lambda: self._save(alice, self.keys.alice, ALICE_MODELS))
        self.step("alice's menu: her models' context, price and badges from the gateway's /model/info", alice, lambda: self._menu_meta(alice, ALICE_MODELS, BOB_MODELS))
        self.step("alice picks a model, sends a message and gets the mock's answer", alice, lambda: self._first_chat(alice, ALICE_MODELS[1]))
        bob = self.user("bob")
        self.step("bob registers", bob, lambda: self.register(bob))
        self.step("bob logs in and sees the defaults", bob, lambda: self._login_defaults(bob))
        self.step("bob saves his key: only his models, never alice's", bob, lambda: self._save(bob, self.keys.bob, BOB_MODELS))
        self.step("bob's menu: his models' metadata from /model/info with his key, never alice's", bob, lambda: self._menu_meta(bob, BOB_MODELS, ALICE_MODELS))
        self.step("bob chats with his model", bob, lambda: self.chat(bob, BOB_MODELS[0]))
        self.step("the server refuses bob's chat naming alice's model", bob, lambda: self._refuses_other_model(bob))
        self.step("alice saves a wrong key: the defaults and the reason", alice, lambda: self._wrong_key(alice))
        self.step("alice replaces her key: the list switches", alice, lambda: self._save(alice, self.keys.alice_next, ALICE_NEXT))
        self.step("alice opens her earlier chat: the went-away notice, nothing sent, the closest model on her click", alice, lambda: self._went_away(alice))
        self.step("alice revokes her key: the defaults and a listed selected model", alice, lambda: self._revoke(alice))
        self.step("alice saves her key again after the revoke", alice, lambda: self._save(alice, self.keys.alice, ALICE_MODELS))
        self.step("reload: one refresh and the user's list", alice, lambda: self._reload(alice))
        self.step("log out and in: the user's list again", alice, lambda: self._relogin(alice))
        self.step("the menu's refresh control: spinner, one forced fetch, 'Updated just now'", alice, lambda: self._menu_refresh(alice))
        self.step("tab hidden 5 minutes: one refresh; 4 minutes: none", alice, lambda: self._hidden(alice))
        self.step("bob gives his own URL (OpenRouter-shaped) and key: its models", bob, lambda: self._own_url(bob))
        self.step("bob's own-URL menu: the OpenRouter-shaped names, context and prices", bob, lambda: self._own_url_meta(bob))
        self.step("bob saves a key for the Ollama-named endpoint: its /api/tags list", bob, lambda: self._ollama_list(bob))
        self.step("bob chats with an Ollama model", bob, lambda: self._ollama_chat(bob))
        if self.second is not None:
            self.redis_steps()
        self.step("no key in any page the users saw", None, self._no_key_in_pages)
        self.step("no key in a response body, nor in a request other than the key dialog's", None, self._no_key_on_the_wire)
        self.step("no key in a LibreChat log line", None, self._no_key_in_logs)
        self.step("no key in clear in the database", None, self._no_key_in_database)
        if self.second is not None:
            self.step("no key in clear in Redis", None, self._no_key_in_redis)

    def _login_defaults(self, user: User) -> tuple[bool, str]:
        ok, detail = self.login(user)
        if not ok:
            return ok, detail
        listed, more = self.select_endpoint_defaults(user)
        return listed, f"{detail}; {more}"

    def _save(self, user: User, key: str, models: list[str]) -> tuple[bool, str]:
        before = len(user.net.calls("PUT", "/api/keys"))
        self.save_key(user, key)
        saved = user.net.calls("PUT", "/api/keys")[before:]
        status = saved[-1]["status"] if saved else None
        ok, detail = self.shows_models(user, models)
        state = self.last_fetch_state(user, ENDPOINT)
        return ok and status in (200, 201), f"PUT /api/keys {status}; {detail}; fetch says {state}"

    def _first_chat(self, user: User, model: str) -> tuple[bool, str]:
        ok, detail = self.chat(user, model)
        if user.menu.wait(lambda: "/c/" in user.driver.current_url and not user.driver.current_url.endswith("/c/new"), 10):
            self.chat_url[user.name] = user.driver.current_url
        # a new chat, as a user starts one: this conversation keeps its model while the key changes,
        # so that opening it later shows the went-away notice (_went_away)
        user.driver.get(f"{self.base}/c/new")
        user.menu.wait(lambda: user.menu.button_text(), 60)
        self.settle(user)
        return ok, f"{detail}; conversation {self.chat_url.get(user.name, 'not saved')}; then a new chat"

    # -- issue 28's client parts: metadata badges, the refresh control, the went-away notice
    def need_menu_glue(self) -> None:
        if not self.menu_glue:
            raise StepNotApplicable(NO_MENU_GLUE)

    def rows(self, user: User, endpoint: str, models: list[str]) -> dict[str, Row]:
        """Each model's row in the endpoint's submenu that carries metadata (label and badges, what
        of them shows, its tooltip); a screenshot with the submenu open."""
        from selenium.webdriver.common.by import By

        menu = ModelMenu(user.driver, endpoint)

        def found() -> dict[str, list[Any]]:
            return {
                model: [el for el in user.driver.find_elements(By.CSS_SELECTOR, f'[data-model-id="{model}"]') if el.is_displayed()]
                for model in models
            }

        try:
            menu.show_models(models[0])
            menu.wait(lambda: all(found().values()), 10)
            rows = {
                model: Row(
                    [str(part.get_attribute("textContent") or "").strip() for part in els[-1].find_elements(By.XPATH, "./span[1] | ./span[2]/span")],
                    str(els[-1].text).replace("\n", " "),
                    str(els[-1].get_attribute("title") or ""),
                    list(user.driver.execute_script(OUTSIDE_ROW_JS, els[-1]) or []),
                )
                for model, els in found().items()
                if els
            }
            self.shots.take(user.driver, f"{user.name}-{endpoint}-badges")
        finally:
            menu.escape(2)
        return rows

    def _menu_meta(self, user: User, mine: list[str], theirs: list[str]) -> tuple[bool, str]:
        self.need_menu_glue()
        assert self.calls_log is not None
        rows = self.rows(user, ENDPOINT, mine)
        # exactly the badges of the user's own models' /model/info entries (the other user's models are not listed: shows_models)
        wrong = {model: rows[model].parts[1:] if model in rows else "no row" for model in mine if model not in rows or rows[model].parts[1:] != BADGES[model]}
        clipped = {model: row.clipped() for model, row in rows.items() if row.clipped()}
        info, lists = gateway_calls(self.calls_log, user.name, "/model/info"), gateway_calls(self.calls_log, user.name)
        ok = not wrong and not clipped and 1 <= info <= lists
        return ok, (
            f"rows {[str(row) for row in rows.values()]}; not the badges of {user.name}'s own models: {wrong or 'none'}; "
            f"cut off or outside its row: {clipped or 'none'}; gateway requests with {user.name}'s key: /model/info {info}, /models {lists}"
        )

    def _went_away(self, user: User) -> tuple[bool, str]:
        self.need_menu_glue()  # before selenium's import: the step says so without it
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        if user.name not in self.chat_url:
            raise StepNotRun(f"{user.name}'s chat was not saved (step before): no conversation to open")
        user.driver.get(self.chat_url[user.name])
        shown = user.menu.wait(lambda: self.away_notice(user) is not None, 30)
        notice = self.away_notice(user)
        text = str(notice.text).replace("\n", " ") if notice is not None else ""
        wanted = f'The model "{ALICE_MODELS[1]}" is not in your {ENDPOINT} list since your key changed.'
        chats = self.processes.log("litellm").count("POST /v1/chat/completions")
        sent_before = len(user.net.calls("POST", f"/api/agents/chat/{ENDPOINT}"))
        box = user.driver.find_element(By.CSS_SELECTOR, 'textarea[data-testid="text-input"], #prompt-textarea')
        # the page loaded anew: the input stays disabled ("Set your Key ...") until the key query answers
        if not user.menu.wait(lambda: box.is_enabled(), 30):
            return False, f"notice shown: {shown} {text!r}; the chat input stays disabled ({box.get_attribute('placeholder')!r})"
        box.send_keys("is anyone there?")
        box.send_keys(Keys.ENTER)
        time.sleep(4)  # a message the page sent reaches the server and the gateway within this
        sent = len(user.net.calls("POST", f"/api/agents/chat/{ENDPOINT}")) - sent_before
        forwarded = self.processes.log("litellm").count("POST /v1/chat/completions") - chats
        self.shots.take(user.driver, f"{user.name}-went-away-notice")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        picked, how = self.follow_list(user, ALICE_NEXT, click_notice=True)
        ok = shown and wanted in text and f"Use {ALICE_NEXT[0]}" in text and not sent and not forwarded and picked
        # back to a new chat, where the next key changes (revoke, save again) switch by themselves
        user.driver.get(f"{self.base}/c/new")
        user.menu.wait(lambda: user.menu.button_text(), 60)
        self.settle(user)
        return ok, f"notice shown: {shown} {text!r}; a message typed and Enter: {sent} chat request(s), {forwarded} to the gateway; {how}; then a new chat"

    def _menu_refresh(self, user: User) -> tuple[bool, str]:
        self.need_menu_glue()  # before selenium's import: the step says so without it
        from selenium.webdriver.common.by import By

        assert self.calls_log is not None
        css = f'[data-dynamic-models-refresh="{ENDPOINT}"]'
        before = self.last_fetch_state(user, ENDPOINT)
        fetches = len(user.net.calls("POST", "/api/models/fetch"))
        upstream = gateway_calls(self.calls_log, user.name)
        try:
            for _ in range(3):
                user.menu.show_models(ALICE_MODELS[0])
                if user.menu.wait(lambda: user.menu.settled_shown(css), 10):
                    break
                user.menu.escape(2)
            else:
                raise RuntimeError(f"the refresh control of {ENDPOINT} is not shown in the model menu")
            item = user.menu.settled_shown(css)[-1]
            label, text_before = item.get_attribute("aria-label"), str(item.text).replace("\n", " ")
            user.driver.execute_script(WATCH_SPINNER_JS, css)
            item.click()
            self.settle(user)
            item = [el for el in user.driver.find_elements(By.CSS_SELECTOR, css) if el.is_displayed()]
            text_after = str(item[-1].text).replace("\n", " ") if item else ""
            spinner = user.driver.execute_script("return window.__spinner || ''")
            self.shots.take(user.driver, f"{user.name}-refresh-control")
        finally:
            user.menu.escape(2)
        bodies = [json.loads(call["post"] or "{}") for call in user.net.calls("POST", "/api/models/fetch")[fetches:]]
        after = self.last_fetch_state(user, ENDPOINT)
        fetched = gateway_calls(self.calls_log, user.name) - upstream
        newer = int(after.get("fetchedAt") or 0) > int(before.get("fetchedAt") or 0)
        ok = bool(spinner) and bodies == [{"endpoint": ENDPOINT, "force": True}] and fetched == 1 and newer and bool(item) and "Updated just now" in text_after
        return ok, (
            f"{label!r}: {text_before!r} -> spinner {spinner!r} -> {text_after!r} (menu still open: {bool(item)}); "
            f"requests {bodies}; upstream /models fetches with {user.name}'s key: {fetched}; fetchedAt {before.get('fetchedAt')} -> {after.get('fetchedAt')}"
        )

    def _own_url_meta(self, user: User) -> tuple[bool, str]:
        self.need_menu_glue()
        rows = self.rows(user, OWN_URL, OPENROUTER_MODELS)
        wrong = {model: rows[model].parts if model in rows else "no row" for model in OPENROUTER_MODELS if model not in rows or rows[model].parts != OPENROUTER_BADGES[model]}
        first = OPENROUTER_MODELS[0]
        tooltip = rows[first].title if first in rows else ""
        described = first in tooltip and str(OPENROUTER_ITEMS[first]["description"]) in tooltip
        clipped = {model: row.clipped() for model, row in rows.items() if row.clipped()}
        return not wrong and not clipped and described, (
            f"rows {[str(row) for row in rows.values()]}; not the provider's label and badges: {wrong or 'none'}; "
            f"cut off or outside its row: {clipped or 'none'}; {first}'s tooltip names its id and description: {described}"
        )

    def _refuses_other_model(self, bob: User) -> tuple[bool, str]:
        token = self.token(bob)
        body = {
            "text": "which models may I use?",
            "sender": "User",
            "isCreatedByUser": True,
            "parentMessageId": "00000000-0000-0000-0000-000000000000",
            "conversationId": None,
            "messageId": str(uuid.uuid4()),
            "endpoint": ENDPOINT,
            "endpointType": "custom",
            "model": ALICE_MODELS[0],
            "key": "never",
        }
        chats = self.processes.log("litellm").count("POST /v1/chat/completions")
        status, answer = self.api("POST", f"/api/agents/chat/{ENDPOINT}", body, token, timeout=30)
        stream = ""
        if status == 200 and '"streamId"' in answer:  # resumable streams (v0.8.x): the outcome is on the stream
            stream_id = json.loads(answer)["streamId"]
            stream = self.events(f"/api/agents/chat/stream/{stream_id}", token)
        time.sleep(5)  # a chat the server accepted reaches the gateway within this
        forwarded = self.processes.log("litellm").count("POST /v1/chat/completions") - chats
        illegal = any(word in answer + stream for word in ("illegal_model_request", "Illegal model"))
        refused = (400 <= status < 500 or illegal) and not forwarded
        return refused, (
            f"POST /api/agents/chat/{ENDPOINT} model={ALICE_MODELS[0]} as bob -> {status} {answer[:120]!r}"
            f"{'; stream: ' + repr(stream[:200]) if stream else ''}; chat requests the server sent on to the gateway: {forwarded}"
        )

    def _wrong_key(self, user: User) -> tuple[bool, str]:
        self.save_key(user, self.keys.wrong)
        back, how = self.follow_list(user, DEFAULTS[ENDPOINT])
        listed = user.menu.lists(DEFAULTS[ENDPOINT], self.others(DEFAULTS[ENDPOINT]))
        state = self.last_fetch_state(user, ENDPOINT)
        reason = state.get("source") == "default" and state.get("error") == "unauthorized"
        return back and listed and reason, f"{how}; {user.menu.describe()}; menu lists the defaults: {listed}; fetch says {state}"

    def _revoke(self, user: User) -> tuple[bool, str]:
        self.revoke_key(user)
        back, how = self.follow_list(user, DEFAULTS[ENDPOINT])
        listed = user.menu.lists(DEFAULTS[ENDPOINT], self.others(DEFAULTS[ENDPOINT]))
        return back and listed, f"{how}; {user.menu.describe()}; menu lists the defaults: {listed}; fetch says {self.last_fetch_state(user, ENDPOINT)}"

    def _reload(self, user: User) -> tuple[bool, str]:
        self.settle(user)
        user.driver.refresh()
        user.net.order.clear()  # the old page's bodies are gone with it
        user.menu.wait(lambda: user.menu.button_text(), 60)
        self.settle(user)
        made = self.fetches(user)
        ok, detail = self.shows_models(user, ALICE_MODELS)
        return ok and made == 1, f"{made} POST /api/models/fetch after the reload; {detail}"

    def _relogin(self, user: User) -> tuple[bool, str]:
        from selenium.webdriver.common.by import By

        user.driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-user"]').click()
        log_out = '//*[(@role="menuitem" or @role="option") and contains(., "Log out")]'  # v0.8 menu, v0.7 select
        user.menu.wait(lambda: user.driver.find_element(By.XPATH, log_out), 10)
        user.driver.find_element(By.XPATH, log_out).click()
        out = user.menu.wait(lambda: "/login" in user.driver.current_url, 20)
        ok, detail = self.login(user)
        user.net.order.clear()
        self.settle(user)
        shown, more = self.shows_models(user, ALICE_MODELS)
        return out and ok and shown, f"logged out: {out}; {detail}; {more}"

    def _hidden(self, user: User) -> tuple[bool, str]:
        self.settle(user)
        user.driver.execute_script(HIDE_TAB_JS)
        figures = []
        for minutes, expected in ((5, 1), (4, 0)):
            before = self.fetches(user)
            user.driver.execute_script(f"window.__hideFor({minutes * 60 * 1000})")
            self.settle(user)
            figures.append((minutes, self.fetches(user) - before, expected))
        return all(got == want for _, got, want in figures), "; ".join(f"hidden {m} min: {got} refresh (want {want})" for m, got, want in figures)

    def _own_url(self, user: User) -> tuple[bool, str]:
        own = ModelMenu(user.driver, OWN_URL)
        before = self.own.calls
        self.save_key(user, self.keys.own, OWN_URL, self.own.url)
        listed = own.lists(OPENROUTER_MODELS, DEFAULTS[OWN_URL] + ALICE_MODELS, lambda: self.shots.take(user.driver, f"{user.name}-own-menu"))
        state = self.last_fetch_state(user, OWN_URL)
        return listed, f"{self.own.calls - before} request(s) to {self.own.url}; menu lists {OPENROUTER_MODELS}: {listed}; fetch says {state}"

    def _ollama_list(self, user: User) -> tuple[bool, str]:
        if self.ollama is None:
            raise StepNotRun("this release's model fetch does not ask an endpoint named Ollama for /api/tags")
        menu = ModelMenu(user.driver, OLLAMA_ID)
        before = len(self.ollama.calls)
        self.save_key(user, self.keys.ollama, OLLAMA_ID)
        listed = menu.lists(OLLAMA_MODELS, DEFAULTS[OLLAMA] + ALICE_MODELS + BOB_MODELS, lambda: self.shots.take(user.driver, f"{user.name}-ollama-menu"))
        calls = self.ollama.calls[before:]
        tags = [keyed for method, path, keyed in calls if (method, path) == ("GET", "/api/tags")]
        state = self.last_fetch_state(user, OLLAMA_ID)
        ok = listed and bool(tags) and all(tags) and state.get("source") == "user"
        return ok, (
            f"GET /api/tags {len(tags)} time(s), each with bob's key: {all(tags) if tags else 'no request'}; "
            f"other requests: {[f'{m} {p}' for m, p, _ in calls if p != '/api/tags'] or 'none'}; "
            f"menu lists {OLLAMA_MODELS}: {listed}; fetch says {state}"
        )

    def _ollama_chat(self, user: User) -> tuple[bool, str]:
        if self.ollama is None:
            raise StepNotRun("no Ollama-named endpoint on this release (see the step before)")
        before = len(self.ollama.calls)
        model = OLLAMA_MODELS[0]
        got, detail = self.chat(user, model, ModelMenu(user.driver, OLLAMA_ID), ollama_answer(model))
        chats = [f"{m} {p}{' with the key' if keyed else ' without a key'}" for m, p, keyed in self.ollama.calls[before:] if m == "POST"]
        return got, f"{detail}; the Ollama-shaped server got {chats or 'no chat request'}"

    # -- the Redis steps: a user of the API only, the gateway's call log as the upstream counter
    def redis_steps(self) -> None:
        carol: dict[str, str] = {}
        self.step("carol's list fetched through instance 1 is what instance 2 serves, no second fetch", None, lambda: self._redis_shared(carol))
        self.step("carol replaces her key through instance 2: instance 1 serves the new list", None, lambda: self._redis_replaced(carol))
        self.step("carol revokes her key through instance 1: instance 2 serves the defaults", None, lambda: self._redis_revoked(carol))

    def served(self, token: str, base: str) -> tuple[list[str], dict[str, Any]]:
        """The LiteLLM list and state this instance serves the user (a refresh only of lists past max-age)."""
        status, body = self.api("POST", "/api/models/fetch", {"endpoint": ENDPOINT}, token, base=base, limit=1 << 20)
        if status != 200:
            raise RuntimeError(f"POST {base}/api/models/fetch answered {status}: {body[:200]}")
        answer = json.loads(body)
        return list(answer["models"].get(ENDPOINT, [])), dict(answer["dynamic"].get(ENDPOINT, {}))

    def put_key(self, token: str, key: str, base: str) -> int:
        value = json.dumps({"apiKey": key, "baseURL": ""})  # what the key dialog sends
        status, body = self.api("PUT", "/api/keys", {"name": ENDPOINT, "value": value, "expiresAt": None}, token, base=base)
        if status not in (200, 201):
            raise RuntimeError(f"PUT {base}/api/keys answered {status}: {body[:200]}")
        return status

    def _redis_shared(self, carol: dict[str, str]) -> tuple[bool, str]:
        assert self.second is not None and self.calls_log is not None
        email, password = f"carol-{secrets.token_hex(4)}@example.com", f"pw-carol-{secrets.token_hex(6)}"
        form = {"name": "Carol", "username": "carol", "email": email, "password": password, "confirm_password": password}
        status, body = self.api("POST", "/api/auth/register", form)
        if status not in (200, 201):
            return False, f"POST /api/auth/register answered {status}: {body[:200]}"
        status, body = self.api("POST", "/api/auth/login", {"email": email, "password": password})
        if status != 200:
            return False, f"POST /api/auth/login answered {status}: {body[:200]}"
        carol["token"] = token = str(json.loads(body)["token"])
        self.put_key(token, self.keys.carol, self.base)
        first, state1 = self.served(token, self.base)
        after_first = gateway_calls(self.calls_log, "carol")
        second, state2 = self.served(token, self.second)
        status, body = self.api("GET", "/api/models", token=token, base=self.second, limit=1 << 20)
        listed = json.loads(body).get(ENDPOINT, []) if status == 200 else []
        after_second = gateway_calls(self.calls_log, "carol")
        same = first == second == listed == CAROL_MODELS and state2.get("fetchedAt") == state1.get("fetchedAt")
        return same and after_first == 1 and after_second == 1, (
            f"instance 1 serves {first} ({state1}), upstream /models fetches with carol's key: {after_first}; "
            f"instance 2 serves {second} ({state2}) and GET /api/models {listed}; fetches then: {after_second}"
        )

    def _redis_replaced(self, carol: dict[str, str]) -> tuple[bool, str]:
        assert self.second is not None and self.calls_log is not None
        if "token" not in carol:
            raise StepNotRun("carol did not log in (step before)")
        self.put_key(carol["token"], self.keys.carol_next, self.second)
        served, state = self.served(carol["token"], self.base)
        fetched = gateway_calls(self.calls_log, "carol_next")
        return served == CAROL_NEXT and fetched == 1, f"after PUT /api/keys on instance 2, instance 1 serves {served} ({state}); fetches with the new key: {fetched}"

    def _redis_revoked(self, carol: dict[str, str]) -> tuple[bool, str]:
        assert self.second is not None
        if "token" not in carol:
            raise StepNotRun("carol did not log in (first Redis step)")
        status, body = self.api("DELETE", f"/api/keys/{ENDPOINT}", token=carol["token"])
        served, state = self.served(carol["token"], self.second)
        ok = status in (200, 204) and served == DEFAULTS[ENDPOINT] and state.get("source") == "default"
        return ok, f"DELETE /api/keys/{ENDPOINT} on instance 1 -> {status}; instance 2 serves {served} ({state})"

    def _no_key_in_redis(self) -> tuple[bool, str]:
        assert self.redis_port is not None
        saved = redis_command(self.redis_port, "SAVE")
        dump = self.args.work / "redis/dump.rdb"
        raw = dump.read_bytes().decode("latin-1") if dump.exists() else ""
        keys = redis_command(self.redis_port, "DBSIZE")
        bad = find_secrets(raw, self.keys.all())
        return saved == "+OK" and bool(raw) and not bad, f"SAVE {saved}; {keys.lstrip(':')} Redis keys, dump.rdb {len(raw)} bytes read raw (uncompressed); with a key in clear: {bad or 'none'}"

    def _no_key_in_pages(self) -> tuple[bool, str]:
        found = {name: find_secrets("\n".join(user.pages), self.keys.all()) for name, user in self.users.items()}
        seen = sum(len(user.pages) for user in self.users.values())
        return not any(found.values()), f"{seen} page snapshots (DOM and localStorage) after each step; keys found: {found}"

    def _no_key_on_the_wire(self) -> tuple[bool, str]:
        bad, bodies = [], 0
        for user in self.users.values():
            user.net.drain()
            for record in user.net.requests.values():
                bodies += record["body"] is not None
                if find_secrets(record["body"] or "", self.keys.all()):
                    bad.append(f"{record['method']} {record['url']} answer")
                dialog = record["method"] == "PUT" and record["url"].split("?")[0].endswith("/api/keys")
                if not dialog and find_secrets(record["post"] + record["url"], self.keys.all()):
                    bad.append(f"{record['method']} {record['url']} request")
        requests = sum(len(user.net.requests) for user in self.users.values())
        return not bad, f"{requests} requests, {bodies} /api/ answer bodies read; with a key: {bad or 'none'}"

    def _no_key_in_logs(self) -> tuple[bool, str]:
        texts = {"npm run backend output": self.processes.log("librechat")}
        if self.second is not None:
            texts["npm run backend output, instance 2"] = self.processes.log("librechat-2")
        for path in sorted((self.args.tree / "api/logs").glob("*.log")):
            texts[str(path.relative_to(self.args.tree))] = path.read_text(errors="replace")
        bad = {name: find_secrets(text, self.keys.all()) for name, text in texts.items()}
        bad = {name: found for name, found in bad.items() if found}
        lines = sum(text.count("\n") for text in texts.values())
        return not bad, f"{lines} lines in {len(texts)} logs; with a key: {bad or 'none'}"

    def _no_key_in_database(self) -> tuple[bool, str]:
        files = [path for path in self.args.work.glob("nx/*") if path.is_file()]
        bad = [path.name for path in files if find_secrets(path.read_bytes().decode("latin-1"), self.keys.all())]
        size = sum(path.stat().st_size for path in files)
        return bool(files) and not bad, f"{len(files)} database files ({size} bytes) read raw; with a key in clear: {bad or 'none'}"


# ----------------------------------------------------------------------------- main


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="a patched, installed LibreChat tree (librechat-dynmodels apply)")
    parser.add_argument("--shots", type=Path, help="folder for the screenshots (default WORK/shots)")
    parser.add_argument("--json", type=Path, help="write the summary there too (default WORK/summary.json)")
    parser.add_argument("--work", type=Path, help="folder for logs, configs and the database (default /tmp/dynmodels-live-TAG)")
    parser.add_argument("--build", action="store_true", help="run 'npm run frontend' even when client/dist exists")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also start redis-server and a second LibreChat process (both USE_REDIS=true) and run the Redis steps",
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    return parser.parse_args(argv)


def release_of(tree: Path) -> str:
    try:
        return str(json.loads((tree / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    args.tree = args.tree.resolve()
    if not (args.tree / ".librechat-dynmodels").is_dir():
        print(f"error: {args.tree}: not patched (librechat-dynmodels apply TREE)", file=sys.stderr)
        return 2
    if not (args.tree / "node_modules").is_dir():
        print(f"error: {args.tree}: dependencies not installed (npm ci)", file=sys.stderr)
        return 2
    missing = missing_browser(args.chromium, args.chromedriver)
    if not missing and args.redis and shutil.which("redis-server") is None:
        missing = "redis-server is missing: apt-get install redis-server"
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    python = ensure_venv(args.venv)
    if Path(sys.prefix).resolve() != args.venv.resolve():
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None else argv)])

    release = release_of(args.tree)
    args.work = (args.work or Path(f"/tmp/dynmodels-live-{release}")).resolve()
    shutil.rmtree(args.work / "nx", ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    shots = Shots(args.shots or args.work / "shots")
    for old in shots.folder.glob("*.png"):
        old.unlink()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    processes = Processes(args.work / "logs")
    for old_log in processes.logs.glob("*.log") if processes.logs.exists() else []:
        old_log.unlink()
    keys = Keys.fresh()
    check: LiveCheck | None = None
    repairs: list[str] = []
    try:
        if args.build or not (args.tree / "client/dist/index.html").exists():
            print("building the client: npm run frontend (about 6 minutes or more)", flush=True)
            built = subprocess.run(["npm", "run", "frontend"], cwd=args.tree, stdout=(args.work / "frontend.log").open("wb"), stderr=subprocess.STDOUT, check=False)
            if built.returncode:
                print(f"error: npm run frontend failed: see {args.work / 'frontend.log'}", file=sys.stderr)
                return 1

        repairs = repair_agents(args.tree, args.work / "repairs.log")
        for repair in repairs:
            print(f"repaired: {repair}", flush=True)

        # 1. the database
        nx_port = free_port()
        (args.work / "nx").mkdir()
        nx_argv = [str(python), str(HERE / "nx27017_fixes.py"), "--db", str(args.work / "nx/librechat.db"), "--port", str(nx_port)]
        nx_argv += ["--log-file", str(args.work / "logs/nx-27017-own.log"), "--pid-file", str(args.work / "nx-27017.pid")]
        processes.start("nx-27017", nx_argv)
        processes.wait_ready("nx-27017", lambda: _port_open(nx_port), 60)

        # 2. the gateway and the OpenRouter-shaped server
        gateway = args.work / "litellm"
        gateway.mkdir(exist_ok=True)
        shutil.copy(HERE / "litellm_keys.py", gateway / "litellm_keys.py")
        (gateway / "config.yaml").write_text(json.dumps(litellm_config(keys.models()), indent=2))
        proxy_port = free_port()
        calls_log = args.work / "logs/litellm-calls.log"
        calls_log.unlink(missing_ok=True)
        env = {
            **os.environ,
            "DYNMODELS_LITELLM_KEYS": json.dumps(keys.models()),
            "DYNMODELS_LITELLM_LABELS": json.dumps(keys.labels()),
            "DYNMODELS_LITELLM_CALLS": str(calls_log),
            "LITELLM_TELEMETRY": "False",
            "NO_DOCS": "True",
        }
        env.pop("DATABASE_URL", None)
        processes.start("litellm", [str(args.venv / "bin/litellm"), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(proxy_port)], env=env, cwd=gateway)
        processes.wait_ready("litellm", lambda: http_status(f"http://127.0.0.1:{proxy_port}/health/liveliness") == 200, 180)
        own = OpenRouterShaped(keys.own)
        ollama = OllamaShaped(keys.ollama) if release_fetches_ollama_tags(args.tree) else None

        # 3. optionally Redis
        redis_uri = None
        if args.redis:
            redis_port = free_port()
            shutil.rmtree(args.work / "redis", ignore_errors=True)
            (args.work / "redis").mkdir()
            processes.start("redis", redis_argv(redis_port, args.work / "redis"))
            processes.wait_ready("redis", lambda: redis_command(redis_port, "PING") == "+PONG", 30)
            redis_uri = f"redis://127.0.0.1:{redis_port}"

        # 4. LibreChat (with Redis: two processes of the tree on one database and one Redis)
        lc_port, lc_port2 = two_free_ports()
        config = args.work / "librechat.yaml"
        urls = (f"http://127.0.0.1:{proxy_port}/v1", own.host, ollama.url if ollama else None)
        config.write_text(json.dumps(librechat_config(args.tree, *urls), indent=2))
        lc_env = librechat_env(dict(os.environ), f"mongodb://127.0.0.1:{nx_port}/LibreChat", lc_port, config, own.host, redis_uri)
        processes.start("librechat", ["npm", "run", "backend"], env=lc_env, cwd=args.tree)
        base = f"http://127.0.0.1:{lc_port}"
        processes.wait_ready("librechat", lambda: http_status(f"{base}/health") == 200, 240)
        second = None
        if redis_uri:  # started once the first is up: its start-up writes (roles, migrations) are done
            processes.start("librechat-2", ["npm", "run", "backend"], env=second_instance_env(lc_env, lc_port2), cwd=args.tree)
            second = f"http://127.0.0.1:{lc_port2}"
            processes.wait_ready("librechat-2", lambda: http_status(f"{second}/health") == 200, 240)
        print(
            f"{release}: nx-27017 :{nx_port}, LiteLLM :{proxy_port}, OpenRouter-shaped {own.host}, "
            f"Ollama-shaped {ollama.url if ollama else 'not run (the release does not fetch /api/tags)'}, "
            f"Redis {redis_uri or 'off'}, LibreChat {base}{' and ' + second if second else ''}",
            flush=True,
        )

        check = LiveCheck(base, keys, shots, processes, own, args)
        check.ollama, check.second, check.calls_log = ollama, second, calls_log
        check.menu_glue = menu_glue(args.tree)
        check.redis_port = redis_port if redis_uri else None
        check.run()
    except NotReady as error:
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: stopping what was started", file=sys.stderr)
    finally:
        if check is not None:
            for user in check.users.values():
                close_chromium(user.driver)
        stopped = processes.stop()
        print(f"stopped: {', '.join(stopped)}", flush=True)

    steps = check.steps if check else []
    passed, counted, skipped = tally(steps)
    summary = {
        "release": release,
        "tree": str(args.tree),
        "pins": list(PINS),
        "redis": bool(args.redis),
        "seconds": round(time.monotonic() - started),
        "install_substitutions": _substitutions(args.tree),
        "agents_repairs": repairs,
        "steps": [step.__dict__ for step in steps],
        "menu_glue": bool(check and check.menu_glue),
        "passed": passed,
        "total": counted,
        "not_applicable": skipped,
    }
    target = args.json or args.work / "summary.json"
    target.write_text(json.dumps(summary, indent=2))
    print(f"summary: {target}; screenshots: {shots.folder}")
    if skipped:
        print(f"{skipped} step(s) not applicable ({NO_MENU_GLUE.removeprefix('not applicable ')}), not counted")
    print(f"{passed}/{counted} live steps pass")
    return 0 if counted and passed == counted else 1


def tally(steps: list[Step]) -> tuple[int, int, int]:
    """Passed, counted and not-applicable steps: a step about a part the series does not carry is
    neither passed nor failed; one that did not run counts and is not passed."""
    skipped = sum(step.status == "not applicable" for step in steps)
    return sum(step.status == "pass" for step in steps), len(steps) - skipped, skipped


def repair_agents(tree: Path, log: Path) -> list[str]:
    """verify-librechat.py's mends of a registry @librechat/agents build the release cannot load."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("verify_librechat", HERE / "verify-librechat.py")
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_librechat"] = module
    spec.loader.exec_module(module)
    return list(module.repair_agents(tree, log))


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _substitutions(tree: Path) -> Any:
    try:
        return json.loads((tree / ".librechat-install.json").read_text())
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
