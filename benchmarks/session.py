"""Per-request cost of a signed-in browser session, as a ratio to Flask-Login's.

Run:  .venv/bin/python benchmarks/session.py             (or ``make bench``)
      .venv/bin/python benchmarks/session.py --scale 0.3 (shorter run, noisier)
      .venv/bin/python benchmarks/session.py --profile   (adds a cProfile of our protected view, cookie store)

The same two views run under Flask-Login and under this extension, in one
process, through Flask's test client, for a browser that is signed in:

- ``/protected``: ``@login_required``, returns the user's name;
- ``/plain``: undecorated, does not read the user.

With Redis, a third Flask-Login view, ``/protected-get``, adds one raw GET of a
3 KB value to its protected view: what any store with one round trip must at
least cost. Our Redis store keeps a copy of the sealed entry in the process
(invalidated by Redis when the entry changes), so its repeated requests make no
round trip; the last row is the same Redis store with those copies turned off
(``OKTA_TOKEN_STORE_CACHE=false``), one GET per request.

Flask-Login: ``login_user`` once, its ``login_required``, a ``user_loader``
returning an object from a dict, its default session protection. Ours: the
cookie store, and the Redis store against a redis-server started on loopback
(skipped if redis-server is not installed). Our sign-in has Okta-sized tokens:
a 1.6 KB access token and a 1.8 KB ID token with a 20-group claim (RS256-sized
signatures; the tokens are never verified after sign-in, as in real use).

Timing: rounds of interleaved calls; call i of a round runs every (stack, view)
pair once, in a rotating order, each timed on its own with ``perf_counter_ns``.
A round keeps each pair's median; its ratio is ours / Flask-Login's for the
same view in that round. The table gives the median over rounds and the
min..max of the per-round ratios. The GC is paused inside rounds.

This is a report, not a test: it exits 0 unless something errors.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gc
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # the package when not pip-installed, and the tests' redis-server helper

SECRET_KEY = "bench-not-secret-0123456789abcdefghij"
ISSUER = "https://bench.okta.example/oauth2/default"
TARGETS = {"protected": {"cookie": 1.10, "redis": 1.25}, "plain": {"cookie": 1.10, "redis": 1.10}}
ACCESS_TOKEN_SIZE, ID_TOKEN_SIZE = 1600, 1800


# --------------------------------------------------------------------------- tokens


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_of_size(claims: dict[str, Any], size: int) -> str:
    """A JWT shaped like Okta's (RS256 header, 2048-bit signature), padded with a random claim to
    ``size`` bytes (within the 4-character steps of base64)."""
    header = b64url(json.dumps({"kid": "k1", "alg": "RS256"}).encode())
    signature = b64url(secrets.token_bytes(256))
    claims = {**claims, "pad": ""}
    while True:
        token = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
        missing = size - len(token)
        if missing < 4:
            return token
        claims["pad"] += secrets.token_hex(missing)[:missing * 3 // 4]


def okta_sized_sign_in() -> Any:
    from flask_okta_client.sessions.storage import SignedInUser

    now = int(time.time())
    groups = [f"Engineering-Team-{secrets.token_hex(3)}" for _ in range(20)]
    base = {"ver": 1, "iss": ISSUER, "iat": now, "exp": now + 3600, "jti": "AT." + secrets.token_urlsafe(40)}
    access_token = jwt_of_size({**base, "aud": "api://default", "cid": "0oa1b2c3d4e5f6g7h8i9",
                                "uid": "00u1b2c3d4e5f6g7h8i9", "sub": "alice.smith@example.com",
                                "scp": ["openid", "profile", "email", "offline_access"]}, ACCESS_TOKEN_SIZE)
    id_token = jwt_of_size({**base, "aud": "0oa1b2c3d4e5f6g7h8i9", "sub": "00u1b2c3d4e5f6g7h8i9",
                            "name": "Alice Smith", "email": "alice.smith@example.com", "auth_time": now,
                            "amr": ["pwd", "mfa"], "groups": groups}, ID_TOKEN_SIZE)
    return SignedInUser(id_token=id_token, access_token=access_token, refresh_token=secrets.token_urlsafe(32),
                        expires_at=now + 24 * 3600, scope="openid profile email offline_access")


# --------------------------------------------------------------------------- the apps


def flask_login_app(redis_url: str | None = None) -> Any:
    """Flask-Login's views; with ``redis_url``, also ``/protected-get``: its protected view plus one
    raw Redis GET of a 3 KB value (the one round trip a server-side store cannot avoid)."""
    import flask_login
    from flask import Flask

    app = Flask("bench_flask_login")
    app.config["SECRET_KEY"] = SECRET_KEY
    manager = flask_login.LoginManager(app)

    class Account(flask_login.UserMixin):
        def __init__(self, user_id: str, name: str) -> None:
            self.id, self.name = user_id, name

    accounts = {"00u1b2c3d4e5f6g7h8i9": {"name": "Alice Smith"}}

    @manager.user_loader
    def load(user_id: str) -> Account | None:
        data = accounts.get(user_id)
        return Account(user_id, data["name"]) if data else None

    @app.get("/sign-in")
    def sign_in() -> str:
        flask_login.login_user(Account("00u1b2c3d4e5f6g7h8i9", "Alice Smith"))
        return "signed in"

    @app.get("/protected")
    @flask_login.login_required
    def protected() -> str:
        return f"hello {flask_login.current_user.name}"

    @app.get("/plain")
    def plain() -> str:
        return "plain page"

    if redis_url is not None:
        import redis

        server = redis.Redis.from_url(redis_url)
        server.set("bench:entry", secrets.token_urlsafe(2100))

        @app.get("/protected-get")
        @flask_login.login_required
        def protected_get() -> str:
            server.get("bench:entry")
            return f"hello {flask_login.current_user.name}"

    return app


def okta_app(token_store: str, copies: bool = True) -> Any:
    from flask import Flask

    from flask_okta_client import OktaClient, current_user, login_required

    app = Flask(f"bench_okta_{token_store.split(':')[0]}")
    app.config.update(SECRET_KEY=SECRET_KEY, OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID="0oa1b2c3d4e5f6g7h8i9",
                      OKTA_TOKEN_STORE=token_store, OKTA_TOKEN_STORE_CACHE=copies)
    OktaClient(app)

    @app.get("/protected")
    @login_required
    def protected() -> str:
        return f"hello {current_user.name}"

    @app.get("/plain")
    def plain() -> str:
        return "plain page"

    return app


def signed_in_client(app: Any, sign_in: Callable[[Any], None]) -> Any:
    client = app.test_client()
    sign_in(client)
    response = client.get("/protected")
    if response.status_code != 200 or not response.get_data(as_text=True).startswith("hello Alice"):
        raise RuntimeError(f"{app.name}: not signed in ({response.status_code})")
    return client


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port (the tests' helper); ``None`` if it is not installed."""
    if shutil.which("redis-server") is None:
        yield None
        return
    from tests.redis_server import RedisServer

    with tempfile.TemporaryDirectory(prefix="okta-bench-redis-") as workdir:
        server = RedisServer(Path(workdir)).start()
        try:
            yield server.url
        finally:
            server.stop()


def wait_for_copies(app: Any) -> None:
    """Until the Redis store's invalidation listener (started by the first request) tracks."""
    deadline = time.monotonic() + 10
    while not app.extensions["okta"].store.copies.live:
        if time.monotonic() > deadline:
            raise RuntimeError("the Redis store's invalidation listener did not start")
        time.sleep(0.01)


# --------------------------------------------------------------------------- timing


def request_fn(client: Any, path: str) -> Callable[[], None]:
    get = client.get

    def call() -> None:
        response = get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")

    return call


def interleaved_rounds(calls: dict[str, Callable[[], None]], rounds: int, block: int) -> dict[str, list[float]]:
    """Per round, each call's median µs; the calls interleaved one by one in a rotating order."""
    names = list(calls)
    medians: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for _ in range(rounds):
        samples: dict[str, list[int]] = {name: [] for name in names}
        gc.collect()
        gc.disable()
        try:
            for i in range(block):
                shift = i % len(names)
                for name in names[shift:] + names[:shift]:
                    call = calls[name]
                    start = clock()
                    call()
                    samples[name].append(clock() - start)
        finally:
            gc.enable()
        for name in names:
            medians[name].append(statistics.median(samples[name]) / 1000.0)
    return medians


def ratio_rows(medians: dict[str, list[float]], stores: Sequence[str]) -> list[tuple[str, list[float], float]]:
    """(label, per-round ratios, target) of each of our (store, view) against Flask-Login's view."""
    rows = []
    for view in ("protected", "plain"):
        baseline = medians[f"flask-login {view}"]
        for store in stores:
            ours = medians[f"{store} {view}"]
            ratios = [o / b for o, b in zip(ours, baseline)]
            rows.append((f"{view}, {store} store", ratios, TARGETS[view][store]))
    if "redis protected" in medians:
        floor = medians["flask-login protected + one GET"]
        rows.append(("protected, redis vs FL + one GET", [o / f for o, f in zip(medians["redis protected"], floor)],
                     None))
        baseline = medians["flask-login protected"]
        rows.append(("protected, redis, copies off", [o / b for o, b in
                                                      zip(medians["redis protected, copies off"], baseline)], None))
    return rows


def versions() -> str:
    names = ("flask", "flask-login", "werkzeug", "cryptography", "redis")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def report(medians: dict[str, list[float]], stores: Sequence[str], rounds: int, block: int) -> None:
    print(f"{datetime.date.today()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"CPython {platform.python_version()}; {versions()}")
    print(f"{rounds} rounds x {block} interleaved calls per (stack, view)\n")
    print(f"{'median µs per request':<34}{'median':>10}{'min..max of rounds':>22}")
    for name, values in medians.items():
        print(f"  {name:<32}{statistics.median(values):>10.1f}{min(values):>11.1f}..{max(values):<10.1f}")
    print(f"\n{'ours / Flask-Login, same view':<34}{'median':>10}{'min..max':>14}{'target':>10}")
    for label, ratios, target in ratio_rows(medians, stores):
        verdict = "" if target is None else "PASS" if statistics.median(ratios) <= target else "MISS"
        goal = "" if target is None else f"<= {target:.2f}x"
        print(f"  {label:<32}{statistics.median(ratios):>9.2f}x{min(ratios):>8.2f}..{max(ratios):<5.2f}"
              f"{goal:>10}  {verdict}")


def profile(client: Any, calls: int) -> None:
    import cProfile
    import pstats

    call = request_fn(client, "/protected")
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [call() for _ in range(calls)])
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every iteration count (default 1)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of our protected view")
    args = parser.parse_args(argv)
    scale = max(args.scale, 0.02)
    rounds, block = max(3, int(15 * scale)), max(20, int(300 * scale))

    from flask_okta_client.testing.tokens import store_sign_in

    stored = okta_sized_sign_in()
    with redis_server() as redis_url:
        flask_login_client = signed_in_client(flask_login_app(redis_url), lambda client: client.get("/sign-in"))
        clients = {"flask-login": flask_login_client,
                   "cookie": signed_in_client(okta_app("session"), lambda client: store_sign_in(client, stored))}
        if redis_url is not None:
            redis_app = okta_app(redis_url)
            clients["redis"] = signed_in_client(redis_app, lambda client: store_sign_in(client, stored))
            wait_for_copies(redis_app)
            uncached = signed_in_client(okta_app(redis_url, copies=False), lambda client: store_sign_in(client, stored))
        else:
            print("redis-server is not installed: no Redis rows\n")
        calls = {f"{stack} {view}": request_fn(client, f"/{view}")
                 for stack, client in clients.items() for view in ("protected", "plain")}
        if redis_url is not None:
            calls["flask-login protected + one GET"] = request_fn(flask_login_client, "/protected-get")
            calls["redis protected, copies off"] = request_fn(uncached, "/protected")
        for call in calls.values():  # warm every path
            for _ in range(20):
                call()
        medians = interleaved_rounds(calls, rounds, block)
        if redis_url is not None:
            redis_app.extensions["okta"].store.close()  # before redis-server stops
        report(medians, [store for store in ("cookie", "redis") if store in clients], rounds, block)
        if args.profile:
            profile(clients["cookie"], max(200, block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
