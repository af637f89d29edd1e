"""Pieces the opt-in check scripts share (browser-check.py, redis-instances.py, live-check.py).

- ``free_port()``: a free TCP port on 127.0.0.1;
- ``Processes``: starts each child in its own process group, waits for it to answer, and stops
  each by its PID (its group: ``npm run backend`` forks node) at the end, also on failure or Ctrl-C;
- ``chromium()``: Debian's headless chromium through selenium, in a throw-away profile;
- ``Shots``: numbered screenshots in one folder;
- ``wires()``: whether a patched tree's own files import the feature's parts named;
- ``ModelMenu``: LibreChat's model menu driven as a user does.

Standard library only at import time (selenium is imported when a browser is started), so the
default tests can load it anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


# The page's visibility and clock under the check's control: ``window.__hideFor(ms)`` hides the tab,
# moves Date.now forward by ms and shows it again (nothing waits).
HIDE_TAB_JS = """
window.__visibility = 'visible';
window.__clockOffset = 0;
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + window.__clockOffset;
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => window.__visibility });
Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__visibility === 'hidden' });
window.__hideFor = (ms) => {
  window.__visibility = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
  window.__clockOffset += ms;
  window.__visibility = 'visible';
  document.dispatchEvent(new Event('visibilitychange'));
};
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def missing_browser(chromium_path: str, chromedriver: str) -> str | None:
    """The line to print when Debian's chromium or its driver is not installed, else None."""
    for tool in (chromium_path, chromedriver):
        if not Path(tool).exists():
            return f"{tool} is missing: apt-get install chromium chromium-driver"
    return None


def serve_json(handler: Any, status: int, body: bytes) -> None:
    """Answers a ``BaseHTTPRequestHandler`` request with a JSON body."""
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve_in_thread(handler: Any) -> Any:
    """A ThreadingHTTPServer on a free 127.0.0.1 port, serving in a daemon thread."""
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class NotReady(RuntimeError):
    """A started process exited or did not answer in time."""


def http_status(url: str, timeout: float = 5) -> int | None:
    """The status of a GET (any status counts as an answer); None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return None


class Processes:
    """Children started by this script, stopped by their PID (process group) in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group, led by its PID: stop() reaches its children too
        )
        log.close()
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        process = dict(self.started)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NotReady(f"{name} exited with {process.returncode}: {self.log(name)[-1500:]}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise NotReady(f"{name} did not answer within {timeout:.0f} s: {self.log(name)[-1500:]}")

    def stop(self, grace: float = 10) -> list[str]:
        """Stops every child (SIGTERM to its group, SIGKILL after ``grace`` s); answers what was stopped."""
        stopped = []
        for name, process in reversed(self.started):
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout=grace)
            _signal_group(process.pid, signal.SIGKILL)  # a child left behind by a leader that exited
            stopped.append(f"{name} (pid {process.pid})")
        self.started.clear()
        return stopped

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wires(tree: Path, *names: str) -> bool:
    """Whether the tree's series wires each of these feature parts into LibreChat's own components:
    each imported by a client file outside the feature's own ones (its DynamicModels folder, specs,
    and the part's own file)."""
    client = tree / "client/src"
    own = {"DynamicModels", "__tests__"}
    wanted = dict.fromkeys(names, False)
    for path in client.rglob("*.ts*") if client.is_dir() else []:
        if own & set(path.relative_to(client).parts) or path.stem in wanted:
            continue
        text = path.read_text(errors="replace")
        for name in wanted:
            wanted[name] = wanted[name] or bool(re.search(rf"^import[^;]*\b{name}\b", text, re.M))
    return all(wanted.values())


def chromium(chromium_path: str = "/usr/bin/chromium", chromedriver: str = "/usr/bin/chromedriver", network_log: bool = False) -> Any:
    """A headless Chromium driven through selenium; ``driver.quit()`` then ``shutil.rmtree(driver.profile)``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dynmodels-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.profile = profile
    return driver


def close_chromium(driver: Any) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "profile", ""), ignore_errors=True)


class Shots:
    """Numbered screenshots: ``01-defaults.png``, ``02-menu.png``, ..."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken = 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, driver: Any, name: str) -> Path:
        self.taken += 1
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-")[:60]
        path = self.folder / f"{self.taken:02d}-{slug}.png"
        driver.save_screenshot(str(path))
        return path


class ModelMenu:
    """LibreChat's model menu and key dialog for one endpoint, as a user reaches them (v0.8 UI)."""

    def __init__(self, driver: Any, endpoint: str) -> None:
        self.driver, self.endpoint = driver, endpoint

    def wait(self, condition: Callable[[], Any], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return True
            except Exception:  # the page is still rendering
                pass
            time.sleep(0.2)
        return False

    def button_text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Select a model"]').text)

    def describe(self) -> str:
        try:
            return f"model button shows {self.button_text()!r}"
        except Exception as exc:  # the button is not there
            return f"no model button ({type(exc).__name__})"

    def click_js(self, css: str) -> None:
        import json

        self.driver.execute_script(f"document.querySelector({json.dumps(css)})?.click()")

    def button_with_text(self, text: str) -> Any:
        from selenium.webdriver.common.by import By

        buttons = self.driver.find_elements(By.XPATH, f'//button[normalize-space()="{text}"]')
        return [b for b in buttons if b.is_displayed()][-1]

    def escape(self, times: int = 1) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        chain = ActionChains(self.driver)
        for _ in range(times):
            chain.send_keys(Keys.ESCAPE)
        chain.perform()

    def settled(self, element: Any) -> bool:
        """Whether an element is fully shown: not fading in or out (a menu closed by the step before
        stays in the page while it fades; a hover or click on it lands on nothing)."""
        return bool(self.driver.execute_script(
            "for (let e = arguments[0]; e; e = e.parentElement) {"
            " if (e.getAnimations().some((a) => a.playState === 'running')) return false; } return true;", element))

    def settled_shown(self, css: str) -> list[Any]:
        """The elements matching ``css`` that are displayed and settled (see ``settled``)."""
        from selenium.webdriver.common.by import By

        return [el for el in self.driver.find_elements(By.CSS_SELECTOR, css) if el.is_displayed() and self.settled(el)]

    def open(self) -> None:
        """Opens the model menu (closing whatever menu or dialog is open first)."""
        from selenium.webdriver.common.by import By

        menu = f"#endpoint-{self.endpoint}-menu"
        for _ in range(3):
            if self.settled_shown(menu):
                return
            self.escape()
            self.wait(lambda: not self.driver.find_elements(By.CSS_SELECTOR, menu), 3)  # one fading out
            self.click_js('button[aria-label="Select a model"]')
            if self.wait(lambda: self.settled_shown(menu), 5):
                return
        raise RuntimeError("the model menu does not open")

    def open_key_dialog(self) -> None:
        """Opens the endpoint's key dialog from its gear in the model menu. A click that lands while
        the menu still animates (in, or out after the step before closed it) opens nothing: then the
        menu is closed and opened again, up to three times."""
        from selenium.webdriver.common.by import By

        def dialog_shown() -> bool:
            return any(field.is_displayed() for field in self.driver.find_elements(By.CSS_SELECTOR, "input#apiKey"))

        gear = f"#endpoint-{self.endpoint}-settings"
        for _ in range(3):
            if dialog_shown():
                return
            self.open()  # waits out a menu still fading from the step before
            self.wait(lambda: self.settled_shown(gear), 5)
            self.click_js(gear)
            if self.wait(dialog_shown, 8):
                return
            self.escape(2)
        raise RuntimeError(f"the key dialog of {self.endpoint} does not open from its gear in the model menu")

    def items(self, model: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        # a row with metadata may show a label instead of the id (issue 28): its data-model-id names it
        xpath = (
            '//*[(@role="option" or @role="menuitem" or @role="menuitemradio")'
            f' and (contains(normalize-space(.), "{model}") or .//*[@data-model-id="{model}"])]'
        )
        found = self.driver.find_elements(By.XPATH, xpath)
        return [item for item in found if item.get_attribute("id") != f"endpoint-{self.endpoint}-menu"]

    def show_models(self, model: str) -> None:
        """Opens the menu on the endpoint's submenu (hover, then a click when ``model`` does not show)."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By

        self.open()
        endpoint = self.driver.find_element(By.CSS_SELECTOR, f"#endpoint-{self.endpoint}-menu")
        ActionChains(self.driver).move_to_element(endpoint).perform()
        if not self.wait(lambda: self.items(model), 3):
            self.click_js(f"#endpoint-{self.endpoint}-menu")

    def lists(self, models: list[str], others: list[str], shoot: Callable[[], Any] | None = None) -> bool:
        """Whether the endpoint's submenu lists these models and none of ``others``; a failed look is False."""
        from selenium.webdriver.common.by import By

        try:
            self.show_models(models[0])
            listed = self.wait(lambda: all(self.items(model) for model in models), 10)
            absent = not any(self.items(model) for model in others if model not in models)
            if shoot:
                shoot()
            self.escape(2)
            self.wait(lambda: not self.driver.find_elements(By.CSS_SELECTOR, f"#endpoint-{self.endpoint}-menu"), 3)
            return listed and absent
        except Exception as exc:  # the menu did not render as expected: a failed step, not a crash
            print(f"     menu: {type(exc).__name__}: {exc}", flush=True)
            return False

    def pick(self, model: str) -> bool:
        """Selects a model of the endpoint through the menu."""
        try:
            self.show_models(model)
            if not self.wait(lambda: self.items(model), 10):
                return False
            self.items(model)[-1].click()
            return self.wait(lambda: model in self.button_text(), 10)
        except Exception as exc:
            print(f"     pick: {type(exc).__name__}: {exc}", flush=True)
            return False
