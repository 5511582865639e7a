"""Starts the real auth-server binary for the client tests.

One server per test session: a fresh SQLite database and key directory in a
temporary folder, bootstrapped with an admin, listening on a free loopback
port. AUTH_SERVER_BIN names the binary (scripts/test builds it). Tests that
need their own server (another configuration, or one they stop) use
`running_server`.
"""

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ADMIN_PASSWORD = "client-tests-admin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_binary():
    binary = os.environ.get("AUTH_SERVER_BIN")
    if not binary or not os.path.exists(binary):
        pytest.fail("AUTH_SERVER_BIN must name the built auth-server binary")
    return binary


class Server:
    """One auth-server: its database, keys and log live in `workdir`; with
    `config` (TOML text), a configuration file there too (AUTH_CONFIG)."""

    def __init__(self, binary, workdir, port, config=None):
        self.binary = binary
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.v3 = f"{self.base}/v3"
        self.log = os.path.join(workdir, "server.log")
        self.process = None
        self.env = dict(
            os.environ,
            AUTH_DATABASE_URL=f"sqlite://{workdir}/auth.db",
            AUTH_KEYS_DIR=f"{workdir}/keys",
            AUTH_LISTEN=f"127.0.0.1:{port}",
            AUTH_PUBLIC_URL=self.base,
        )
        self.env.pop("AUTH_CONFIG", None)
        if config is not None:
            path = os.path.join(workdir, "auth.toml")
            with open(path, "w") as f:
                f.write(config)
            self.env["AUTH_CONFIG"] = path

    def run(self, *args):
        done = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"auth-server {' '.join(args[:1])} failed ({done.returncode}):\n{done.stderr}")
        return done

    def log_tail(self, lines=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self):
        """Serves (again, on the same port, database and keys) and waits until it answers."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.v3, timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"auth-server did not start; its log ends with:\n{self.log_tail()}")
                time.sleep(0.1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def running_server(config=None):
    """A bootstrapped auth-server on a free port, stopped at the end."""
    binary = server_binary()
    with tempfile.TemporaryDirectory() as workdir:
        srv = Server(binary, workdir, free_port(), config)
        srv.run("bootstrap", "--admin-password", ADMIN_PASSWORD, "--public-url", srv.base)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="session")
def server():
    with running_server() as srv:
        yield srv
