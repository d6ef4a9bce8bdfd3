"""The console's list and search pages, and the admin API's lists, with 1,000,000 users and
100,000 memberships in the database (issue #3): each page requested sequentially by a signed-in
administrator on loopback, p50 and p95 of the time to the complete answer, which is the server's
time plus a loopback round trip. Target: under 50 ms. Run by `bench/run-admin` (see README.md).
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time

import bench  # noqa: E402  (bench/bench.py: servers, databases, the scale seed)
from bench import OursProvider, OursTarget, PostgresDb, SqliteDb, percentile, scale_seed

import requests  # noqa: E402
from browser import Browser  # noqa: E402

ADMIN, ADMIN_PASSWORD = "benchadmin", "bench-Admin-password-1"
TARGET_MS = 50.0

# (label, path): the console's list and search pages and the API's lists. The scale seed's users
# are scale1 … scale1000000 ("Scale" "User N", scaleN@example.org); scale-app-7 has 100 members.
# {app} and {user} are the console's ids of scale-app-7 and scale8.
PAGES = [
    ("users, first page", "/console/users/"),
    ("users, a page deep in the list", "/console/users/?after=scale500000"),
    ("users, filter: administrators", "/console/users/?admin=yes"),
    ("users, filter: inactive", "/console/users/?active=no"),
    ("users, search one user", "/console/users/?q=scale123456"),
    ("users, search a broad prefix (111,111 match)", "/console/users/?q=scale5"),
    ("users, search by last name", "/console/users/?q=user%204242"),
    ("users, search by e-mail", "/console/users/?q=scale77%40"),
    ("a user with their memberships", "/console/users/{user}/"),
    ("applications (1,001)", "/console/applications/"),
    ("memberships of an application", "/console/applications/{app}/members/"),
    ("memberships, search", "/console/applications/{app}/members/?q=scale1007"),
    ("permissions with usage", "/console/applications/{app}/permissions/"),
    ("groups", "/console/applications/{app}/groups/"),
    ("audit log", "/console/audit/"),
    ("API: users, search", "/api/v1/users?search=scale123"),
    ("API: users, a deep page", "/api/v1/users?after=scale700000&limit=50"),
    ("API: memberships of an application", "/api/v1/applications/scale-app-7/memberships"),
]


def timed(session, url, rounds, headers=None):
    times, statuses = [], set()
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url, allow_redirects=False, timeout=60, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    return times, statuses


def run_backend(backend, binary, rounds, workdir, log):
    os.makedirs(workdir)
    db = SqliteDb(os.path.join(workdir, "centralauth.db")) if backend == "sqlite" else PostgresDb(
        bench.POSTGRES_URL, "centralauth_bench_admin_{}".format(os.getpid()))
    rows = []
    try:
        provider = OursProvider.start(binary, workdir, database_url=db.url)
        try:
            target = OursTarget("ours ({})".format(backend), provider, None, db)
            target.seed([])
            log("{}: seeding 1,000,000 users and 100,000 memberships".format(backend))
            started = time.perf_counter()
            scale_seed(db)
            log("{}: seeded in {:.0f} s".format(backend, time.perf_counter() - started))
            provider.cli("user", "create", ADMIN, "--admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
            browser = Browser(ADMIN, ADMIN_PASSWORD)
            visit = browser.visit(provider.base_url + "/console/")
            if visit.response.status_code != 200:
                raise RuntimeError("console sign-in failed: {} {}".format(visit.response.status_code, visit.hops))
            token = None
            try:
                out = provider.cli("token", "create", "bench", "--user", ADMIN)
                token = next((w for line in out.splitlines() for w in line.split() if len(w) >= 40), None)
                if token is None:
                    raise RuntimeError("no token in: {!r}".format(out))
            except Exception as e:  # noqa: BLE001 — the API part is skipped without a token
                log("{}: no API token ({})".format(backend, e))
            (app,), = db.query("SELECT id FROM applications WHERE client_id = 'scale-app-7'")
            (user,), = db.query("SELECT id FROM users WHERE username_key = 'scale8'")
            for label, path in PAGES:
                path = path.format(app=app, user=user)
                is_api = path.startswith("/api/")
                if is_api and token is None:
                    continue
                headers = {"Authorization": "Bearer " + token} if is_api else None
                session = requests.Session() if is_api else browser.session
                url = provider.base_url + path
                timed(session, url, 3, headers)  # warm-up
                times, statuses = timed(session, url, rounds, headers)
                rows.append((label, path, percentile(times, 0.5), percentile(times, 0.95), max(times), statuses))
                log("{}: {:<48} p50 {:6.1f} ms  p95 {:6.1f} ms  {}".format(backend, label, rows[-1][2], rows[-1][3], sorted(statuses)))
        finally:
            provider.stop()
    finally:
        db.drop()
    return rows


def report(results, rounds):
    lines = ["# Console and admin API at 1,000,000 users and 100,000 memberships", "",
             "{} sequential requests per page after 3 of warm-up, signed in as an administrator; time to the complete "
             "answer on loopback. Target: under {:.0f} ms.".format(rounds, TARGET_MS), ""]
    for backend, rows in results.items():
        lines += ["## {}".format(backend), "", "| page | path | p50 ms | p95 ms | max ms | status | under 50 ms (p95) |",
                  "| --- | --- | ---: | ---: | ---: | --- | --- |"]
        for label, path, p50, p95, worst, statuses in rows:
            ok = "yes" if p95 < TARGET_MS and statuses <= {200} else "**no**"
            lines.append("| {} | `{}` | {:.1f} | {:.1f} | {:.1f} | {} | {} |".format(
                label, path, p50, p95, worst, ",".join(map(str, sorted(statuses))), ok))
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    started = datetime.datetime.now()
    workdir = tempfile.mkdtemp(prefix="centralauth-bench-admin-")

    def log(message):
        print("[{:7.1f}s] {}".format((datetime.datetime.now() - started).total_seconds(), message), file=sys.stderr, flush=True)

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {b: run_backend(b, args.binary, args.rounds, os.path.join(workdir, b), log) for b in backends}
    text = report(results, args.rounds)
    os.makedirs(bench.RESULTS, exist_ok=True)
    path = os.path.join(bench.RESULTS, "admin-{}.md".format(started.strftime("%Y%m%d-%H%M%S")))
    with open(path, "w") as f:
        f.write(text)
    print(text)
    log("written to {}".format(os.path.relpath(path, bench.REPO)))
    failed = any(not (p95 < TARGET_MS and statuses <= {200}) for rows in results.values() for *_, p95, _, statuses in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
