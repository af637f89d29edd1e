#!/usr/bin/env python3
"""Opt-in: drive the patched LibreChat client in a real browser (Debian's chromium + chromedriver).

Serves a built client (`client/dist` of a patched release tree, `npm run frontend`) beside a small
stand-in for the API the client talks to: one logged-in user, a custom endpoint `LiteLLM` with a
user-provided key and `models.fetch`, and the feature's contract (`GET /api/models`,
`POST /api/models/fetch`, `PUT/DELETE /api/keys`), where a saved key makes the user's own list
appear. Then, in headless Chromium through selenium:

  1. defaults: the model button shows `gpt-4o-mini`;
  2. key saved (through the page's own key mutation) in a new chat: the menu lists the user's
     models without a reload and the page selects the first of them by itself, with no went-away
     notice (the key change took the new chat's default away; the user never chose it);
  3. key revoked: the defaults come back, a listed model selected the same way;
  4. reload: exactly one `POST /api/models/fetch`;
  5. tab hidden 5 minutes or more, then visible: one refresh; hidden less: none (the page's clock
     is moved forward for the hidden time, nothing waits);
  6. key saved again, with metadata in the answer (issue 28): the menu shows a model's context
     window, price per 1M tokens and vision / tools badges, a label instead of the raw id (the id
     and description as its tooltip), and the refresh control says "Updated just now";
  7. the refresh control in the menu: one forced `POST /api/models/fetch` for that endpoint, the
     menu stays open; on a 429 it says when it can be tried again;
  8. the key dialog's refresh control, with the provider refusing the key: the reason is shown;
  9. models that went away (issue 28 item 5): a preset whose model the user's list lacks is
     selected from the presets menu: one notice, the model kept (no silent switch), sending
     blocked; a conversation with a saved agent whose dynamic provider no longer lists its model:
     the notice names the agent, the API's `model_not_listed` refusal in that conversation is shown
     localised, and the owner's "Use X for this agent" saves X on the agent (one PATCH). Where the
     series' chat form has no agent notice (before the native series), only the refusal's
     localised text is checked and the notice steps say "not applicable", not counted.

Screenshots of each step go to the folder given with --shots. Never part of the default tests.

    python3 scripts/browser-check.py TREE --shots /tmp/shots
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from checklib import HIDE_TAB_JS, ModelMenu, Shots, chromium, close_chromium, missing_browser, wires

DEFAULTS = ["gpt-4o-mini"]
USER_MODELS = ["alice-model-1", "alice-model-2"]
META = {
    "alice-model-1": {
        "description": "Alice's first model",
        "contextWindow": 128000,
        "inputPrice": 2.5,
        "outputPrice": 10,
        "capabilities": ["vision", "tools"],
    },
    "alice-model-2": {"label": "Alice Two", "contextWindow": 32768},
}
USER = {
    "id": "u-alice",
    "_id": "u-alice",
    "username": "alice",
    "name": "Alice",
    "email": "alice@example.com",
    "role": "USER",
    "provider": "local",
    "emailVerified": True,
    "termsAccepted": True,
    "plugins": [],
}
ENDPOINTS = {
    "LiteLLM": {
        "type": "custom",
        "userProvide": True,
        "userProvideURL": False,
        "order": 0,
        "modelDisplayLabel": "LiteLLM",
    }
}
GONE = "alice-model-gone"
PRESET = {
    "presetId": "preset-gone",
    "title": "Gone preset",
    "endpoint": "LiteLLM",
    "endpointType": "custom",
    "model": GONE,
}
AGENT = {
    "_id": "a1",
    "id": "agent_gone",
    "name": "Research",
    "provider": "LiteLLM",
    "model": GONE,
    "author": USER["id"],
    "model_parameters": {},
    "updatedAt": "2026-12-01T00:00:00.000Z",
}
AGENT_CONVO = {
    "conversationId": "convo-agent",
    "title": "With an agent",
    "endpoint": "agents",
    "agent_id": AGENT["id"],
    "createdAt": "2026-12-01T00:00:00.000Z",
    "updatedAt": "2026-12-01T00:00:00.000Z",
}
# What the agents initialization throws for it (describeAgentModelRefusal), as the error message
REFUSAL = {
    "type": "model_not_listed",
    "message": "Illegal model request",
    "model": GONE,
    "endpoint": "LiteLLM",
    "reason": "not_listed",
    "info": f"LiteLLM|{GONE}",
    "agent_id": AGENT["id"],
    "agent": AGENT["name"],
}
AGENT_MESSAGES = [
    {
        "messageId": "m-user",
        "conversationId": "convo-agent",
        "parentMessageId": "00000000-0000-0000-0000-000000000000",
        "isCreatedByUser": True,
        "sender": "User",
        "text": "Hello",
        "createdAt": "2026-12-01T00:00:00.000Z",
    },
    {
        "messageId": "m-error",
        "conversationId": "convo-agent",
        "parentMessageId": "m-user",
        "isCreatedByUser": False,
        "sender": "Research",
        "endpoint": "agents",
        "error": True,
        "text": json.dumps(REFUSAL),
        "createdAt": "2026-12-01T00:00:01.000Z",
    },
]


class StandInAPI:
    """What the stand-in knows: whether the key is saved, and every request it was asked."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.key_saved = False
        self.with_meta = False
        self.rate_limited = False
        self.key_refused = False
        self.with_preset = False
        self.with_agent = False
        self.agent = dict(AGENT)
        self.agent_patches: list[Any] = []
        self.fetch_bodies: list[Any] = []
        self.requests: list[tuple[str, str]] = []
        self.missing: set[str] = set()
        self.lock = threading.Lock()

    def models(self) -> dict[str, list[str]]:
        return {"LiteLLM": USER_MODELS if self.key_saved else DEFAULTS}

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p == path)

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path))
        if path == "/api/auth/refresh":
            return 200, {"token": "stand-in-token", "user": USER}
        if path == "/api/user":
            return 200, USER
        if path == "/api/config":
            return 200, {
                "appTitle": "LibreChat",
                "serverDomain": "",
                "emailLoginEnabled": True,
                "registrationEnabled": False,
                "socialLoginEnabled": False,
                "socialLogins": [],
                "passwordResetEnabled": False,
                "showBirthdayIcon": False,
                "helpAndFaqURL": "",
                "sharedLinksEnabled": False,
                "publicSharedLinksEnabled": False,
                "instanceProjectId": "stand-in",
                "interface": {"modelSelect": True, "parameters": True, "presets": True, "endpointsMenu": True},
            }
        if path == "/api/endpoints":
            agents = {"agents": {"order": 1, "userProvide": False, "disableBuilder": False}}
            return 200, {**ENDPOINTS, **(agents if self.with_agent else {})}
        if path == "/api/models":
            return 200, self.models()
        if path == "/api/models/fetch" and method == "POST":
            with self.lock:
                self.fetch_bodies.append(body)
            if self.rate_limited:
                return 429, {"error": "rate_limited", "retryAfter": 42}
            now = int(time.time() * 1000)
            state: dict[str, Any] = (
                {"source": "user", "fetchedAt": now}
                if self.key_saved
                else {"source": "default", "fetchedAt": None}
            )
            if self.key_refused:
                state = {"source": "default", "fetchedAt": now, "error": "unauthorized"}
            if self.with_meta and state["source"] == "user":
                state["meta"] = META
            return 200, {"models": self.models(), "dynamic": {"LiteLLM": state}}
        if path == "/api/keys" and method == "PUT":
            self.key_saved = True
            return 201, None
        if path.startswith("/api/keys") and method == "DELETE":
            self.key_saved = False
            return 204, None
        if path == "/api/keys" and method == "GET":
            return 200, {"expiresAt": "never"} if self.key_saved else {}
        if path == f"/api/convos/{AGENT_CONVO['conversationId']}" and self.with_agent:
            return 200, AGENT_CONVO
        if path == f"/api/messages/{AGENT_CONVO['conversationId']}" and self.with_agent:
            return 200, AGENT_MESSAGES
        if path == f"/api/agents/{AGENT['id']}" and method == "PATCH":
            with self.lock:
                self.agent_patches.append(body)
                self.agent = {**self.agent, **(body or {})}
            return 200, self.agent
        if path == f"/api/agents/{AGENT['id']}" and self.with_agent:
            return 200, self.agent
        if path == "/api/agents" and self.with_agent:
            return 200, {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
        if path == "/api/presets":
            return 200, [PRESET] if self.with_preset else []
        if path.startswith("/api/convos"):
            return 200, {"conversations": [], "pages": 1, "pageNumber": 1, "pageSize": 25, "nextCursor": None}
        if path in ("/api/files", "/api/prompts/groups", "/api/agents/tools"):
            return 200, []
        if path == "/api/user/terms":
            return 200, {"termsAccepted": True}
        if path == "/api/search/enable":
            return 200, False
        if path.startswith("/api/roles/"):
            agents = {"AGENTS": {"USE": True, "CREATE": True, "SHARE": False}}
            return 200, {"name": "USER", "permissions": agents if self.with_agent else {}}
        if path in ("/api/banner", "/api/balance"):
            return 200, None
        if path == "/health":
            return 200, "OK"
        self.missing.add(f"{method} {path}")
        return 404, {"message": "not in the stand-in"}


def make_handler(api: StandInAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if status not in (204, 304):
                self.wfile.write(data)

        def _handle(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if path.startswith("/api/") or path == "/health":
                body = json.loads(raw) if raw else None
                status, payload = api.answer(method, path, body)
                self._send(status, payload)
                return
            file = (api.dist / path.lstrip("/")).resolve()
            if not file.is_file() or api.dist not in file.parents:
                file = api.dist / "index.html"
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self._send(200, file.read_bytes(), kind)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


class Check:
    """One browser session against the stand-in; each step records what it saw."""

    def __init__(self, base: str, api: StandInAPI, shots: Path, chromium_path: str, chromedriver: str, agent_glue: bool = True) -> None:
        self.base, self.api = base, api
        self.agent_glue = agent_glue
        self.shots = Shots(shots)
        self.driver = chromium(chromium_path, chromedriver)
        self.menu = ModelMenu(self.driver, "LiteLLM")
        self.results: list[tuple[str, bool, str]] = []
        self.last_notice = ""

    def close(self) -> None:
        close_chromium(self.driver)

    def shot(self, name: str) -> None:
        self.shots.take(self.driver, name)

    def record(self, step: str, ok: bool, detail: str) -> None:
        self.results.append((step, ok, detail))
        self.shot(step.split(":")[0].replace(" ", "-"))
        print(f"{'ok  ' if ok else 'FAIL'} {step}: {detail}", flush=True)

    def wait(self, condition: Any, timeout: float = 20) -> bool:
        return self.menu.wait(condition, timeout)

    def model_button_text(self) -> str:
        return self.menu.button_text()

    def button_with_text(self, text: str) -> Any:
        return self.menu.button_with_text(text)

    def open_key_dialog(self) -> None:
        self.menu.open_key_dialog()

    def menu_lists(self, models: list[str]) -> bool:
        """Opens the model menu on LiteLLM and answers whether it lists these models and no other."""
        return self.menu.lists(models, DEFAULTS + USER_MODELS, lambda: self.shot("menu"))

    def fetches(self) -> int:
        return self.api.count("POST", "/api/models/fetch")

    def settle(self) -> None:
        """Waits until the page makes no request for a second."""
        last, quiet_since = len(self.api.requests), time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            time.sleep(0.1)
            if len(self.api.requests) != last:
                last, quiet_since = len(self.api.requests), time.monotonic()

    def run(self) -> bool:
        from selenium.webdriver.common.by import By

        self.driver.get(f"{self.base}/c/new")
        shown = self.wait(lambda: "gpt-4o-mini" in self.model_button_text(), 60)
        self.settle()
        self.record("defaults shown", shown and self.menu_lists(DEFAULTS), self._button())

        self.open_key_dialog()
        self.driver.find_element(By.CSS_SELECTOR, "input#apiKey").send_keys("sk-browser-check")
        self.button_with_text("Submit").click()
        switched = self.follows_list(USER_MODELS[0])
        self.settle()
        self.record(
            "key saved: menu switches without a reload, a listed model selected, no notice",
            switched and self.menu_lists(USER_MODELS),
            f"{self._button()}; notice said {self.last_notice!r}",
        )

        self.open_key_dialog()
        self.button_with_text("Revoke").click()
        self.wait(lambda: len(self.driver.find_elements(By.XPATH, '//button[normalize-space()="Revoke"]')) > 1, 5)
        self.button_with_text("Revoke").click()
        back = self.follows_list("gpt-4o-mini")
        self.settle()
        self.record(
            "key revoked: defaults, a listed model selected, no notice",
            back and self.menu_lists(DEFAULTS),
            f"{self._button()}; notice said {self.last_notice!r}",
        )

        before = self.fetches()
        self.driver.refresh()
        self.wait(lambda: "gpt-4o-mini" in self.model_button_text(), 60)
        self.settle()
        self.record("reload: one refresh", self.fetches() - before == 1, f"{self.fetches() - before} POST /api/models/fetch")

        self.driver.execute_script(HIDE_TAB_JS)
        for label, minutes, expected in (("hidden 5 min: one refresh", 5, 1), ("hidden 4 min: none", 4, 0)):
            before = self.fetches()
            self.driver.execute_script(f"window.__hideFor({minutes * 60 * 1000})")
            self.settle()
            got = self.fetches() - before
            self.record(label, got == expected, f"{got} POST /api/models/fetch")
        self.run_menu_extras()
        self.run_models_away()
        return all(ok for _, ok, _ in self.results)

    def submenu_text(self) -> str:
        from selenium.webdriver.common.by import By

        return " | ".join(
            str(el.text).replace("\n", " ")
            for el in self.driver.find_elements(By.CSS_SELECTOR, '[role="option"], [role="menuitem"]')
            if el.is_displayed()
        )

    def refresh_item(self) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, '[data-dynamic-models-refresh="LiteLLM"]')

    def run_menu_extras(self) -> None:
        """Issue 28 items 2 and 3: metadata in the menu, the refresh control in menu and key dialog."""
        from selenium.webdriver.common.by import By

        self.api.with_meta = True
        self.driver.execute_script("window.__clockOffset = 0")  # the hidden-tab steps moved the clock
        self.open_key_dialog()
        self.driver.find_element(By.CSS_SELECTOR, "input#apiKey").send_keys("sk-browser-check")
        self.button_with_text("Submit").click()
        self.follows_list(USER_MODELS[0])
        self.settle()
        self.menu.show_models(USER_MODELS[0])
        shown = self.wait(lambda: "128K context" in self.submenu_text() and "Alice Two" in self.submenu_text(), 10)
        text = self.submenu_text()
        titled = self.driver.find_elements(By.CSS_SELECTOR, '[data-model-id="alice-model-2"][title="alice-model-2"]')
        described = self.driver.find_elements(By.CSS_SELECTOR, '[data-model-id="alice-model-1"][title="Alice\'s first model"]')
        badges = all(b in text for b in ("128K context", "$2.50 / $10.00 per 1M", "Vision", "Tools", "32K context"))
        updated = "Updated just now" in text
        self.record(
            "menu metadata: context, price, badges, label, tooltip, updated",
            shown and badges and bool(titled) and bool(described) and updated,
            text[:300],
        )

        before = len(self.api.fetch_bodies)
        item = self.refresh_item()
        label = item.get_attribute("aria-label")
        item.click()
        self.settle()
        bodies = self.api.fetch_bodies[before:]
        still_open = bool(self.driver.find_elements(By.CSS_SELECTOR, '[data-dynamic-models-refresh="LiteLLM"]'))
        self.record(
            "menu refresh: one forced fetch, menu stays open, labelled",
            bodies == [{"endpoint": "LiteLLM", "force": True}] and still_open and label == "Refresh the models of LiteLLM",
            f"bodies {bodies}, open {still_open}, aria-label {label!r}",
        )

        self.api.rate_limited = True
        self.refresh_item().click()
        limited = self.wait(lambda: "try again in" in str(self.refresh_item().text), 10)
        self.record("menu refresh on 429: says when to try again", limited, str(self.refresh_item().text).replace("\n", " "))
        self.api.rate_limited = False
        self.menu.escape(3)

        self.api.key_refused = True
        self.open_key_dialog()
        button = self.driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Refresh the models of LiteLLM"]')
        button.click()
        reason = self.wait(
            lambda: "the key was refused" in str(self.driver.find_element(By.CSS_SELECTOR, '[role="dialog"] [data-dynamic-models-refresh="LiteLLM"]').text),
            10,
        )
        dialog_text = str(self.driver.find_element(By.CSS_SELECTOR, '[role="dialog"] [data-dynamic-models-refresh="LiteLLM"]').text)
        self.record("key dialog refresh: reason for the defaults", reason, dialog_text.replace("\n", " "))
        self.api.key_refused = False

    def follows_list(self, model: str) -> bool:
        """After a key change in a new chat: the page selects `model` of the new list by itself and
        shows no went-away notice (useKeepListedModel's new-chat rule; the notice is for a model the
        user chose, as in the preset step)."""
        self.last_notice = ""
        switched = self.wait(lambda: model in self.model_button_text(), 20)
        self.last_notice = self.notice_text()
        return switched and not self.last_notice

    def notice_text(self) -> str:
        from selenium.webdriver.common.by import By

        return " | ".join(
            str(el.text).replace("\n", " ")
            for el in self.driver.find_elements(By.CSS_SELECTOR, '[data-testid="model-away-notice"]')
            if el.is_displayed()
        )

    def send_disabled(self) -> bool:
        from selenium.webdriver.common.by import By

        buttons = self.driver.find_elements(By.CSS_SELECTOR, '[data-testid="send-button"]')
        return bool(buttons) and all(not b.is_enabled() for b in buttons)

    def run_models_away(self) -> None:
        """Issue 28 item 5: a preset's and an agent's model that the user's list lacks."""
        from selenium.webdriver.common.by import By

        self.menu.escape(3)
        self.api.with_preset = True
        self.driver.get(f"{self.base}/c/new")
        self.wait(lambda: USER_MODELS[0] in self.model_button_text(), 60)
        self.settle()
        self.menu.click_js('[data-testid="presets-button"]')
        # a preset row is LibreChat's Presets MenuItem: role "option" (v0.8.x), "menuitem" elsewhere
        preset_row = '//*[@role="menuitem" or @role="option"][contains(., "Gone preset")]'
        self.wait(lambda: self.driver.find_elements(By.XPATH, preset_row), 10)
        items = self.driver.find_elements(By.XPATH, preset_row)
        if items:
            self.driver.execute_script("arguments[0].click()", items[0])
        noticed = self.wait(lambda: GONE in self.notice_text(), 10)
        self.settle()
        text = self.notice_text()
        kept = GONE in self.model_button_text()
        self.record(
            "preset away: one notice, model kept, sending blocked, closest offered",
            noticed
            and kept
            and len(self.driver.find_elements(By.CSS_SELECTOR, '[data-testid="model-away-notice"]')) == 1
            and f"Use {USER_MODELS[0]}" in text
            and self.send_disabled(),
            f"{text[:200]} | {self._button()} | send disabled {self.send_disabled()}",
        )

        self.api.with_preset = False
        self.api.with_agent = True
        self.driver.get(f"{self.base}/c/{AGENT_CONVO['conversationId']}")
        noticed = self.wait(lambda: "Research" in self.notice_text(), 60)
        self.settle()
        text = self.notice_text()
        page = str(self.driver.find_element(By.TAG_NAME, "main").text) if self.driver.find_elements(By.TAG_NAME, "main") else ""
        refusal = f'Agent "Research": The model "{GONE}" is no longer listed by LiteLLM for your key.'
        if not self.agent_glue:
            # the series' chat form has no agent notice (useChatModelAway): the API's refusal still shows, localised
            self.record("agent away: the API's refusal shown localised", refusal in page, f"refusal shown {refusal in page}: {page[-300:]!r}")
            print(f"n/a  agent notice and owner's offer: {NO_AGENT_GLUE}", flush=True)
            self.api.with_agent = False
            return
        self.record(
            "agent away: notice names agent and model, refusal localised, sending blocked",
            noticed
            and GONE in text
            and f"Use {USER_MODELS[0]} for this agent" in text
            and refusal in page
            and self.send_disabled(),
            f"{text[:220]} | refusal shown {refusal in page} | send disabled {self.send_disabled()}",
        )

        before = len(self.api.agent_patches)
        use = self.driver.find_elements(By.XPATH, f'//button[normalize-space()="Use {USER_MODELS[0]} for this agent"]')
        if use:
            use[0].click()
        gone = self.wait(lambda: not self.notice_text(), 10)
        self.settle()
        patches = self.api.agent_patches[before:]
        self.record(
            "agent owner: the offer saved on the agent (one PATCH), notice gone",
            gone and len(patches) == 1 and (patches[0] or {}).get("model") == USER_MODELS[0],
            f"PATCH bodies {patches}, notice {self.notice_text()!r}",
        )
        self.api.with_agent = False

    def _button(self) -> str:
        return self.menu.describe()


NO_AGENT_GLUE = "not applicable (series has no agent glue), not counted"


def has_agent_glue(tree: Path) -> bool:
    """Whether the tree's chat form shows the went-away notice for a conversation's agent (useChatModelAway)."""
    return wires(tree, "useChatModelAway")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="a patched LibreChat tree with a built client (client/dist)")
    parser.add_argument("--shots", type=Path, required=True, help="folder for the screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    dist = (args.tree / "client" / "dist").resolve()
    if not (dist / "index.html").is_file():
        print(f"no built client at {dist}: run 'npm run frontend' in the patched tree first", file=sys.stderr)
        return 2
    missing = missing_browser(args.chromium, args.chromedriver)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("selenium is missing: pip install selenium", file=sys.stderr)
        return 2
    args.shots.mkdir(parents=True, exist_ok=True)
    api = StandInAPI(dist)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    check = Check(base, api, args.shots, args.chromium, args.chromedriver, agent_glue=has_agent_glue(args.tree))
    try:
        ok = check.run()
    finally:
        check.close()
        server.shutdown()
    if api.missing:
        print("answered 404 (not in the stand-in): " + ", ".join(sorted(api.missing)))
    print(f"{sum(ok for _, ok, _ in check.results)} of {len(check.results)} steps ok; screenshots in {args.shots}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
