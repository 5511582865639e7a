"""Debian's Orthanc with the real authorization plugin, and the Keystone
calls that set up its users, for test_orthanc.py.

The plugin (built outside this repository, never committed) and its
start.sh/stop.sh are found through ORTHANC_AUTHZ_DIR, else the shared/
folder beside the checkout, else /work/shared/orthanc. Without them, or
without /usr/sbin/Orthanc, the tests skip with a notice, or fail when
AUTH_REQUIRE_CLIENTS=1 (CI).
"""

import io
import os
import subprocess

import pytest
import requests
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ORTHANC_BIN = "/usr/sbin/Orthanc"
PLUGIN = "libOrthancAuthorization.so"


def _missing(what):
    if os.environ.get("AUTH_REQUIRE_CLIENTS") == "1":
        pytest.fail(what)
    pytest.skip(what)


def plugin_dir():
    """The folder with the plugin and its scripts, or skip/fail."""
    candidates = [os.environ.get("ORTHANC_AUTHZ_DIR"), os.path.join(REPO, "..", "shared", "orthanc"), "/work/shared/orthanc"]
    for folder in candidates:
        if folder and all(os.path.isfile(os.path.join(folder, f)) for f in (PLUGIN, "start.sh", "stop.sh")):
            return os.path.abspath(folder)
    _missing(f"the Orthanc authorization plugin is missing (looked in {[c for c in candidates if c]})")


def require_orthanc():
    if not os.access(ORTHANC_BIN, os.X_OK):
        _missing(f"{ORTHANC_BIN} is missing: apt-get install orthanc orthanc-dicomweb liborthancframework1")


class Orthanc:
    """One Orthanc started by the shared start.sh, in its own RUN_DIR."""

    def __init__(self, scripts, run_dir, authz_url, ws_user, ws_password, http_port, dicom_port):
        self.scripts = scripts
        self.run_dir = run_dir
        self.base = f"http://127.0.0.1:{http_port}"
        self.env = dict(
            os.environ,
            AUTHZ_URL=authz_url,
            HTTP_PORT=str(http_port),
            DICOM_PORT=str(dicom_port),
            WS_USER=ws_user,
            WS_PASSWORD=ws_password,
            TOKEN_HEADERS="token,Authorization",
            TOKEN_ARGS="token",
            AUTHZ_EXTRA_JSON='{"CheckedLevel":"studies"}',
            RUN_DIR=run_dir,
            VERBOSE=os.environ.get("ORTHANC_VERBOSE", "0"),
        )

    def start(self):
        done = subprocess.run(
            ["bash", os.path.join(self.scripts, "start.sh")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"Orthanc did not start:\n{done.stdout}{done.stderr}\nlog:\n{self.log_tail()}")

    def stop(self):
        subprocess.run(
            ["bash", os.path.join(self.scripts, "stop.sh")], env=self.env, capture_output=True, timeout=30
        )

    def log_tail(self, lines=40):
        try:
            with open(os.path.join(self.run_dir, "orthanc.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def request(self, method, path, token=None, how="header", **kwargs):
        """One request to Orthanc, with `token` as the `token` header
        (how="header"), the `?token=` argument (how="arg"), or
        `Authorization: Bearer` (how="bearer")."""
        headers = dict(kwargs.pop("headers", {}))
        params = dict(kwargs.pop("params", {}))
        if token is not None:
            if how == "header":
                headers["token"] = token
            elif how == "arg":
                params["token"] = token
            elif how == "bearer":
                headers["Authorization"] = f"Bearer {token}"
            else:
                raise ValueError(how)
        return requests.request(method, self.base + path, headers=headers, params=params, timeout=30, **kwargs)

    def explain(self, response):
        """A failure message: the request, the answer and the log's tail."""
        req = response.request
        return (
            f"{req.method} {req.url} -> {response.status_code} {response.text[:300]!r}\n"
            f"Orthanc log ({self.run_dir}/orthanc.log) ends with:\n{self.log_tail()}"
        )


def sample(name):
    """The bytes of one of pydicom's bundled test files."""
    with open(get_testdata_file(name), "rb") as f:
        return f.read()


def fresh_study(name="CT_small.dcm"):
    """A pydicom sample with new study, series and instance UIDs: a study of its own."""
    ds = dcmread(get_testdata_file(name))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue(), ds.StudyInstanceUID


class Keystone:
    """The admin's side of the auth-server's Keystone API."""

    def __init__(self, server, admin_password):
        self.v3 = server.v3
        self.admin_token = self.login("admin", admin_password, "admin")

    def login(self, user, password, project):
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        r = requests.post(f"{self.v3}/auth/tokens", json=body, timeout=30)
        assert r.status_code == 201, f"login of {user}: {r.status_code} {r.text}"
        return r.headers["X-Subject-Token"]

    def call(self, method, path, expect, **kwargs):
        headers = {"X-Auth-Token": self.admin_token, **kwargs.pop("headers", {})}
        r = requests.request(method, self.v3 + path, headers=headers, timeout=30, **kwargs)
        assert r.status_code in expect, f"{method} /v3{path}: {r.status_code} {r.text}"
        return r

    def role(self, name):
        """The role's id, created when missing."""
        found = self.call("GET", "/roles", (200,), params={"name": name}).json()["roles"]
        if found:
            return found[0]["id"]
        return self.call("POST", "/roles", (201,), json={"role": {"name": name}}).json()["role"]["id"]

    def project(self, name):
        body = {"project": {"name": name, "domain_id": "default"}}
        return self.call("POST", "/projects", (201,), json=body).json()["project"]["id"]

    def user(self, name, password, project_id, role_name):
        """A user of the default domain holding `role_name` on the project."""
        body = {"user": {"name": name, "domain_id": "default", "password": password}}
        user_id = self.call("POST", "/users", (201,), json=body).json()["user"]["id"]
        role_id = self.role(role_name)
        self.call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}", (200, 204))
        return user_id

    def revoke(self, token):
        self.call("DELETE", "/auth/tokens", (204,), headers={"X-Subject-Token": token})
