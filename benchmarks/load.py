"""Load test: several gunicorn instances of one site sharing Redis, many users, faults under load.

Run:  .venv/bin/python benchmarks/load.py                 (or ``make load``)
      .venv/bin/python benchmarks/load.py --users 40 --seconds 60
      .venv/bin/python benchmarks/load.py --no-faults

Everything runs on loopback and stops by itself: a redis-server (data kept across
a restart), the mock Okta server (in this process), and ``--instances`` gunicorn
instances of ``benchmarks/load_site.py`` (``--workers`` processes each) with the
Redis token store and one ``SECRET_KEY``. Each simulated user is a thread with a
``requests.Session``: all users first sign in and out ``--burst`` times at once
(the sign-in rate), then each signs in and loads ``/protected`` and ``/public``
on a random instance, pausing about ``--think`` seconds between pages, and
signs out at the end. Access tokens are treated as ``--token-lifetime`` seconds long (the site's
refresh leeway makes them due that long after they were issued), so users
refresh all the time.

After the steady phase come the faults, while the users keep going: the
provider stalls every token request for ``--stall`` seconds (longer than
``OKTA_HTTP_TIMEOUT``) while tokens come due; then redis-server is stopped for
``--redis-down`` seconds and started again. The report gives sign-ins per second,
p50/p99 of both pages, errors, lost sessions (a signed-in user asked to sign
in again), refreshes per expiry (token requests for refreshes, over the expiries
the users lived through: 1.0 means one refresh per expiry), JWKS fetches, and,
per fault, what the users saw.

This is a report, not a test: it exits 0 unless something errors.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask_okta_client.testing import MockClient, MockOktaServer  # noqa: E402
from tests.redis_server import RedisServer, free_port  # noqa: E402

CLIENT_ID = "0oa-load-test"
CLIENT_SECRET = "load-test-client-secret-0123456789"
MOCK_ACCESS_TOKEN_LIFETIME = 3600  # what the mock server issues
TIMEOUT = 30
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Report:
    """What the users saw, by phase."""

    phase: str = "steady"
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"/protected": [], "/public": []})
    answers: Counter[tuple[str, str, int | str]] = field(default_factory=Counter)
    sign_ins: int = 0
    sign_in_seconds: float = 0.0
    lost: Counter[str] = field(default_factory=Counter)
    expiries: int = 0  # lived through by the end of the steady phase
    refreshes: int = 0  # token requests by then, sign-ins not counted
    steady_seconds: float = 0.0
    burst_seconds: float = 0.0
    jwks_fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, path: str, status: int | str, seconds: float | None) -> None:
        with self.lock:
            self.answers[self.phase, path, status] += 1
            if seconds is not None and self.phase == "steady" and status == 200:
                self.latencies[path].append(seconds)


# --------------------------------------------------------------------------- the servers


@contextmanager
def gunicorn_instances(ports: Sequence[int], workers: int, env: dict[str, str]) -> Iterator[list[str]]:
    """A gunicorn instance of the load site on each loopback port; yields their origins."""
    executable = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if executable is None:
        raise SystemExit("gunicorn is not installed: pip install -e '.[bench]'")
    processes = [
        subprocess.Popen(
            [executable, "--workers", str(workers), "--threads", "4", "--bind", f"127.0.0.1:{port}",
             "--chdir", str(HERE), "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
             "load_site:app"],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        )
        for port in ports
    ]
    origins = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for origin, process in zip(origins, processes):
            wait_until_serving(origin, process)
        yield origins
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_serving(origin: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn at {origin} exited with {process.returncode}")
        try:
            if requests.get(origin + "/public", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn at {origin} did not start")


# --------------------------------------------------------------------------- one user


class User:
    """A browser: signs in, loads pages on any instance, signs out."""

    def __init__(self, name: str, origins: Sequence[str], okta: MockOktaServer, report: Report,
                 lifetime: float) -> None:
        self.name = name
        self.origins = origins
        self.okta = okta
        self.report = report
        self.lifetime = lifetime
        self.browser = requests.Session()
        self.browser.trust_env = False
        self.browser.headers["Accept"] = "application/json"
        self.tokens: set[str] = set()
        self.signed_in_at = 0.0
        self.expiries = 0  # of sign-ins already ended

    def expiries_lived(self) -> int:
        """The access-token expiries this user's sign-ins lived through so far."""
        return self.expiries + int((time.monotonic() - self.signed_in_at) // self.lifetime)

    def sign_in(self) -> None:
        start = time.perf_counter()
        origin = random.choice(self.origins)
        login = self.browser.get(origin + "/login?next=/protected", allow_redirects=False, timeout=TIMEOUT)
        if not login.is_redirect:
            raise RuntimeError(f"/login answered {login.status_code}")
        callback = self.okta.login(urljoin(origin, login.headers["Location"]), self.name)
        answer = self.browser.get(urljoin(origin, callback), allow_redirects=False, timeout=TIMEOUT)
        if answer.status_code != 302:
            raise RuntimeError(f"the callback answered {answer.status_code}")
        with self.report.lock:
            self.report.sign_ins += 1
            self.report.sign_in_seconds += time.perf_counter() - start
        self.signed_in_at = time.monotonic()
        self.tokens.clear()

    def load(self, path: str) -> int | str:
        origin = random.choice(self.origins)
        start = time.perf_counter()
        try:
            response = self.browser.get(origin + path, allow_redirects=False, timeout=TIMEOUT)
        except requests.RequestException as exc:
            self.report.saw(path, type(exc).__name__, None)
            return type(exc).__name__
        self.report.saw(path, response.status_code, time.perf_counter() - start)
        if path == "/protected" and response.status_code == 200:
            self.tokens.add(response.json()["token"])
        return response.status_code

    def end_session(self) -> None:
        """Count the expiries this sign-in lived through."""
        self.expiries = self.expiries_lived()

    def sign_out(self) -> None:
        self.end_session()
        origin = random.choice(self.origins)
        page = self.browser.get(origin + "/logout", headers={"Accept": "text/html"}, timeout=TIMEOUT)
        found = CSRF_FIELD.search(page.text)
        if found is not None:
            self.browser.post(origin + "/logout", data={"csrf_token": found.group(1)}, allow_redirects=False,
                              timeout=TIMEOUT)

    def run(self, stop: threading.Event, think: float, burst: int, ready: threading.Barrier) -> None:
        for _ in range(burst):
            self.sign_in()
            self.sign_out()
        ready.wait()
        self.expiries = 0  # count from the steady phase on
        self.sign_in()
        while not stop.is_set():
            status = self.load("/protected")
            if status == 401:  # signed out behind the user's back
                with self.report.lock:
                    self.report.lost[self.report.phase] += 1
                self.end_session()
                self.sign_in()
            self.load("/public")
            stop.wait(think * random.uniform(0.5, 1.5))
        self.sign_out()


# --------------------------------------------------------------------------- the run


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def run(args: argparse.Namespace) -> Report:
    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="okta-load-"))
    redis = RedisServer(workdir, persist=True).start()
    okta = MockOktaServer().start()
    try:
        ports = [free_port() for _ in range(args.instances)]
        okta.add_client(MockClient(
            CLIENT_ID, CLIENT_SECRET,
            redirect_uris=[f"http://127.0.0.1:{port}/authorization-code/callback" for port in ports],
            post_logout_redirect_uris=[f"http://127.0.0.1:{port}/logout/callback" for port in ports],
        ))
        env = {
            "SECRET_KEY": secrets.token_hex(32),
            "OKTA_ISSUER": okta.issuer,
            "OKTA_CLIENT_ID": CLIENT_ID,
            "OKTA_CLIENT_SECRET": CLIENT_SECRET,
            "OKTA_SCOPES": "openid profile email offline_access",
            "OKTA_TOKEN_STORE": redis.url,
            "OKTA_USE_PAR": "never",
            # tokens come due --token-lifetime seconds after they were issued
            "OKTA_REFRESH_LEEWAY": str(MOCK_ACCESS_TOKEN_LIFETIME - int(args.token_lifetime)),
        }
        with gunicorn_instances(ports, args.workers, env) as origins:
            okta.reset()  # count only the users' traffic
            drive(args, origins, okta, redis, report)
            report.jwks_fetches = okta.count("keys")
    finally:
        okta.stop()
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def drive(args: argparse.Namespace, origins: Sequence[str], okta: MockOktaServer, redis: RedisServer,
          report: Report) -> None:
    """The users' threads through the steady phase, then each fault while they keep going."""
    stop = threading.Event()
    users = [User(f"user{i}", origins, okta, report, args.token_lifetime) for i in range(args.users)]
    failures: list[BaseException] = []

    ready = threading.Barrier(len(users) + 1, timeout=TIMEOUT * 4)

    def run_user(user: User) -> None:
        try:
            user.run(stop, args.think, args.burst, ready)
        except BaseException as exc:  # noqa: BLE001 - reported, not raised in a thread
            failures.append(exc)
            ready.abort()

    threads = [threading.Thread(target=run_user, args=(user,), daemon=True) for user in users]
    report.phase = "sign-in burst"
    started = time.monotonic()
    for thread in threads:
        thread.start()
    ready.wait()
    report.burst_seconds = time.monotonic() - started
    report.phase = "steady"
    with report.lock:
        burst_token_requests, burst_sign_ins = okta.count("token"), report.sign_ins
    started = time.monotonic()
    time.sleep(args.seconds)
    report.steady_seconds = time.monotonic() - started
    with report.lock:
        report.expiries = sum(user.expiries_lived() for user in users)
        report.refreshes = okta.count("token") - burst_token_requests - (report.sign_ins - burst_sign_ins)
    if args.faults:
        report.phase = "provider stall"
        okta.fail_next("token", status=None, delay=args.stall, times=args.users * 2)
        time.sleep(args.stall + args.token_lifetime)
        okta.clear_faults()  # the stall ends here: what follows sees Redis' faults only
        report.phase = "redis restart"
        redis.stop()
        time.sleep(args.redis_down)
        redis.start()
        report.phase = "recovery"
        time.sleep(max(args.token_lifetime * 2, 3.0))
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 3)
    if failures:
        raise RuntimeError(f"{len(failures)} users failed; the first: {failures[0]!r}") from failures[0]


def print_report(args: argparse.Namespace, report: Report) -> None:
    steady = {path: n for (phase, path, status), n in report.answers.items() if phase == "steady"}
    errors = sum(n for (phase, _, status), n in report.answers.items() if phase == "steady" and status != 200)
    print("Load test, flask_okta_client")
    print(f"setup     {args.instances} gunicorn instances x {args.workers} workers, Redis token store, mock Okta; "
          f"{args.users} users, {args.seconds:g} s steady, access tokens due after {args.token_lifetime:g} s")
    print(f"requests  {sum(report.answers.values())} in all; steady phase: "
          + ", ".join(f"{path} {n}" for path, n in sorted(steady.items())))
    burst = args.users * args.burst
    print(f"sign-ins  {burst / report.burst_seconds:.1f}/s: {args.users} users signed in and out {args.burst} times "
          f"each at once ({burst} in {report.burst_seconds:.1f} s; "
          f"{1000 * report.sign_in_seconds / max(report.sign_ins, 1):.0f} ms per sign-in on average)")
    for path in ("/protected", "/public"):
        values = report.latencies[path]
        print(f"{path:11s} p50 {percentile(values, 50):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
              f"({len(values)} answers in the steady phase)")
    print(f"errors    {errors} in the steady phase (target 0)")
    print(f"lost      {report.lost['steady']} sessions in the steady phase (target 0)")
    print(f"refreshes {report.refreshes} token requests for {report.expiries} expiries lived through in the steady "
          f"phase: {report.refreshes / max(report.expiries, 1):.2f} per expiry (target 1.0)")
    print(f"JWKS      {report.jwks_fetches} fetches ({args.instances * args.workers} worker processes, "
          "each with its own key cache)")
    for phase in ("provider stall", "redis restart", "recovery"):
        seen = Counter({(path, status): n for (p, path, status), n in report.answers.items() if p == phase})
        if seen:
            answers = ", ".join(f"{path} {status}: {n}" for (path, status), n in sorted(seen.items(), key=str))
            print(f"{phase:15s} users saw {answers}; lost sessions {report.lost[phase]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the steady phase")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--burst", type=int, default=3, help="sign-ins and sign-outs per user before the steady phase")
    parser.add_argument("--token-lifetime", type=float, default=5.0)
    parser.add_argument("--think", type=float, default=0.2, help="mean pause between a user's pages, seconds")
    parser.add_argument("--stall", type=float, default=8.0, help="how long the provider stalls token requests")
    parser.add_argument("--redis-down", type=float, default=3.0, help="how long redis-server is stopped")
    parser.add_argument("--no-faults", dest="faults", action="store_false")
    args = parser.parse_args(argv)
    print_report(args, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
