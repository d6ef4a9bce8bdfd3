"""Child processes of the harness: servers on free ports, and one-shot commands.

A server binds port 0 and prints the address it got; we read it back from its log file, then poll
it over HTTP until it answers. Every wait has a deadline; nothing waits for a fixed time.
"""
import os
import re
import signal
import subprocess
import sys
import time

import requests

START_TIMEOUT = 60.0
VENV_BIN = os.path.dirname(sys.executable)


def poll(condition, timeout, what, interval=0.05):
    """Call `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after {:.0f} s waiting for {}".format(timeout, what))
        time.sleep(interval)


def run(argv, *, cwd=None, env=None, stdin=None, timeout=120, check=True):
    """Run a command to its end; return the CompletedProcess, its output in the error if it fails."""
    done = subprocess.run(
        argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise RuntimeError(
            "command failed ({}): {}\n--- stdout\n{}\n--- stderr\n{}".format(
                done.returncode, " ".join(map(str, argv)), done.stdout, done.stderr
            )
        )
    return done


class ServerProcess:
    """A server started in its own process group, stdout and stderr going to `log_path`."""

    def __init__(self, name, argv, *, cwd, env, log_path):
        self.name = name
        self.cwd = cwd
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for_line(self, pattern, timeout=START_TIMEOUT):
        """Wait until the log has a line matching `pattern`; return the match."""
        regex = re.compile(pattern, re.MULTILINE)

        def matched():
            if self.process.poll() is not None:
                raise RuntimeError(
                    "{} exited with {} before printing {!r}:\n{}".format(
                        self.name, self.process.returncode, pattern, self.log()
                    )
                )
            return regex.search(self.log())

        return poll(matched, timeout, "{} to print {!r}".format(self.name, pattern))

    def wait_until_answering(self, url, timeout=START_TIMEOUT):
        """Wait until `url` gives any HTTP answer."""

        def answered():
            if self.process.poll() is not None:
                raise RuntimeError("{} exited:\n{}".format(self.name, self.log()))
            try:
                requests.get(url, timeout=2, allow_redirects=False)
                return True
            except requests.ConnectionError:
                return False

        poll(answered, timeout, "{} to answer at {}".format(self.name, url))

    def stop(self):
        if self.process.poll() is None:
            # The group is ours: it was created for this child (start_new_session).
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


def start_gunicorn(name, project_dir, wsgi_app, env, log_path, workers=1, threads=4):
    """Serve a Django project with gunicorn on a free port of 127.0.0.1; return (server, base_url).
    `threads=1` gives gunicorn's default sync workers (bench/run: 2 of them, as deployed)."""
    server = ServerProcess(
        name,
        [
            os.path.join(VENV_BIN, "gunicorn"),
            "--bind", "127.0.0.1:0",
            "--workers", str(workers),
            "--threads", str(threads),
            "--no-control-socket",
            "--error-logfile", "-",
            wsgi_app,
        ],
        cwd=project_dir,
        env=env,
        log_path=log_path,
    )
    try:
        match = server.wait_for_line(r"Listening at: (http://127\.0\.0\.1:\d+)")
        base_url = match.group(1)
        server.wait_until_answering(base_url + "/")
    except BaseException:
        server.stop()
        raise
    return server, base_url


def django_env(**settings_env):
    """The environment for a Django project of the harness: ours plus `settings_env`."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONWARNINGS"] = "ignore"
    env.update({key: str(value) for key, value in settings_env.items()})
    return env
