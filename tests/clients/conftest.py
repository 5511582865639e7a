"""Starts the real auth-server binary for the client tests.

One server per test session: a fresh SQLite database and key directory in a
temporary folder, bootstrapped with an admin, listening on a free loopback
port. AUTH_SERVER_BIN names the binary (scripts/test builds it).
"""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ADMIN_PASSWORD = "client-tests-admin"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, workdir, port):
        self.binary = binary
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.v3 = f"{self.base}/v3"
        self.env = dict(
            os.environ,
            AUTH_DATABASE_URL=f"sqlite://{workdir}/auth.db",
            AUTH_KEYS_DIR=f"{workdir}/keys",
            AUTH_LISTEN=f"127.0.0.1:{port}",
            AUTH_PUBLIC_URL=self.base,
        )

    def run(self, *args):
        return subprocess.run(
            [self.binary, *args], env=self.env, check=True, capture_output=True, text=True, timeout=60
        )


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("AUTH_SERVER_BIN")
    if not binary or not os.path.exists(binary):
        pytest.fail("AUTH_SERVER_BIN must name the built auth-server binary")
    with tempfile.TemporaryDirectory() as workdir:
        srv = Server(binary, workdir, _free_port())
        srv.run("bootstrap", "--admin-password", ADMIN_PASSWORD, "--public-url", srv.base)
        process = subprocess.Popen(
            [binary, "serve"], env=srv.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(srv.v3, timeout=1)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"auth-server did not start: {process.stderr.read()}")
                    time.sleep(0.1)
            yield srv
        finally:
            process.terminate()
            process.wait(timeout=10)
