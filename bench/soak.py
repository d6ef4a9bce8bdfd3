"""Soak: our provider under a steady, moderate, mixed load for a long time (issue #14, part 5).

Run through bench/soak (see bench/README.md, "Soak"). For each backend asked for it starts our
release binary on a fresh database, seeds it like bench/run (bench.OursTarget.seed), adds an
administrator with an API token, then drives, for --duration minutes, a paced mix of:

- `signin`: a whole browser sign-in in a fresh cookie jar (authorize → login form with its CSRF
  token → code → token exchange), about one per second (argon2 costs ~35 ms of CPU each);
- `user`: `GET /provider/user/` with an access token from a recent sign-in;
- `introspect`: `POST /o/introspect/` of such a token, the client authenticated by HTTP Basic;
- `refresh`: `POST /o/token/` refresh_token grant, each answer's rotated token used next;
- `console`: an administrator signed in to the console fetching its list pages in turn;
- `admin_api`: admin API writes in a cycle (create a group, change its permissions, give the
  soak member a membership with it, remove the membership, delete the group).

Every minute it records the provider process's RSS, open file descriptors and threads, the
database's size (SQLite: the .db and -wal files; PostgreSQL: pg_database_size), the rows of the
tables that grow, and per kind the requests done, the errors and the p99 latency of that minute.
It writes bench/results/soak-<date>-<backend>.{json,csv,md}. `--backend both` runs the two
backends at the same time, each in a process of its own with its own provider.
"""
import argparse
import datetime
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from urllib.parse import parse_qs, urlsplit

import bench  # noqa: E402  (bench/bench.py: servers, databases, the seed)
from bench import (CLIENT_ID, CLIENT_SECRET, PERMS, REDIRECT_URI, USERNAME, PASSWORD, OursProvider, OursTarget,
                   PostgresDb, SqliteDb, percentile)

import requests  # noqa: E402
from browser import Browser  # noqa: E402

ADMIN, ADMIN_PASSWORD = "soakadmin", "soak-Admin-password-1"
MEMBER, MEMBER_PASSWORD = "soakmember", "soak-Member-password-1"
# Share of --rate per kind; sign-ins are paced on their own (--signin-rate), being CPU-bound.
MIX = {"user": 0.45, "introspect": 0.30, "refresh": 0.15, "console": 0.06, "admin_api": 0.04}
# Threads per kind: a slow answer delays only its own thread's next request.
THREADS = {"user": 3, "introspect": 2, "refresh": 2, "console": 1, "admin_api": 1, "signin": 1}
KINDS = ["signin", "user", "introspect", "refresh", "console", "admin_api"]
# Tables whose rows the load adds (and the purge removes, for those it covers).
GROWING = ["sessions", "authorization_codes", "token_families", "access_tokens", "refresh_tokens",
           "audit_events", "sign_in_throttle", "permission_groups", "memberships"]
TIMEOUT = 30


class Recorder:
    """Per kind, this minute's latencies, errors and a few error samples; swapped every minute."""

    def __init__(self):
        self.lock = threading.Lock()
        self._fresh()

    def _fresh(self):
        self.latencies = {k: [] for k in KINDS}
        self.errors = {k: 0 for k in KINDS}
        self.samples = {k: [] for k in KINDS}

    def ok(self, kind, ms):
        with self.lock:
            self.latencies[kind].append(ms)

    def error(self, kind, ms, what):
        with self.lock:
            self.latencies[kind].append(ms)
            self.errors[kind] += 1
            if len(self.samples[kind]) < 3:
                self.samples[kind].append(what[:300])

    def swap(self):
        with self.lock:
            taken = (self.latencies, self.errors, self.samples)
            self._fresh()
        return taken


class Failed(Exception):
    pass


def check(response, *statuses):
    if response.status_code not in (statuses or (200,)):
        raise Failed("{} {} -> {}: {}".format(response.request.method, urlsplit(response.request.url).path,
                                            response.status_code, response.text[:200]))
    return response


class Load:
    """The load's shared state: tokens from sign-ins, the refresh chains, the admin's sessions."""

    def __init__(self, target, api_token, browser, console_pages, rate, signin_rate, recorder, stop):
        self.target = target
        self.api_token = api_token
        self.admin_browser = browser
        self.console_pages = console_pages
        self.rate = rate
        self.signin_rate = signin_rate
        self.recorder = recorder
        self.stop = stop
        self.lock = threading.Lock()
        # Access tokens of recent sign-ins that are never refreshed (a refresh may revoke the
        # access token it replaces; /user/ and introspection must only see valid ones).
        self.access = deque(maxlen=20)
        # Refresh tokens: the current end of up to 50 chains, each refreshed in turn.
        self.chains = deque()
        self.signins = 0
        self.group_seq = 0

    # -- one request (or flow) of each kind -------------------------------------------------------

    def signin(self, session):
        browser = Browser(USERNAME, PASSWORD)
        url = self.target.authorize_url()
        visit = browser.visit(url, stop_at=lambda t: t.startswith(REDIRECT_URI))
        if not visit.stopped_at:
            raise Failed("sign-in did not reach the client: {}".format(visit.hops))
        code = parse_qs(urlsplit(visit.stopped_at).query)["code"][0]
        answer = check(session.post(self.target.url("/o/token/"), timeout=TIMEOUT, auth=(CLIENT_ID, CLIENT_SECRET),
                                    data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}))
        tokens = answer.json()
        browser.session.close()
        with self.lock:
            self.signins += 1
            # Every other sign-in starts a refresh chain; the others feed /user/ and introspection.
            if self.signins % 2 == 0 or not self.access:
                self.access.append(tokens["access_token"])
            else:
                self.chains.append(tokens["refresh_token"])
                while len(self.chains) > 50:
                    self.chains.popleft()  # that chain is left to expire, as a client that goes away

    def _access_token(self):
        with self.lock:
            return self.access[-1] if self.access else None

    def user(self, session):
        token = self._access_token()
        if token is None:
            return False
        answer = check(session.get(self.target.url("/user/"), headers={"Authorization": "Bearer " + token}, timeout=TIMEOUT))
        if len(answer.json()["permissions"]) != len(PERMS):
            raise Failed("/user/ answered {}".format(answer.text[:200]))

    def introspect(self, session):
        token = self._access_token()
        if token is None:
            return False
        answer = check(session.post(self.target.url("/o/introspect/"), data={"token": token},
                                    auth=(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT))
        if answer.json().get("active") is not True:
            raise Failed("introspection: not active: {}".format(answer.text[:200]))

    def refresh(self, session):
        with self.lock:
            if not self.chains:
                return False
            token = self.chains.popleft()
        answer = check(session.post(self.target.url("/o/token/"), auth=(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT,
                                    data={"grant_type": "refresh_token", "refresh_token": token}))
        new = answer.json()["refresh_token"]
        if new == token:
            raise Failed("refresh did not rotate")
        with self.lock:
            self.chains.append(new)

    def console(self, session, state={"i": 0}):
        path = self.console_pages[state["i"] % len(self.console_pages)]
        state["i"] += 1
        answer = self.admin_browser.get(self.target.provider.base_url + path)
        if answer.status_code != 200:
            # Signed out (a redirect to the login form)? Sign in again, and count the error.
            self.admin_browser.visit(self.target.provider.base_url + "/console/")
            check(answer)

    def admin_api(self, session, state={"step": 0, "group": None, "perm_ids": None, "member_id": None}):
        api = self.target.provider.base_url + "/api/v1/applications/{}".format(CLIENT_ID)
        headers = {"Authorization": "Bearer " + self.api_token}
        step = state["step"] % 5
        if state["perm_ids"] is None:
            answer = check(session.get(api + "/permissions", headers=headers, timeout=TIMEOUT))
            body = answer.json()
            items = body["items"] if isinstance(body, dict) and "items" in body else body
            state["perm_ids"] = [p["id"] for p in items]
            return None
        perm_ids = state["perm_ids"]
        if step == 0:
            self.group_seq += 1
            answer = check(session.post(api + "/groups", headers=headers, timeout=TIMEOUT,
                                        json={"name": "soak-{}".format(self.group_seq), "permission_ids": perm_ids[:3]}), 200, 201)
            state["group"] = answer.json()["id"]
        elif step == 1:
            check(session.patch(api + "/groups/{}".format(state["group"]), headers=headers, timeout=TIMEOUT,
                                json={"permission_ids": random.sample(perm_ids, 5)}))
        elif step == 2:
            check(session.put(api + "/memberships/{}".format(MEMBER), headers=headers, timeout=TIMEOUT,
                              json={"is_staff": True, "group_ids": [state["group"]], "permission_ids": perm_ids[5:7]}), 200, 201)
        elif step == 3:
            check(session.delete(api + "/memberships/{}".format(MEMBER), headers=headers, timeout=TIMEOUT), 200, 204)
        else:
            check(session.delete(api + "/groups/{}".format(state["group"]), headers=headers, timeout=TIMEOUT), 200, 204)
        state["step"] += 1

    # -- pacing -----------------------------------------------------------------------------------

    def worker(self, kind, rate):
        """Requests of `kind` at `rate` per second, paced on a schedule: one that falls behind
        does not burst to catch up more than a second's worth."""
        session = requests.Session()
        action = getattr(self, kind)
        interval = 1.0 / rate
        next_at = time.monotonic() + random.random() * interval
        while not self.stop.is_set():
            now = time.monotonic()
            if next_at > now:
                if self.stop.wait(next_at - now):
                    break
            next_at = max(next_at + interval, time.monotonic() - 1.0)
            started = time.perf_counter()
            try:
                done = action(session)
            except Exception as e:  # noqa: BLE001 — every failure is counted, with its text
                ms = (time.perf_counter() - started) * 1000
                what = str(e) if isinstance(e, Failed) else "{}: {}".format(type(e).__name__, e)
                self.recorder.error(kind, ms, what)
                if not isinstance(e, (Failed, requests.RequestException)):
                    traceback.print_exc()
                continue
            if done is not False:
                self.recorder.ok(kind, (time.perf_counter() - started) * 1000)

    def threads(self):
        rates = dict((k, self.rate * share) for k, share in MIX.items())
        rates["signin"] = self.signin_rate
        out = []
        for kind in KINDS:
            n = THREADS[kind]
            for i in range(n):
                out.append(threading.Thread(target=self.worker, args=(kind, rates[kind] / n), daemon=True,
                                            name="{}-{}".format(kind, i)))
        return out


# -- the process and the database ----------------------------------------------------------------


def proc_figures(pid):
    rss_kib = threads = 0
    with open("/proc/{}/status".format(pid)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir("/proc/{}/fd".format(pid)))
    return rss_kib / 1024, fds, threads


def db_figures(db):
    """(total bytes, {part: bytes}, {table: rows})."""
    counts = {}
    # Expired access tokens still present: the purge's backlog (it deletes 500 a table a round).
    backlog = "SELECT 'access_tokens_expired', COUNT(*) FROM access_tokens WHERE expires_at < {}".format(int(time.time()))
    rows = db.query(" UNION ALL ".join(["SELECT '{0}', COUNT(*) FROM {0}".format(t) for t in GROWING] + [backlog]))
    for name, n in rows:
        counts[name] = int(n)
    if isinstance(db, SqliteDb):
        parts = {}
        for suffix in ("", "-wal"):
            try:
                parts["db" + suffix] = os.path.getsize(db.path + suffix)
            except OSError:
                parts["db" + suffix] = 0
        return sum(parts.values()), parts, counts
    (size,), = db.query("SELECT pg_database_size(current_database())")
    return int(size), {}, counts


def run_backend(backend, binary, minutes, rate, signin_rate, interval, workdir, log):
    os.makedirs(workdir)
    if backend == "sqlite":
        db = SqliteDb(os.path.join(workdir, "centralauth.db"))
    else:
        db = PostgresDb(bench.POSTGRES_URL, "centralauth_soak_{}_{}".format(os.getpid(), secrets.token_hex(4)))
    minutes_out, notes = [], []
    try:
        provider = OursProvider.start(binary, workdir, database_url=db.url)
        pid = provider.server.process.pid
        try:
            target = OursTarget("ours ({})".format(backend), provider, pid, db)
            if backend == "postgres":
                # Without autovacuum dead rows are never reclaimed: the database's growth says so.
                (autovacuum,), = db.query("SHOW autovacuum")
                notes.append("PostgreSQL server: autovacuum {}".format(autovacuum))
            target.seed([])
            provider.create_user(ADMIN, ADMIN_PASSWORD, admin=True)
            provider.create_user(MEMBER, MEMBER_PASSWORD)
            out = provider.cli("token", "create", "soak", "--user", ADMIN)
            api_token = next((w for line in out.splitlines() for w in line.split() if len(w) >= 40), None)
            if api_token is None:
                raise RuntimeError("no API token in: {!r}".format(out))
            browser = Browser(ADMIN, ADMIN_PASSWORD)
            visit = browser.visit(provider.base_url + "/console/")
            if visit.response.status_code != 200:
                raise RuntimeError("console sign-in failed: {} {}".format(visit.response.status_code, visit.hops))
            (app_id,), = db.query("SELECT id FROM applications WHERE client_id = '{}'".format(CLIENT_ID))
            (member_id,), = db.query("SELECT id FROM users WHERE username_key = '{}'".format(USERNAME))
            pages = ["/console/users/", "/console/applications/", "/console/applications/{}/members/".format(app_id),
                     "/console/applications/{}/groups/".format(app_id), "/console/audit/",
                     "/console/applications/{}/permissions/".format(app_id), "/console/users/{}/".format(member_id),
                     "/console/users/?q=bench"]
            recorder, stop = Recorder(), threading.Event()
            load = Load(target, api_token, browser, pages, rate, signin_rate, recorder, stop)
            # A first sign-in so that every kind has tokens from the first second on.
            load.signin(requests.Session())
            load.signin(requests.Session())
            workers = load.threads()
            started = time.monotonic()
            cpu0 = bench.cpu_seconds(pid)
            for w in workers:
                w.start()
            log("{}: load started, {} threads, pid {}".format(backend, len(workers), pid))
            for minute in range(1, minutes + 1):
                deadline = started + minute * interval
                while time.monotonic() < deadline:
                    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                    if provider.server.process.poll() is not None:
                        raise RuntimeError("the provider exited with {}".format(provider.server.process.returncode))
                latencies, errors, samples = recorder.swap()
                cpu1 = bench.cpu_seconds(pid)
                rss, fds, threads = proc_figures(pid)
                size, parts, counts = db_figures(db)
                all_ms = [ms for k in KINDS for ms in latencies[k]]
                row = {
                    "minute": minute,
                    "rss_mib": round(rss, 1),
                    "fds": fds,
                    "threads": threads,
                    "db_bytes": size,
                    "db_parts": parts,
                    "rows": counts,
                    "cpu_pct": round(100 * (cpu1 - cpu0) / interval, 1),
                    # The machine's, to tell the provider's slowness from other work's.
                    "loadavg_1m": os.getloadavg()[0],
                    "requests": {k: len(latencies[k]) for k in KINDS},
                    "errors": errors,
                    "error_samples": {k: v for k, v in samples.items() if v},
                    "p99_ms": {k: (round(percentile(latencies[k], 0.99), 1) if latencies[k] else None) for k in KINDS},
                    "p99_all_ms": round(percentile(all_ms, 0.99), 1) if all_ms else None,
                    "p50_all_ms": round(percentile(all_ms, 0.5), 1) if all_ms else None,
                }
                cpu0 = cpu1
                minutes_out.append(row)
                log("{}: min {:3d}  rss {:6.1f} MiB  fds {:3d}  db {:8.2f} MiB  req {:5d}  err {:3d}  p99 {:6.1f} ms  cpu {:5.1f} %{}".format(
                    backend, minute, rss, fds, size / 2**20, len(all_ms), sum(errors.values()), row["p99_all_ms"] or 0,
                    row["cpu_pct"], "  " + json.dumps(row["error_samples"]) if row["error_samples"] else ""))
            stop.set()
            for w in workers:
                w.join(timeout=TIMEOUT + 5)
            log_errors = target.log_errors()
            if log_errors:
                notes.append("provider log errors: {}".format(json.dumps(log_errors)))
        finally:
            provider.stop()
    finally:
        db.drop()
    return minutes_out, notes


# -- the report ----------------------------------------------------------------------------------


def summary_rows(minutes, every):
    """The minutes shown: the first, every `every`th, the last."""
    keep = [m for m in minutes if m["minute"] == 1 or m["minute"] % every == 0 or m is minutes[-1]]
    return keep


def slope(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def fmt(v, digits=1):
    return "—" if v is None else "{:.{}f}".format(v, digits)


def report(backend, minutes, notes, info, every=5):
    lines = ["## Soak: ours ({})".format(backend), "",
             "`{}`, git {}, {}; {}.".format(info["command"], info["git"], info["machine"], info["started"]), ""]
    lines += ["| min | RSS MiB | fds | threads | DB MiB | CPU % | load | req/s | errors | p50 ms | p99 ms | " +
              " | ".join("p99 {}".format(k) for k in KINDS) + " |",
              "| ---: " * (11 + len(KINDS)) + "|"]
    for m in summary_rows(minutes, every):
        total = sum(m["requests"].values())
        lines.append("| {} | {} | {} | {} | {:.2f} | {} | {} | {:.0f} | {} | {} | {} | {} |".format(
            m["minute"], fmt(m["rss_mib"]), m["fds"], m["threads"], m["db_bytes"] / 2**20, fmt(m["cpu_pct"]),
            fmt(m.get("loadavg_1m")), total / info["interval"], sum(m["errors"].values()), fmt(m["p50_all_ms"]),
            fmt(m["p99_all_ms"]), " | ".join(fmt(m["p99_ms"][k]) for k in KINDS)))
    if minutes:
        def col(key):
            return [m[key] for m in minutes if m[key] is not None]
        warm = min(5, len(minutes)) - 1  # the figures after warm-up are judged from minute 5 on
        lines += ["", "| figure | first minute | minute {} | last minute | min | max |".format(warm + 1),
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, key, scale in (("RSS MiB", "rss_mib", 1), ("open fds", "fds", 1), ("threads", "threads", 1),
                                  ("DB MiB", "db_bytes", 2**20), ("p99 ms (all)", "p99_all_ms", 1)):
            values = [v / scale for v in col(key)]
            lines.append("| {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |".format(
                label, values[0], values[min(warm, len(values) - 1)], values[-1], min(values), max(values)))
        after = minutes[warm:]
        if len(after) >= 3:
            lines += ["", "Trend from minute {} on (least-squares slope per 10 minutes): ".format(warm + 1) + ", ".join(
                "{} {:+.2f}".format(label, 10 * slope([m["minute"] for m in after], [get(m) for m in after]))
                for label, get in (("RSS MiB", lambda m: m["rss_mib"]), ("fds", lambda m: m["fds"]),
                                   ("DB MiB", lambda m: m["db_bytes"] / 2**20),
                                   ("p99 ms", lambda m: m["p99_all_ms"] or 0))) + "."]
        total_req = {k: sum(m["requests"][k] for m in minutes) for k in KINDS}
        total_err = {k: sum(m["errors"][k] for m in minutes) for k in KINDS}
        lines += ["", "Requests (errors) per kind over the run: " + ", ".join(
            "{} {} ({})".format(k, total_req[k], total_err[k]) for k in KINDS) + "."]
        first, last = minutes[0]["rows"], minutes[-1]["rows"]
        lines += ["", "Rows, first → last minute: " + ", ".join(
            "{} {} → {}".format(t, first.get(t), last.get(t)) for t in GROWING + ["access_tokens_expired"] if t in last) + "."]
        samples = {}
        for m in minutes:
            for k, v in m["error_samples"].items():
                samples.setdefault(k, []).extend(v)
        if samples:
            lines += ["", "Error samples: " + json.dumps({k: v[:3] for k, v in samples.items()})]
    lines += [""] + ["- " + n for n in notes]
    return "\n".join(lines) + "\n"


def write_outputs(backend, minutes, notes, info, stamp):
    os.makedirs(bench.RESULTS, exist_ok=True)
    base = os.path.join(bench.RESULTS, "soak-{}-{}".format(stamp, backend))
    with open(base + ".json", "w") as f:
        json.dump({"info": info, "backend": backend, "minutes": minutes, "notes": notes}, f, indent=1)
    with open(base + ".csv", "w") as f:
        head = (["minute", "rss_mib", "fds", "threads", "db_bytes", "cpu_pct", "p50_all_ms", "p99_all_ms"] +
                ["requests_" + k for k in KINDS] + ["errors_" + k for k in KINDS] + ["p99_ms_" + k for k in KINDS] +
                ["rows_" + t for t in GROWING + ["access_tokens_expired"]] + ["loadavg_1m"])
        f.write(",".join(head) + "\n")
        for m in minutes:
            cells = ([m[k] for k in head[:8]] + [m["requests"][k] for k in KINDS] + [m["errors"][k] for k in KINDS] +
                     [m["p99_ms"][k] for k in KINDS] + [m["rows"].get(t) for t in GROWING + ["access_tokens_expired"]] +
                     [m.get("loadavg_1m")])
            f.write(",".join("" if c is None else str(c) for c in cells) + "\n")
    text = report(backend, minutes, notes, info)
    with open(base + ".md", "w") as f:
        f.write(text)
    return base, text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=60, help="minutes of load (default 60)")
    parser.add_argument("--rate", type=float, default=150.0,
                        help="requests per second over the non-sign-in kinds (default 150)")
    parser.add_argument("--signin-rate", type=float, default=1.0, help="browser sign-ins per second (default 1)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per sample (default 60: one a minute)")
    parser.add_argument("--report", metavar="JSON", help="print the Markdown report of a run's JSON again, and exit")
    parser.add_argument("--command", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            run = json.load(f)
        print(report(run["backend"], run["minutes"], run["notes"], run["info"]))
        return 0
    if not args.binary:
        parser.error("--binary is required")
    started = datetime.datetime.now()
    stamp = args.stamp or started.strftime("%Y%m%d-%H%M%S")
    command = args.command or "bench/soak " + " ".join(argv or sys.argv[1:])

    def log(message):
        print("[{:7.1f}s] {}".format((datetime.datetime.now() - started).total_seconds(), message), file=sys.stderr, flush=True)

    if args.backend == "both":
        # One process per backend, at the same time: each with its own provider and load.
        children = []
        for backend in ("sqlite", "postgres"):
            argv_child = [sys.executable, os.path.abspath(__file__), "--binary", args.binary, "--backend", backend,
                          "--duration", str(args.duration), "--rate", str(args.rate), "--signin-rate", str(args.signin_rate),
                          "--interval", str(args.interval), "--command", command, "--stamp", stamp]
            children.append(subprocess.Popen(argv_child))
        codes = [c.wait() for c in children]
        texts = []
        for backend in ("sqlite", "postgres"):
            path = os.path.join(bench.RESULTS, "soak-{}-{}.md".format(stamp, backend))
            if os.path.exists(path):
                with open(path) as f:
                    texts.append(f.read())
        print("\n".join(texts))
        return max(codes)

    info = {"command": command, "git": bench.git_describe(), "machine": "{}, {} cores".format(bench.cpu_name(), os.cpu_count()),
            "started": started.strftime("%Y-%m-%d %H:%M"), "rate": args.rate, "signin_rate": args.signin_rate,
            "interval": args.interval, "duration_minutes": args.duration,
            "together": args.stamp is not None}
    workdir = tempfile.mkdtemp(prefix="centralauth-soak-{}-".format(args.backend))
    minutes, notes = run_backend(args.backend, args.binary, args.duration, args.rate, args.signin_rate, args.interval,
                                 os.path.join(workdir, args.backend), log)
    base, text = write_outputs(args.backend, minutes, notes, info, stamp)
    print(text)
    log("written to {}.{{json,csv,md}}".format(os.path.relpath(base, bench.REPO)))
    return 1 if any(sum(m["errors"].values()) for m in minutes) else 0


if __name__ == "__main__":
    sys.exit(main())
