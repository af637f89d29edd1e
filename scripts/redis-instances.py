#!/usr/bin/env python3
"""Opt-in check: the per-user models feature on two API instances sharing one Redis.

Starts Debian's ``redis-server`` on a free port, a fake OpenAI-compatible provider that answers
``GET /v1/models`` after a delay and counts requests per key, and two instances of a patched,
installed LibreChat tree (``scripts/redis-instance.js``: the patched controllers and services,
``USE_REDIS=true``, the user keys kept in the same Redis). Then it checks, printing figures:

1. single flight: 20 concurrent model requests of one user, 10 on each instance, make one
   upstream fetch;
2. a key saved, replaced and revoked through one instance changes what the other serves on its
   next request;
3. the 10 s force limit: a forced refresh on one instance makes the other answer 429;
4. the 60 s negative cache: a refused key is fetched once for both instances within 60 s, and
   again after it (both clocks moved forward);
5. background refresh: lists past the 5-minute max-age (both clocks moved forward) are served at
   once by both instances while one upstream fetch refreshes them;
6. a key replaced or revoked through B while A's fetch with the old key is in flight (the
   provider's delay): both serve the new key's list (or the defaults) next, and nothing in Redis
   holds the old key's list;
7. the same while A's read of the old key is in flight (the key store held for the provider's
   delay, as a slow database): A must not write the old key's index and list after B's change;
8. a key changed without an invalidation reaching the cache: the first background refresh (both
   clocks moved past the 5-minute max-age) drops the old key's list, and both serve the new one.

    python3 scripts/redis-instances.py /path/to/patched/LibreChat [--delay 1.0]

Exit code 0 when every check passes, 1 when one fails, 2 when something it needs is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from checklib import NotReady, Processes, free_port, serve_in_thread, serve_json

HERE = Path(__file__).resolve().parent
BAD_KEY = "sk-refused"


class Provider:
    """GET /v1/models answers the models of the presented key after ``delay`` seconds; 401 for BAD_KEY."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls: dict[str, int] = {}
        self.version = 1
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with provider.lock:
                    provider.calls[key] = provider.calls.get(key, 0) + 1
                time.sleep(provider.delay)
                if key == BAD_KEY:
                    body, status = b'{"error":"invalid key"}', 401
                else:
                    ids = [f"{key}-v{provider.version}-{n}" for n in (1, 2)]
                    body, status = json.dumps({"data": [{"id": i} for i in ids]}).encode(), 200
                serve_json(self, status, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_in_thread(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def count(self, key: str) -> int:
        with self.lock:
            return self.calls.get(key, 0)


class Instance:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.base = name, f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stored(self, text: str) -> int:
        """How many values in Redis contain ``text``."""
        return int(self.call("GET", f"/stored?text={text}")[1]["count"])

    def models(self, user: str) -> list[str]:
        status, body = self.call("GET", f"/models?user={user}")
        if status != 200:
            raise RuntimeError(f"{self.name}: /models answered {status}: {body}")
        return list(body["models"])


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, label: str, ok: bool, figures: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {figures}")
        self.failed += not ok


def run_checks(a: Instance, b: Instance, provider: Provider, both_clocks: Any) -> int:
    checks = Checks()
    list_of = lambda key: [f"{key}-v{provider.version}-1", f"{key}-v{provider.version}-2"]  # noqa: E731

    # 1. single flight across instances
    a.call("PUT", "/key?user=alice&key=sk-alice")
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: (a, b)[i % 2].models("alice"), range(20)))
    elapsed = time.monotonic() - started
    fetches = provider.count("sk-alice")
    checks.check(
        "single flight",
        fetches == 1 and all(x == list_of("sk-alice") for x in answers),
        f"20 concurrent requests (10 per instance) -> {fetches} upstream fetch, "
        f"{sum(x == list_of('sk-alice') for x in answers)}/20 got the user's list, {elapsed:.2f} s",
    )

    # 2. a key saved or revoked through one instance, served by the other
    b.models("bob")  # bob has no key: the defaults, cached as such on both
    a.call("PUT", "/key?user=bob&key=sk-bob")
    saved = b.models("bob")
    a.call("PUT", "/key?user=bob&key=sk-bob-2")
    replaced = b.models("bob")
    a.call("DELETE", "/key?user=bob")
    revoked = b.models("bob")
    checks.check(
        "key changes across instances",
        saved == list_of("sk-bob") and replaced == list_of("sk-bob-2") and revoked == ["default-model"],
        f"saved on A -> B serves {saved}; replaced -> {replaced}; revoked -> {revoked}",
    )

    # 3. the force limit across instances
    first, _ = a.call("POST", "/fetch?user=alice&force=1")
    second, body = b.call("POST", "/fetch?user=alice&force=1")
    retry = body.get("retryAfter") if isinstance(body, dict) else None
    checks.check(
        "force limit across instances",
        first == 200 and second == 429 and isinstance(retry, int) and 0 < retry <= 10,
        f"forced on A -> {first}; forced on B right after -> {second}, retryAfter {retry} s",
    )

    # 4. the negative cache across instances
    a.call("PUT", f"/key?user=carol&key={BAD_KEY}")
    a.models("carol")
    b.models("carol")
    a.models("carol")
    within = provider.count(BAD_KEY)
    both_clocks(61_000)
    b.models("carol")
    after = provider.count(BAD_KEY)
    checks.check(
        "60 s negative cache across instances",
        within == 1 and after == 2,
        f"refused key asked by A, B, A -> {within} upstream fetch; 61 s later on B -> {after - within} more",
    )

    # 5. background refresh across instances
    provider.version = 2
    before = provider.count("sk-alice")
    both_clocks(6 * 60_000)
    timings: list[float] = []

    def timed(instance: Instance) -> list[str]:
        t0 = time.monotonic()
        result = instance.models("alice")
        timings.append(time.monotonic() - t0)
        return result

    with ThreadPoolExecutor(20) as pool:
        stale = list(pool.map(lambda i: timed((a, b)[i % 2]), range(20)))
    time.sleep(provider.delay * 2 + 1)
    refreshed = [a.models("alice"), b.models("alice")]
    made = provider.count("sk-alice") - before
    worst = max(timings)
    checks.check(
        "background refresh across instances",
        made == 1 and worst < provider.delay and all(x == list_of("sk-alice") for x in refreshed),
        f"20 requests on lists 6 minutes old: slowest {worst * 1000:.0f} ms (provider {provider.delay * 1000:.0f} ms),"
        f" {sum(x != list_of('sk-alice') for x in stale)}/20 served the previous list at once; "
        f"{made} upstream fetch; both serve the refreshed list after: {refreshed == [list_of('sk-alice')] * 2}",
    )

    # 6 and 7. a key replaced or revoked through B while A fetches with the old one, or reads it
    def change_while_a_works(user: str, change: str, hold_key: bool) -> tuple[bool, str]:
        old, new = f"sk-{user}", f"sk-{user}-2"
        a.call("PUT", f"/key?user={user}&key={old}")
        if hold_key:
            a.call("POST", f"/hold-key?user={user}&ms={int(provider.delay * 1000)}")
        with ThreadPoolExecutor(1) as pool:
            on_a = pool.submit(a.models, user)
            time.sleep(provider.delay / 2)
            if change == "replaced":
                b.call("PUT", f"/key?user={user}&key={new}")
            else:
                b.call("DELETE", f"/key?user={user}")
            first = on_a.result()
        expected = list_of(new) if change == "replaced" else ["default-model"]
        after = [b.models(user), a.models(user)]
        kept = a.stored(f"{old}-v")
        ok = after == [expected, expected] and kept == 0
        figures = f"{change}: A's request answered {first}, then B {after[0]}, A {after[1]}"
        return ok, f"{figures}, {kept} values in Redis hold the old key's list"

    for label, hold_key, users in (
        ("key change on B while A's fetch is in flight", False, ("dave", "erin")),
        ("key change on B while A reads the old key", True, ("fred", "gina")),
    ):
        outcomes = [
            change_while_a_works(users[0], "replaced", hold_key),
            change_while_a_works(users[1], "revoked", hold_key),
        ]
        checks.check(label, all(ok for ok, _ in outcomes), "; ".join(figures for _, figures in outcomes))

    # 8. the background refresh drops a list whose key is no longer the user's
    a.call("PUT", "/key?user=hugo&key=sk-hugo")
    listed = a.models("hugo")
    b.call("PUT", "/key?user=hugo&key=sk-hugo-2&invalidate=0")
    unchanged = b.models("hugo")
    both_clocks(6 * 60_000)
    stale = b.models("hugo")
    time.sleep(1)
    after = [a.models("hugo"), b.models("hugo")]
    checks.check(
        "background refresh drops a replaced key's list",
        listed == unchanged == stale == list_of("sk-hugo") and after == [list_of("sk-hugo-2")] * 2,
        f"key replaced without an invalidation: {unchanged} served within the max-age; 6 minutes later"
        f" {stale} once, then A {after[0]}, B {after[1]}",
    )
    return checks.failed


CHECKS = 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="a patched, installed LibreChat tree")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the provider takes to answer")
    parser.add_argument("--redis-server", default=shutil.which("redis-server"))
    args = parser.parse_args()
    tree = args.tree.resolve()
    if not args.redis_server:
        print("error: redis-server not found (apt-get install redis-server)", file=sys.stderr)
        return 2
    if not (tree / "api/server/services/Config/userModels.js").exists():
        print(f"error: {tree}: not a patched LibreChat tree (librechat-dynmodels apply)", file=sys.stderr)
        return 2
    if not (tree / "node_modules/ioredis").exists():
        print(f"error: {tree}: dependencies not installed (npm ci)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="dynmodels-redis-"))
    processes = Processes(work)
    try:
        redis_port = free_port()
        processes.start(
            "redis-server",
            [
                args.redis_server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(work),
            ],
        )
        provider = Provider(args.delay)
        env = {**os.environ, "USE_REDIS": "true", "REDIS_URI": f"redis://127.0.0.1:{redis_port}"}
        # the user keys are encrypted by one instance and read by the other: one pair for both (v0.7.x
        # reads these when its crypto module loads)
        env.setdefault("CREDS_KEY", secrets.token_hex(32))
        env.setdefault("CREDS_IV", secrets.token_hex(16))
        instances = []
        for name in ("A", "B"):
            port = free_port()
            processes.start(f"instance-{name}", ["node", str(HERE / "redis-instance.js"), str(tree), str(port), provider.url], env=env)
            instance = Instance(name, port)
            processes.wait_ready(f"instance-{name}", lambda: instance.call("GET", "/ready")[0] == 200, 120)
            instances.append(instance)
        a, b = instances
        print(f"redis-server :{redis_port}, provider {provider.url} ({args.delay:.1f} s), instances A and B ready")

        def both_clocks(offset_ms: int) -> None:
            for instance in instances:
                instance.call("POST", f"/clock?offset={offset_ms}")

        failed = run_checks(a, b, provider, both_clocks)
        print(f"{CHECKS - failed} of {CHECKS} checks pass")
        return 1 if failed else 0
    except (RuntimeError, NotReady) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        processes.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
