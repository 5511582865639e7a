"""dicomtrolley 4.1.0, unmodified, through the auth-server's gateway to a
plain Debian Orthanc with DICOMweb (no authorization of its own).

One Orthanc holding pydicom's CT_small, MR_small and rtplan (three
studies) and one auth-server whose [gateway] forwards to it, for the
module. The admin creates, through the Keystone API, `reader` (view and
download), `looker` (view only) and `uploader` (upload only, so no view)
on project `imaging`. dicomtrolley logs in the way Vitrea does
(`create_session(login_url, user, password, realm)`: a 401 makes it POST
X-Userid/X-Password/X-Realm to the login path and retry once with the
session cookie), searches with QIDO-RS and downloads with WADO-RS.

That the caller's cookie and token never reach the upstream cannot be
seen from here (Orthanc does not show a request's headers); the Rust
gateway tests check it against an upstream that records them.
"""

import os
from dataclasses import dataclass

import pytest
import requests
from pydicom import dcmread
from pydicom.data import get_testdata_file

from conftest import ADMIN_PASSWORD, free_port, running_server
from dicom_harness import SAMPLES, PlainOrthanc, require_plain_orthanc, scripts_dir
from orthanc_harness import Keystone, _missing

try:
    from dicomtrolley.auth import DICOMTrolleyAuthError, create_session
    from dicomtrolley.core import Query, QueryLevels
    from dicomtrolley.exceptions import DICOMTrolleyError
    from dicomtrolley.qido_rs import QidoRS
    from dicomtrolley.trolley import Trolley
    from dicomtrolley.wado_rs import WadoRS
except ImportError:  # pragma: no cover - reported by the fixture
    create_session = None

REALM = "DefaultSystemRealm"
COOKIE = "session"
PASSWORDS = {"reader": "reader-password", "looker": "looker-password", "uploader": "uploader-password"}


@dataclass
class World:
    gateway: str
    keystone: Keystone
    orthanc: PlainOrthanc
    # StudyInstanceUID of each sample file.
    studies: dict

    @property
    def login_url(self):
        return f"{self.gateway}/login"

    @property
    def dicom_web(self):
        return f"{self.gateway}/dicom-web"


def trolley(world, session):
    return Trolley(searcher=QidoRS(session, world.dicom_web), downloader=WadoRS(session, world.dicom_web))


def every_study():
    return Query(query_level=QueryLevels.STUDY)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if create_session is None:
        _missing("dicomtrolley is not installed: pip install -r tests/clients/requirements.txt")
    require_plain_orthanc()
    scripts = scripts_dir()
    orthanc = PlainOrthanc(scripts, str(tmp_path_factory.mktemp("orthanc-plain")), free_port(), free_port())
    orthanc.start()
    try:
        orthanc.load_samples()
        stored = requests.get(f"{orthanc.base}/studies", timeout=30).json()
        assert len(stored) == len(SAMPLES), stored
        gateway_port = free_port()
        config = f"""
[orthanc.roles.reader]
permissions = ["view", "download"]
authorized_labels = ["*"]
[orthanc.roles.looker]
permissions = ["view"]
authorized_labels = ["*"]
[orthanc.roles.uploader]
permissions = ["upload"]
authorized_labels = ["*"]
[gateway]
listen = "127.0.0.1:{gateway_port}"
upstream = "{orthanc.base}"
cookie_name = "{COOKIE}"
"""
        with running_server(config) as server:
            keystone = Keystone(server, ADMIN_PASSWORD)
            project = keystone.project("imaging")
            for name in PASSWORDS:
                keystone.user(name, PASSWORDS[name], project, name)
            studies = {name: dcmread(get_testdata_file(name)).StudyInstanceUID for name in SAMPLES}
            yield World(f"http://127.0.0.1:{gateway_port}", keystone, orthanc, studies)
    finally:
        orthanc.stop()


def test_a_reader_searches_and_downloads_a_study(world, tmp_path):
    session = create_session(world.login_url, "reader", PASSWORDS["reader"], REALM)
    cart = trolley(world, session)
    found = cart.find_studies(every_study())
    assert sorted(s.uid for s in found) == sorted(world.studies.values())
    ct = next(s for s in found if s.uid == world.studies["CT_small.dcm"])
    cart.download(ct, str(tmp_path))
    saved = [os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files]
    assert len(saved) == 1, saved
    original = dcmread(get_testdata_file("CT_small.dcm"))
    downloaded = dcmread(saved[0])
    assert downloaded.SOPInstanceUID == original.SOPInstanceUID
    assert downloaded.StudyInstanceUID == original.StudyInstanceUID
    assert downloaded.PixelData == original.PixelData
    # The session is this server's cookie, and only one login was needed.
    assert session.cookies.get(COOKIE)


def test_a_wrong_password_or_realm_raises_the_auth_error(world):
    for user, password, realm in [("reader", "wrong", REALM), ("reader", PASSWORDS["reader"], "NoSuchRealm")]:
        session = create_session(world.login_url, user, password, realm)
        with pytest.raises(DICOMTrolleyAuthError, match="login failed. 401"):
            trolley(world, session).find_studies(every_study())


def test_a_user_without_view_gets_403_and_a_viewer_cannot_download(world, tmp_path):
    uploader = create_session(world.login_url, "uploader", PASSWORDS["uploader"], REALM)
    with pytest.raises(DICOMTrolleyError, match="403") as refused:
        trolley(world, uploader).find_studies(every_study())
    assert not isinstance(refused.value, DICOMTrolleyAuthError), "logged in, then refused"
    looker = trolley(world, create_session(world.login_url, "looker", PASSWORDS["looker"], REALM))
    found = looker.find_studies(every_study())
    assert len(found) == len(world.studies)
    ct = next(s for s in found if s.uid == world.studies["CT_small.dcm"])
    with pytest.raises(DICOMTrolleyError, match="403"):
        looker.download(ct, str(tmp_path))
    assert not any(files for _, _, files in os.walk(tmp_path)), "nothing was saved"


def test_a_revoked_session_goes_through_dicomtrolleys_relogin_failing_once(world):
    session = create_session(world.login_url, "reader", PASSWORDS["reader"], REALM)
    cart = trolley(world, session)
    assert len(cart.find_studies(every_study())) == len(world.studies)
    revoked = session.cookies.get(COOKIE)
    world.keystone.revoke(revoked)
    # dicomtrolley's own behaviour (its issue #26, shared/dicom/README.md):
    # on the 401 it logs in again, but its retry still carries the old
    # cookie, so the call fails with the retry's 401; the new cookie has
    # reached the jar through the response history meanwhile.
    with pytest.raises(DICOMTrolleyError, match="401") as failed:
        cart.find_studies(every_study())
    assert not isinstance(failed.value, DICOMTrolleyAuthError), "the login itself succeeded"
    fresh = session.cookies.get(COOKIE)
    assert fresh and fresh != revoked
    # ... and the next call goes through with the new session.
    assert len(cart.find_studies(every_study())) == len(world.studies)
    assert session.cookies.get(COOKIE) == fresh
