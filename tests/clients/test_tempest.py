"""tempest's identity API tests (`tempest.api.identity`: v3 and admin v3,
dynamic credentials) against the built server, as an operator replacing
Keystone would run them.

tempest (pinned in requirements-tempest.txt) lives in its own virtualenv,
.venv-tempest (TEMPEST_BIN names its `tempest` otherwise). The run must
match `tempest_expected_failures.txt` exactly: a test failing that is not
listed is a regression, and a listed test that passes must leave the list,
so the list always says what is missing (the README explains each entry).
"""

import os
import re
import subprocess

import pytest

from conftest import ADMIN_PASSWORD, running_server
from orthanc_harness import REPO, _missing

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "tempest_expected_failures.txt")

TEMPEST_CONF = """\
[DEFAULT]
log_file = tempest.log

[auth]
use_dynamic_credentials = True
admin_username = admin
admin_password = {password}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {v3}
auth_version = v3
region = RegionOne

[identity-feature-enabled]
api_v2 = False
api_v3 = True
trust = True
security_compliance = False
application_credentials = True
access_rules = True
project_tags = True

[service_available]
cinder = False
glance = False
neutron = False
nova = False
swift = False
"""

# `{worker} test_id[attributes] [time] ... status`, and class fixtures as
# `{worker} setUpClass (module.Class) ... FAILED`.
RESULT = re.compile(r"^\{\d+\} (?P<name>.+?)(?: \[[\d.]+s\])? \.\.\. (?P<status>ok|FAILED|SKIPPED)")


def tempest_bin():
    binary = os.environ.get("TEMPEST_BIN") or os.path.join(REPO, ".venv-tempest", "bin", "tempest")
    if not os.access(binary, os.X_OK):
        _missing(f"tempest is missing ({binary}): python3 -m venv .venv-tempest && "
                 ".venv-tempest/bin/pip install -r tests/clients/requirements-tempest.txt")
    return binary


def expected_failures():
    with open(EXPECTED) as f:
        return {line.split("#")[0].strip() for line in f if line.split("#")[0].strip()}


def results(output):
    """Each test (or class fixture) and its status."""
    found = {}
    for line in output.splitlines():
        match = RESULT.match(line)
        if match:
            name = re.sub(r"\[[^\]]*\]", "", match["name"]).strip()
            found[name] = match["status"]
    return found


def test_tempest_identity_api_runs_as_listed(tmp_path):
    tempest = tempest_bin()
    with running_server() as srv:
        workspace = tmp_path / "tempest"
        # A workspace file of its own: tempest keeps a global one, in which
        # a name used by an earlier run would make `init` fail.
        init = [tempest, "init", "--workspace-path", str(tmp_path / "workspaces.yaml"), str(workspace)]
        subprocess.run(init, check=True, capture_output=True, timeout=120)
        (workspace / "etc" / "tempest.conf").write_text(TEMPEST_CONF.format(password=ADMIN_PASSWORD, v3=srv.v3))
        done = subprocess.run(
            [tempest, "run", "--regex", r"tempest\.api\.identity", "--concurrency", "2"],
            cwd=workspace, capture_output=True, text=True, timeout=1200,
        )
    found = results(done.stdout)
    passed = sorted(n for n, s in found.items() if s == "ok")
    failed = {n for n, s in found.items() if s == "FAILED"}
    skipped = sorted(n for n, s in found.items() if s == "SKIPPED")
    print(f"tempest.api.identity: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    assert passed, f"tempest ran nothing:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    expected = expected_failures()
    regressions = sorted(failed - expected)
    now_passing = sorted(expected - failed)
    assert not regressions, "failing, and not in tempest_expected_failures.txt:\n" + "\n".join(regressions)
    assert not now_passing, "passing (or gone) now: remove from tempest_expected_failures.txt:\n" + "\n".join(now_passing)
