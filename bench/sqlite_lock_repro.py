"""Reproduces an open issue found by bench/run: after a burst of refresh grants cut off by the
end of a wrk run, our provider on SQLite sometimes (about 1 run in 5 here) keeps SQLite's write
lock. Another process then cannot write (BEGIN IMMEDIATE times out), and the provider's own
later writes (a sign-in's session) go into a transaction that is never committed: the next
request, served by another connection, does not see them.

    tests/interop/.venv/bin/python bench/sqlite_lock_repro.py target/release/centralauth [ATTEMPTS]

Each attempt: a fresh server and database, the bench seed, 10 s of /user/ load, then 10 s of
refresh grants (wrk -t2 -c16), then a write from another process. Stops at the first attempt
that finds the lock held and prints what the server did after it. bench/run restarts the server
between scenarios, so its figures are not affected.
"""
import os
import sqlite3
import sys
import tempfile

import bench

ATTEMPTS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def main(binary):
    settings = bench.Settings(bench.argparse.Namespace(duration=10, threads=2, connections=16, login_rounds=1,
                                                       perms_sizes=[996], only=["refresh"]))
    client = bench.basic(bench.CLIENT_ID, bench.CLIENT_SECRET)
    for attempt in range(ATTEMPTS):
        workdir = tempfile.mkdtemp(prefix="centralauth-lock-")
        db = bench.SqliteDb(os.path.join(workdir, "centralauth.db"))
        provider = bench.OursProvider.start(binary, workdir, database_url=db.url)
        target = bench.OursTarget("ours", provider, provider.server.process.pid, db)
        try:
            target.seed([996])
            token = target.browser_login()["access_token"]
            user = bench.wrk(settings, target.url("/user/"), target.pid, auth="Bearer " + token)
            refresh = target.refresh_tokens(int(user.rps * 12) + 2000)
            load = bench.wrk(settings, target.url("/o/token/"), target.pid, "POST", client,
                             bodies=["grant_type=refresh_token&refresh_token=" + t for t in refresh])
            other = sqlite3.connect(db.path, timeout=3, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("COMMIT")
                print("attempt {}: {:.0f} refresh/s, write lock free afterwards".format(attempt, load.rps), flush=True)
                continue
            except sqlite3.OperationalError as e:
                print("attempt {}: {:.0f} refresh/s, then another process could not write for 3 s: {}".format(
                    attempt, load.rps, e), flush=True)
            try:
                target.browser_login()
                print("  a sign-in through the provider still works", flush=True)
            except Exception as e:  # noqa: BLE001
                print("  a sign-in through the provider fails: {}".format(str(e)[:200]), flush=True)
            print("  server log:\n" + provider.server.log()[-2000:], flush=True)
            return 1
        finally:
            provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(os.path.abspath(sys.argv[1])))
