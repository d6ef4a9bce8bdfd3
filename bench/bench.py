"""bench/run's engine: our provider side by side with django-centralauth 2.0 under the same load.

Run through bench/run, which builds what this needs and calls it with tests/interop/.venv's
Python. It starts, one after the other on 127.0.0.1: a bare axum handler (the machine's limit),
the original provider (tests/interop/provider_project under gunicorn, 2 sync workers, SQLite), and
ours on each backend asked for; seeds each the same way (tests/interop/providers.py), measures
every scenario with wrk (bench/lua/bench.lua) or, for the sequential ones, with requests, and
writes a Markdown report and the raw figures to bench/results/.
"""
import argparse
import base64
import contextlib
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
INTEROP = os.path.join(REPO, "tests", "interop")
sys.path.insert(0, INTEROP)

import requests  # noqa: E402  (from the interop virtualenv)

from browser import Browser  # noqa: E402
from providers import PROVIDER_PROJECT, DjangoProvider, OursProvider  # noqa: E402
from servers import ServerProcess, run  # noqa: E402

LUA = os.path.join(BENCH, "lua", "bench.lua")
RESULTS = os.path.join(BENCH, "results")
POSTGRES_URL = os.environ.get("CENTRALAUTH_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-0123456789abcdef"
REDIRECT_URI = "http://127.0.0.1:9/bench/callback/"  # never requested: the code is read from the redirect
USERNAME, PASSWORD = "benchuser", "bench-Password-1"
SCOPE = "read write"
# The bench user's membership: 10 direct permissions and a group with 10 more, so that /user/
# answers 20 permissions.
PERMS = [("bench", "perm_{:02d}".format(i)) for i in range(20)]
DIRECT, GROUPED = PERMS[:10], PERMS[10:]

WIRE_SCENARIOS = ["user", "refresh", "code", "introspect"]
SCENARIO_TITLES = {
    "user": "GET /provider/user/",
    "refresh": "POST /o/token/ refresh_token",
    "code": "POST /o/token/ authorization_code",
    "introspect": "POST /o/introspect/",
}


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Load:
    """One wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    rss_mib: float
    bodies_used_up: bool = False
    cpu_us: float = None  # the server's CPU time (user + system, all its processes) per request
    switches: float = None  # the server's context switches (all threads) per request

    @property
    def errors(self):
        return self.non2xx + self.socket_errors


@dataclass
class Sequence:
    """The sequential browser logins."""

    rounds: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    errors: int
    rss_mib: float


@dataclass
class Sync:
    """One /perms/ request."""

    size: int
    step: str
    status: str
    seconds: float
    answer: str


@dataclass
class Side:
    """Everything measured on one server."""

    name: str
    loads: dict = field(default_factory=dict)
    login: Sequence = None
    syncs: list = field(default_factory=list)
    notes: list = field(default_factory=list)


class Settings:
    def __init__(self, args):
        self.duration = args.duration
        self.threads = args.threads
        self.connections = args.connections
        self.login_rounds = args.login_rounds
        self.perms_sizes = args.perms_sizes
        self.scenarios = args.only or WIRE_SCENARIOS + ["login", "perms"]
        self.perf_dir = args.perf

    def wrk_line(self):
        return "wrk -t{} -c{} -d{}s".format(self.threads, self.connections, self.duration)


def process_tree(pid):
    """`pid` and its descendants (gunicorn: the master and its workers)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open("/proc/{}/task/{}/children".format(p, p)) as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def reset_peak_rss(pid):
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS (proc(5))."""
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            with open("/proc/{}/clear_refs".format(p), "w") as f:
                f.write("5")


def peak_rss_mib(pid):
    """Sum of VmHWM over the process tree, in MiB."""
    total_kib = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            with open("/proc/{}/status".format(p)) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total_kib += int(line.split()[1])
    return total_kib / 1024


def cpu_seconds(pid):
    """User + system CPU time of `pid`'s process tree so far (threads included)."""
    ticks = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open("/proc/{}/stat".format(p)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary + involuntary context switches of every thread of `pid`'s process tree so far."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for task in os.listdir("/proc/{}/task".format(p)):
                with contextlib.suppress(OSError):
                    with open("/proc/{}/task/{}/status".format(p, task)) as f:
                        for line in f:
                            if "ctxt_switches:" in line:
                                total += int(line.split()[1])
    return total


def wrk(settings, url, pid, method="GET", auth=None, body=None, bodies=None, duration=None):
    """One wrk run against `url`; peak RSS of `pid`'s tree during it."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        report = os.path.join(tmp, "report.json")
        env = dict(os.environ, BENCH_METHOD=method, BENCH_REPORT=report, BENCH_THREADS=str(settings.threads))
        if auth:
            env["BENCH_AUTH"] = auth
        if body:
            env["BENCH_BODY"] = body
        if bodies is not None:
            path = os.path.join(tmp, "bodies.txt")
            with open(path, "w") as f:
                f.write("".join(b + "\n" for b in bodies))
            env["BENCH_BODIES"] = path
        duration = duration or settings.duration
        cmd = ["wrk", "-t{}".format(settings.threads), "-c{}".format(settings.connections),
               "-d{}s".format(duration), "-s", LUA, url]
        reset_peak_rss(pid)
        cpu_before, switches_before = cpu_seconds(pid), context_switches(pid)
        profiler = start_perf(settings, pid, method, url)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 120)
        stop_perf(profiler)
        cpu, switches = cpu_seconds(pid) - cpu_before, context_switches(pid) - switches_before
        rss = peak_rss_mib(pid)
        if done.returncode != 0 or not os.path.exists(report):
            raise RuntimeError("wrk failed: {}\n{}{}".format(" ".join(cmd), done.stdout, done.stderr))
        with open(report) as f:
            r = json.load(f)
    seconds = r["duration_us"] / 1e6
    return Load(
        rps=r["requests"] / seconds,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        non2xx=r["non2xx"],
        socket_errors=r["connect"] + r["read"] + r["write"] + r["timeout"],
        rss_mib=rss,
        bodies_used_up=r["bodies_used_up"] > 0,
        cpu_us=cpu * 1e6 / max(r["requests"], 1),
        switches=switches / max(r["requests"], 1),
    )


def start_perf(settings, pid, method, url):
    """With `--perf DIR`: `perf record` of `pid` (call graphs) while the load runs."""
    if not settings.perf_dir:
        return None
    os.makedirs(settings.perf_dir, exist_ok=True)
    name = "{}-{}{}".format(pid, method, urlsplit(url).path.replace("/", "_"))
    data = os.path.join(settings.perf_dir, name + ".data")
    proc = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-p", str(pid), "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, data


def stop_perf(profiler):
    """Ends the recording and writes the flat profile (self time by symbol) beside it, as .txt."""
    if profiler is None:
        return
    proc, data = profiler
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    with open(data[:-len(".data")] + ".txt", "w") as out:
        subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none"],
                       stdout=out, stderr=subprocess.DEVNULL, check=False)


def basic(client_id, secret):
    return "Basic " + base64.b64encode("{}:{}".format(quote(client_id, safe=""), quote(secret, safe="")).encode()).decode()


def percentile(values, q):
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# -- the servers ---------------------------------------------------------------------------------


class Target:
    """A provider under test: the harness's Provider plus how to mint tokens for the load."""

    def __init__(self, name, provider, pid):
        self.name = name
        self.provider = provider
        self.pid = pid
        self.access_token = None

    def url(self, path):
        return self.provider.url(path)

    def seed(self, perms_sizes):
        """The same seed on both: the bench application with 20 permissions, a group, the bench
        user with a membership, and one application per /perms/ size."""
        p = self.provider
        with p.batch():
            p.create_application("Bench", REDIRECT_URI, CLIENT_ID, CLIENT_SECRET)
            for size in perms_sizes:
                p.create_application("Perms {}".format(size), REDIRECT_URI, perms_client(size), CLIENT_SECRET)
        answer = sync_perms(self, CLIENT_ID, [(a, c) for a, c in PERMS], timeout=60)
        assert answer.status_code == 200, answer.text
        with p.batch():
            p.create_group(CLIENT_ID, "editors", GROUPED)
            p.create_user(USERNAME, PASSWORD, "bench@example.org", "Bench", "User")
            p.add_membership(CLIENT_ID, USERNAME, is_staff=True, groups=["editors"], perms=DIRECT)

    def authorize_url(self):
        query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": secrets.token_hex(8)}
        return requests.Request("GET", self.url("/o/authorize/"), params=query).prepare().url

    def browser_login(self):
        """authorize → login form → code → token → /user/, in a fresh browser; the tokens."""
        browser = Browser(USERNAME, PASSWORD)
        visit = browser.visit(self.authorize_url(), stop_at=lambda target: target.startswith(REDIRECT_URI))
        if not visit.stopped_at:
            raise RuntimeError("{}: login did not reach the client: {}".format(self.name, visit.hops))
        code = parse_qs(urlsplit(visit.stopped_at).query)["code"][0]
        answer = requests.post(
            self.url("/o/token/"),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=30,
        )
        answer.raise_for_status()
        tokens = answer.json()
        user = requests.get(self.url("/user/"), headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=30)
        user.raise_for_status()
        if len(user.json()["permissions"]) != len(PERMS):
            raise RuntimeError("{}: /user/ answered {}".format(self.name, user.text))
        return tokens

    def log_errors(self):
        """Error lines of the server's log since it started, counted by their text: the reason
        behind non-2xx answers. Python tracebacks end with `module.Error: message`; ours logs
        `ERROR`."""
        counts = {}
        for line in self.provider.server.log().splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if re.match(r"^[\w.]+(Error|Exception): ", line) or " ERROR " in line:
                key = re.sub(r"^\S*\s+ERROR\s+", "ERROR ", line)[:160]
                counts[key] = counts.get(key, 0) + 1
        return counts

    def refresh_tokens(self, count):
        raise NotImplementedError

    def codes(self, count):
        raise NotImplementedError


class OriginalTarget(Target):
    def _dot_rows(self, kind, count):
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            run(
                [sys.executable, "manage.py", "bench_tokens", kind, CLIENT_ID, USERNAME, str(count),
                 "--out", out.name, "--redirect-uri", REDIRECT_URI],
                cwd=PROVIDER_PROJECT, env=self.provider.env, timeout=600,
            )
            return out.read().split()

    def refresh_tokens(self, count):
        return self._dot_rows("refresh", count)

    def codes(self, count):
        return self._dot_rows("code", count)


class OursTarget(Target):
    def __init__(self, name, provider, pid, db):
        super().__init__(name, provider, pid)
        self.db = db

    def _ids(self):
        (app_id, access_life, refresh_life), = self.db.query(
            "SELECT id, access_token_lifetime, refresh_token_lifetime FROM applications WHERE client_id = '{}'".format(CLIENT_ID))
        (user_id,), = self.db.query("SELECT id FROM users WHERE username_key = '{}'".format(USERNAME))
        return int(app_id), int(user_id), int(access_life), int(refresh_life)

    def refresh_tokens(self, count):
        """Token families as the code exchange writes them, one per pair (the small seeding path:
        rows in our schema, the secrets' SHA-256 digests as the provider stores them)."""
        app_id, user_id, access_life, refresh_life = self._ids()
        now = int(time.time())
        (first,), = self.db.query("SELECT COALESCE(MAX(id), 0) + 1 FROM token_families")
        first = int(first)
        refresh = [secrets.token_urlsafe(32) for _ in range(count)]
        access = [hashlib.sha256(secrets.token_urlsafe(32).encode()).digest() for _ in range(count)]
        self.db.copy("token_families", ["id", "application_id", "user_id", "scope", "auth_time", "created_at", "expires_at"],
                     [(first + i, app_id, user_id, SCOPE, now, now, now + refresh_life) for i in range(count)])
        self.db.sync_identity("token_families")
        self.db.copy("access_tokens", ["token_digest", "family_id", "scope", "created_at", "expires_at"],
                     [(access[i], first + i, SCOPE, now, now + access_life) for i in range(count)])
        self.db.copy("refresh_tokens", ["token_digest", "family_id", "access_token_digest", "scope", "created_at", "expires_at"],
                     [(hashlib.sha256(refresh[i].encode()).digest(), first + i, access[i], SCOPE, now, now + refresh_life)
                      for i in range(count)])
        return refresh

    def codes(self, count):
        app_id, user_id, _, _ = self._ids()
        now = int(time.time())
        codes = [secrets.token_urlsafe(32) for _ in range(count)]
        self.db.copy("authorization_codes",
                     ["code_digest", "application_id", "user_id", "redirect_uri", "scope", "auth_time", "expires_at"],
                     [(hashlib.sha256(c.encode()).digest(), app_id, user_id, REDIRECT_URI, SCOPE, now, now + 60) for c in codes])
        return codes


def perms_client(size):
    return "bench-perms-{}".format(size)


def sync_perms(target, client_id, perms, timeout):
    body = {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "perms": [{"app_label": a, "codename": c, "repr": "{} | {}".format(a, c)} for a, c in perms],
    }
    return requests.post(target.url("/perms/"), json=body, timeout=timeout)


# -- our databases -------------------------------------------------------------------------------


class SqliteDb:
    kind = "sqlite"

    def __init__(self, path):
        self.path = path
        self.url = "sqlite://{}?mode=rwc".format(path)

    def _connect(self):
        import sqlite3

        return sqlite3.connect(self.path, timeout=60, isolation_level=None)

    def query(self, sql):
        with contextlib.closing(self._connect()) as c:
            return c.execute(sql).fetchall()

    def script(self, sql):
        with contextlib.closing(self._connect()) as c:
            c.executescript(sql)

    def copy(self, table, columns, rows):
        with contextlib.closing(self._connect()) as c:
            c.execute("BEGIN IMMEDIATE")
            c.executemany("INSERT INTO {} ({}) VALUES ({})".format(table, ", ".join(columns), ", ".join("?" * len(columns))), rows)
            c.execute("COMMIT")

    def sync_identity(self, table):
        pass  # AUTOINCREMENT continues after the largest id

    def series(self, n):
        return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {})".format(n)

    def drop(self):
        pass


class PostgresDb:
    kind = "postgres"

    def __init__(self, admin_url, name):
        self.admin_url = admin_url
        self.name = name
        parts = urlsplit(admin_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
        self._psql(self.admin_url, 'CREATE DATABASE "{}"'.format(name))

    def _psql(self, url, sql=None, stdin=None, args=()):
        cmd = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-X", *args]
        if sql is not None:
            cmd += ["-c", sql]
        return run(cmd, stdin=stdin, timeout=1800).stdout

    def query(self, sql):
        out = self._psql(self.url, sql, args=("-tA", "-F", "\t"))
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def script(self, sql):
        self._psql(self.url, stdin=sql)

    def copy(self, table, columns, rows):
        def cell(v):
            if isinstance(v, bytes):
                return "\\\\x" + v.hex()
            return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

        data = "".join("\t".join(cell(v) for v in row) + "\n" for row in rows)
        self._psql(self.url, stdin="COPY {} ({}) FROM STDIN;\n{}\\.\n".format(table, ", ".join(columns), data))

    def sync_identity(self, table):
        self._psql(self.url, "SELECT setval(pg_get_serial_sequence('{0}', 'id'), (SELECT MAX(id) FROM {0}))".format(table))

    def series(self, n):
        return "WITH s(i) AS (SELECT generate_series(1, {}))".format(n)

    def drop(self):
        self._psql(self.admin_url, 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'.format(self.name))


def scale_seed(db, users=1_000_000, apps=1000, perms_per_app=100, memberships=100_000):
    """The scale mode's data, in bulk SQL on our schema: `users` users, `apps` applications with
    `perms_per_app` permissions and one group of 10 each, `memberships` memberships with the group
    and 3 direct permissions. Copies the bench application's and user's settings and hash."""
    s = db.series
    sql = """
{users_s} INSERT INTO users (username, username_key, email, email_key, first_name, last_name, first_name_key, last_name_key,
                            password_hash, is_active, is_admin, date_joined)
  SELECT 'scale' || s.i, 'scale' || s.i, 'scale' || s.i || '@example.org', 'scale' || s.i || '@example.org', 'Scale', 'User ' || s.i,
         'scale', 'user ' || s.i, b.password_hash, TRUE, FALSE, b.date_joined
  FROM s, users b WHERE b.username_key = '{user}';
{apps_s} INSERT INTO applications (name, client_id, client_secret_digest, redirect_uris, redirect_uri_match, pkce,
                                   access_token_lifetime, refresh_token_lifetime, created_at)
  SELECT 'Scale app ' || s.i, 'scale-app-' || s.i, b.client_secret_digest, b.redirect_uris, b.redirect_uri_match, b.pkce,
         b.access_token_lifetime, b.refresh_token_lifetime, b.created_at
  FROM s, applications b WHERE b.client_id = '{client}';
{perms_s} INSERT INTO permissions (application_id, app_label, codename, name)
  SELECT a.id, 'scale', 'perm_' || s.i, 'scale | perm ' || s.i FROM applications a, s WHERE a.client_id LIKE 'scale-app-%';
INSERT INTO permission_groups (application_id, name) SELECT id, 'staff' FROM applications WHERE client_id LIKE 'scale-app-%';
INSERT INTO group_permissions (group_id, permission_id)
  SELECT g.id, p.id FROM permission_groups g JOIN permissions p ON p.application_id = g.application_id
  WHERE g.name = 'staff' AND p.codename IN ('perm_1', 'perm_2', 'perm_3', 'perm_4', 'perm_5', 'perm_6', 'perm_7', 'perm_8', 'perm_9', 'perm_10');
{members_s} INSERT INTO memberships (application_id, user_id, is_superuser, is_staff, is_active)
  SELECT a.id, u.id, FALSE, TRUE, TRUE FROM s
  JOIN users u ON u.username_key = 'scale' || s.i
  JOIN applications a ON a.client_id = 'scale-app-' || ((s.i - 1) % {apps} + 1);
INSERT INTO membership_groups (membership_id, group_id)
  SELECT m.id, g.id FROM memberships m JOIN permission_groups g ON g.application_id = m.application_id AND g.name = 'staff';
INSERT INTO membership_permissions (membership_id, permission_id)
  SELECT m.id, p.id FROM memberships m JOIN applications a ON a.id = m.application_id
  JOIN permissions p ON p.application_id = m.application_id
  WHERE a.client_id LIKE 'scale-app-%' AND p.codename IN ('perm_11', 'perm_12', 'perm_13');
ANALYZE;
""".format(users_s=s(users), apps_s=s(apps), perms_s=s(perms_per_app), members_s=s(memberships),
           apps=apps, user=USERNAME, client=CLIENT_ID)
    if db.kind == "sqlite":
        sql = "BEGIN;\n" + sql.replace("ANALYZE;", "COMMIT;\nANALYZE;")
    db.script(sql)


# -- the scenarios -------------------------------------------------------------------------------


def measure(target, settings, side, log, restart):
    """Every scenario asked for, each on a freshly started server (`restart()` stops the one
    running and returns the next provider), so that each peak RSS is the scenario's own and no
    scenario inherits another's state."""
    client_auth = basic(CLIENT_ID, CLIENT_SECRET)
    # Refresh and code runs spend a seeded secret per request: seed a bit more than the /user/
    # rate allows in the run, which no write can beat.
    budget = 50_000
    for scenario in settings.scenarios:
        target.provider = restart()
        target.pid = target.provider.server.process.pid
        target.access_token = target.browser_login()["access_token"]
        user_auth = "Bearer " + target.access_token
        # Warm-up, not recorded: first requests load code and fill caches on both kinds of server.
        wrk(settings, target.url("/user/"), target.pid, auth=user_auth, duration=2)
        log("{}: {}".format(target.name, scenario))
        if scenario == "user":
            side.loads["user"] = wrk(settings, target.url("/user/"), target.pid, auth=user_auth)
            budget = int(side.loads["user"].rps * settings.duration * 1.2) + 2000
        elif scenario == "refresh":
            refresh = target.refresh_tokens(budget)
            bodies = ["grant_type=refresh_token&refresh_token=" + t for t in refresh]
            side.loads["refresh"] = wrk(settings, target.url("/o/token/"), target.pid, "POST", client_auth, bodies=bodies)
        elif scenario == "code":
            codes = target.codes(budget)  # they live 60 s: minted right before the run
            redirect = quote(REDIRECT_URI, safe="")
            bodies = ["grant_type=authorization_code&redirect_uri={}&code={}".format(redirect, c) for c in codes]
            side.loads["code"] = wrk(settings, target.url("/o/token/"), target.pid, "POST", client_auth, bodies=bodies)
        elif scenario == "introspect":
            side.loads["introspect"] = wrk(settings, target.url("/o/introspect/"), target.pid, "POST", client_auth,
                                           body="token=" + target.access_token)
        elif scenario == "login":
            side.login = measure_login(target, settings.login_rounds)
        elif scenario == "perms":
            side.syncs = measure_perms(target, settings.perms_sizes, log)
        for line, n in target.log_errors().items():
            side.notes.append("{}, server log during {}: {}× `{}`".format(target.name, scenario, n, line))
    for name, load in side.loads.items():
        if load.bodies_used_up:
            side.notes.append("{}: the seeded secrets ran out before the end of the run".format(name))


def measure_login(target, rounds):
    reset_peak_rss(target.pid)
    times, errors = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            target.browser_login()
        except Exception:  # noqa: BLE001 — counted and reported, the run goes on
            errors += 1
            continue
        times.append((time.perf_counter() - started) * 1000)
    rss = peak_rss_mib(target.pid)
    if not times:
        return Sequence(rounds, float("nan"), float("nan"), float("nan"), errors, rss)
    return Sequence(rounds, statistics.median(times), percentile(times, 0.95), statistics.fmean(times), errors, rss)


def measure_perms(target, sizes, log):
    """Per size: a first sync of `size` permissions to a fresh application, the identical list
    again, then the first half only. A failed step ends its size (the rest would start from an
    unknown state)."""
    results = []
    for size in sizes:
        full = [("bench", "perm_{:06d}".format(i)) for i in range(size)]
        for step, perms in (("first sync", full), ("identical re-sync", full), ("drop half", full[: size // 2])):
            log("{}: perms {} {}".format(target.name, size, step))
            started = time.perf_counter()
            try:
                answer = sync_perms(target, perms_client(size), perms, timeout=300)
                status, text = str(answer.status_code), answer.text[:200]
            except requests.RequestException as e:
                status, text = "no answer", type(e).__name__
            seconds = time.perf_counter() - started
            results.append(Sync(size, step, status, seconds, text.replace("\n", " ")))
            if status != "200":
                break
    return results


# -- report --------------------------------------------------------------------------------------


def fmt(value, digits=0):
    if value is None or value != value:
        return "—"
    return "{:,.{}f}".format(value, digits)


def ratio(a, b, digits=1):
    if not a or not b or a != a or b != b:
        return "—"
    return "{:.{}f}×".format(a / b, digits)


def load_cells(load):
    if load is None:
        return ["—"] * 6
    errors = "{}".format(load.errors) if not load.bodies_used_up else "{} (secrets ran out)".format(load.errors)
    return [fmt(load.rps), fmt(load.p50_ms, 2), fmt(load.p99_ms, 2), errors, fmt(load.cpu_us), fmt(load.rss_mib, 1)]


def report(run_info, bare, original, ours, scale):
    lines = ["# centralauth benchmark, {}".format(run_info["started"]), ""]
    lines += ["- command: `{}`".format(run_info["command"]),
              "- machine: {} cores, {}; load generator on the same machine: `{}`".format(
                  run_info["cores"], run_info["cpu"], run_info["wrk"]),
              "- ours: `{}` (git {}), release build, default settings".format(run_info["binary"], run_info["git"]),
              "- load average (1, 5, 15 min) before the run: {}; after: {} (other work on the machine lowers every "
              "req/s figure)".format(run_info["load_before"], run_info["load_after"]),
              "- original: django-centralauth 2.0.0, django-oauth-toolkit 1.5.0, Django 3.2, `gunicorn --workers 2` "
              "(sync workers), SQLite",
              "- CPU µs/req = the server's user + system CPU time (all its processes and threads) over the run, "
              "divided by the requests answered: the cost per request, less sensitive than req/s to what else runs",
              "- errors = non-2xx answers + socket errors; RSS = peak (VmHWM) during the scenario, summed over the "
              "server's processes (gunicorn: master + workers), reset before each scenario",
              ""]
    if bare:
        lines += ["## The machine's limit: bare axum, static 200", "",
                  "| server | req/s | p50 ms | p99 ms | errors | CPU µs/req | peak RSS MiB |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
                  "| bare axum | " + " | ".join(load_cells(bare)) + " |", ""]
    for backend, side in ours.items():
        lines += ["## Ours on {} vs the original (SQLite)".format(backend), "",
                  "| endpoint | ours req/s | ours p50 ms | ours p99 ms | ours errors | ours CPU µs/req | ours peak RSS MiB | "
                  "original req/s | original p50 ms | original p99 ms | original errors | original CPU µs/req | "
                  "original peak RSS MiB | ours/original req/s | RSS ours/original |",
                  "| --- | " + " | ".join(["---:"] * 14) + " |"]
        for s in WIRE_SCENARIOS:
            o, t = side.loads.get(s), original.loads.get(s) if original else None
            if o is None and t is None:
                continue
            lines.append("| {} | {} | {} | {} | {} |".format(
                SCENARIO_TITLES[s], " | ".join(load_cells(o)), " | ".join(load_cells(t)),
                ratio(o and o.rps, t and t.rps), ratio(o and o.rss_mib, t and t.rss_mib, 2)))
        if bare and side.loads.get("user"):
            lines += ["", "/user/ reaches {} of the bare-axum limit.".format(ratio(side.loads["user"].rps, bare.rps, 2))]
        lines.append("")
        login_rows = [(n, x.login) for n, x in (("ours", side), ("original", original)) if x and x.login]
        if login_rows:
            lines += ["Complete browser login (authorize → login form → code → token → /user/), sequential:", "",
                      "| provider | rounds | p50 ms | p95 ms | mean ms | errors | peak RSS MiB |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for n, l in login_rows:
                lines.append("| {} | {} | {} | {} | {} | {} | {} |".format(
                    n, l.rounds, fmt(l.p50_ms, 1), fmt(l.p95_ms, 1), fmt(l.mean_ms, 1), l.errors, fmt(l.rss_mib, 1)))
            if side.login and original and original.login:
                lines += ["", "Login p50: ours takes {} of the original's time.".format(
                    ratio(side.login.p50_ms, original.login.p50_ms, 2))]
            lines.append("")
        if side.syncs:
            theirs = {(x.size, x.step): x for x in (original.syncs if original else [])}
            lines += ["`/perms/` sync (one request each; a failed step ends its size):", "",
                      "| permissions | step | ours s | ours status | original s | original status | original/ours time |",
                      "| ---: | --- | ---: | --- | ---: | --- | ---: |"]
            for x in side.syncs:
                t = theirs.get((x.size, x.step))
                faster = ratio(t.seconds, x.seconds) if t and t.status == "200" and x.status == "200" else "—"
                lines.append("| {:,} | {} | {:.3f} | {} | {} | {} | {} |".format(
                    x.size, x.step, x.seconds, x.status, "{:.3f}".format(t.seconds) if t else "not run",
                    (t.status + (" " + t.answer[:60] if t.status != "200" else "")) if t else "—", faster))
            lines.append("")
        for note in side.notes + (original.notes if original else []):
            lines.append("- note: " + note)
        lines.append("")
    for backend, big in scale.items():
        small = ours.get(backend)
        lines += ["## Scale, ours on {}: {}".format(backend, big.name), "",
                  "| endpoint | small req/s | scale req/s | small p50 ms | scale p50 ms | small p99 ms | scale p99 ms | "
                  "scale errors | small CPU µs/req | scale CPU µs/req | small/scale req/s |",
                  "| --- | " + " | ".join(["---:"] * 10) + " |"]
        for s in WIRE_SCENARIOS:
            a, b = small.loads.get(s) if small else None, big.loads.get(s)
            if b is None:
                continue
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                SCENARIO_TITLES[s], fmt(a and a.rps), fmt(b.rps), fmt(a and a.p50_ms, 2), fmt(b.p50_ms, 2),
                fmt(a and a.p99_ms, 2), fmt(b.p99_ms, 2), b.errors, fmt(a and a.cpu_us), fmt(b.cpu_us), ratio(a and a.rps, b.rps, 2)))
        if big.login:
            lines.append("| browser login p50 ms | | | {} | {} | | | {} | | | {} |".format(
                fmt(small.login.p50_ms, 1) if small and small.login else "—", fmt(big.login.p50_ms, 1), big.login.errors,
                ratio(big.login.p50_ms, small.login.p50_ms if small and small.login else None, 2)))
        small_syncs = {(x.size, x.step): x for x in (small.syncs if small else [])}
        for x in big.syncs:
            a = small_syncs.get((x.size, x.step))
            lines.append("| /perms/ {:,} {} (s) | | | {} | {:.3f} | | | {} | | | {} |".format(
                x.size, x.step, "{:.3f}".format(a.seconds) if a else "—", x.seconds, "0" if x.status == "200" else x.status,
                ratio(x.seconds, a.seconds if a else None, 2)))
        lines += ["", "(last column: scale time or cost over the small seed's; 1.00× = no growth)", ""]
        for note in big.notes:
            lines.append("- note: " + note)
    lines += targets(bare, original, ours, scale)
    return "\n".join(lines) + "\n"


def targets(bare, original, ours, scale):
    """The issue's targets, judged from this run's figures."""
    out = ["## Targets (from this run)", "", "| target | backend | figure | met |", "| --- | --- | --- | --- |"]

    def row(name, backend, figure, ok):
        out.append("| {} | {} | {} | {} |".format(name, backend, figure, "yes" if ok else "**no**"))

    def rps(side, s):
        load = side.loads.get(s) if side else None
        return load.rps if load else None

    for backend, side in ours.items():
        for s, factor, label in (("user", 50, "/user/ ≥ 50× original"), ("refresh", 20, "refresh ≥ 20× original"),
                                 ("introspect", 30, "introspection ≥ 30× original")):
            a, b = rps(side, s), rps(original, s)
            if a and b:
                row(label, backend, "{:,.0f} vs {:,.0f} req/s = {:.1f}×".format(a, b, a / b), a >= factor * b)
        a = rps(side, "user")
        if a and bare:
            row("/user/ ≥ 1/3 of bare axum", backend, "{:,.0f} vs {:,.0f} req/s = {:.2f}".format(a, bare.rps, a / bare.rps),
                a >= bare.rps / 3)
        a = rps(side, "refresh")
        if a:
            row("refresh ≥ 3× node-oidc-provider's 960 req/s (issue figure)", backend, "{:,.0f} req/s".format(a), a >= 2880)
        if side.login and original and original.login:
            row("login p50 < half the original's", backend,
                "{:.1f} vs {:.1f} ms".format(side.login.p50_ms, original.login.p50_ms), side.login.p50_ms < original.login.p50_ms / 2)
        theirs = {(x.size, x.step): x for x in (original.syncs if original else [])}
        for x in side.syncs:
            if x.step != "first sync":
                continue
            t = theirs.get((x.size, x.step))
            if x.size == 996 and t and t.status == "200":
                row("/perms/ 996 ≥ 30× faster", backend, "{:.3f} vs {:.3f} s = {:.0f}×".format(x.seconds, t.seconds, t.seconds / x.seconds),
                    x.status == "200" and t.seconds >= 30 * x.seconds)
            if x.size == 100_000:
                row("/perms/ 100,000 in < 2 s", backend, "{:.3f} s ({})".format(x.seconds, x.status), x.status == "200" and x.seconds < 2)
        peaks = [l.rss_mib for l in side.loads.values()]
        their_peaks = [l.rss_mib for l in original.loads.values()] if original else []
        if peaks and their_peaks:
            row("peak RSS under load < 1/4 of the original's", backend,
                "{:.1f} vs {:.1f} MiB".format(max(peaks), max(their_peaks)), max(peaks) < max(their_peaks) / 4)
        big = scale.get(backend)
        if big:
            worst = []
            for s in WIRE_SCENARIOS:
                a, b = rps(side, s), rps(big, s)
                if a and b:
                    worst.append((a / b, SCENARIO_TITLES[s]))
            if side.login and big.login:
                worst.append((big.login.p50_ms / side.login.p50_ms, "login p50"))
            if worst:
                w = max(worst)
                row("1M users: every endpoint within 1.5× of the small seed", backend,
                    "worst: {} at {:.2f}×".format(w[1], w[0]), w[0] <= 1.5)
    return out + [""]


# -- the run -------------------------------------------------------------------------------------


def git_describe():
    done = run(["git", "-C", REPO, "describe", "--always", "--dirty"], check=False)
    return done.stdout.strip() or "unknown"


def cpu_name():
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return "unknown CPU"


def run_bare(settings, binary, workdir, log):
    log("bare axum")
    server = ServerProcess("bare axum", [binary], cwd=workdir, env=dict(os.environ), log_path=os.path.join(workdir, "bare.log"))
    try:
        base = server.wait_for_line(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        server.wait_until_answering(base + "/")
        wrk(settings, base + "/", server.process.pid, duration=2)
        return wrk(settings, base + "/", server.process.pid)
    finally:
        server.stop()


def run_original(settings, workdir, log, into):
    log("original: starting gunicorn")
    os.makedirs(workdir)
    target = OriginalTarget("original", DjangoProvider.start(workdir, workers=2, threads=1), None)
    try:
        target.seed(settings.perms_sizes)
        side = into["original"] = Side("original (SQLite)")

        def restart():
            target.provider.stop()
            return DjangoProvider.start(workdir, workers=2, threads=1)

        measure(target, settings, side, log, restart)
    finally:
        target.provider.stop()


def run_ours(settings, binary, workdir, backend, scale, log, into):
    os.makedirs(workdir)
    if backend == "sqlite":
        db = SqliteDb(os.path.join(workdir, "centralauth.db"))
    else:
        db = PostgresDb(POSTGRES_URL, "centralauth_bench_{}_{}".format(os.getpid(), secrets.token_hex(4)))
    try:
        name = "ours ({}{})".format(backend, ", 1M users" if scale else "")
        log("{}: starting".format(name))
        target = OursTarget(name, OursProvider.start(binary, workdir, database_url=db.url), None, db)
        try:
            target.seed(settings.perms_sizes)
            side = into[backend] = Side(name)
            if scale:
                log("{}: seeding 1,000,000 users, 1,000 applications × 100 permissions, 100,000 memberships".format(name))
                started = time.perf_counter()
                scale_seed(db)
                side.notes.append("scale seed (bulk SQL, then ANALYZE) took {:.1f} s".format(time.perf_counter() - started))
                (n_users,), = db.query("SELECT COUNT(*) FROM users")
                (n_members,), = db.query("SELECT COUNT(*) FROM memberships")
                (n_perms,), = db.query("SELECT COUNT(*) FROM permissions")
                side.notes.append("rows: {} users, {} permissions, {} memberships".format(n_users, n_perms, n_members))

            def restart():
                target.provider.stop()
                return OursProvider.start(binary, workdir, database_url=db.url)

            measure(target, settings, side, log, restart)
        finally:
            target.provider.stop()
    finally:
        db.drop()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmarks, side by side with django-centralauth (see bench/README.md).")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", action="store_true", help="also rerun ours with 1,000,000 users (both backends asked for)")
    parser.add_argument("--binary", required=True, help="our release binary")
    parser.add_argument("--bare-axum", help="the bare-axum binary (the machine's limit); skipped without")
    parser.add_argument("--no-original", action="store_true", help="measure ours only (for profiling)")
    parser.add_argument("--only", type=lambda s: s.split(","), help="scenarios: user,refresh,code,introspect,login,perms")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--login-rounds", type=int, default=40)
    parser.add_argument("--perms-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[996, 997, 10_000, 100_000])
    parser.add_argument("--perf", metavar="DIR", help="record each load run with `perf record -g` into DIR (flat profile as .txt)")
    parser.add_argument("--command", default="bench/run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = Settings(args)
    started = datetime.datetime.now()
    workdir = tempfile.mkdtemp(prefix="centralauth-bench-")

    def log(message):
        print("[{:7.1f}s] {}".format((datetime.datetime.now() - started).total_seconds(), message), file=sys.stderr, flush=True)

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    run_info = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "command": args.command,
        "cores": os.cpu_count(),
        "cpu": cpu_name(),
        "wrk": settings.wrk_line(),
        "binary": os.path.relpath(args.binary, REPO),
        "git": git_describe(),
        "load_before": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }
    bare, theirs, ours, scale = None, {}, {}, {}
    failed = False
    try:
        if args.bare_axum:
            bare = run_bare(settings, args.bare_axum, workdir, log)
        if not args.no_original:
            run_original(settings, os.path.join(workdir, "original"), log, theirs)
        for backend in backends:
            run_ours(settings, args.binary, os.path.join(workdir, "ours-" + backend), backend, False, log, ours)
        if args.scale:
            for backend in backends:
                run_ours(settings, args.binary, os.path.join(workdir, "scale-" + backend), backend, True, log, scale)
    except Exception:  # noqa: BLE001 — report what was measured, then fail
        traceback.print_exc()
        failed = True
        log("failed; the server logs are in {}".format(workdir))
    original = theirs.get("original")
    run_info["load_after"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    text = report(run_info, bare, original, ours, scale)
    os.makedirs(RESULTS, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(RESULTS, stamp + ".md"), "w") as f:
        f.write(text)
    raw = {"run": run_info, "bare": bare and asdict(bare), "original": original and asdict(original),
           "ours": {k: asdict(v) for k, v in ours.items()}, "scale": {k: asdict(v) for k, v in scale.items()}}
    with open(os.path.join(RESULTS, stamp + ".json"), "w") as f:
        json.dump(raw, f, indent=1)
    print(text)
    log("written to bench/results/{}.md (and .json)".format(stamp))
    if not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
