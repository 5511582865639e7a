"""Debian's Orthanc 1.10.1 with the real authorization plugin (0.11.4),
asking the auth-server's [orthanc] door on every request.

One auth-server (max_validity = 2 s, so revocations lapse quickly) and one
Orthanc for the module. The admin sets up, through the Keystone API, a
service user (role `service` on project `service`) that Orthanc calls the
door as, `viewer` (reader) and `uploader` (member) on project `imaging`,
and uploads pydicom's CT_small and MR_small: two studies.

The plugin's caches bound how fast a revocation shows: answers of
tokens/validate and profiles live for the validity the door answers (at
most max_validity). It also keeps a profile's permission checks for 10 s,
keyed by the token, but only a profile it could fetch carries the token:
once the profile lapses and the door refuses it, those entries no longer
match, so max_validity is the bound for user tokens too (observed: under
2 s with max_validity = 2).
"""

import json
import time
from dataclasses import dataclass

import pytest

from conftest import ADMIN_PASSWORD, free_port, running_server
from orthanc_harness import Keystone, Orthanc, fresh_study, plugin_dir, require_orthanc, sample

MAX_VALIDITY = 2
SERVICE_PASSWORD = "orthanc-service-password"
VIEWER_PASSWORD = "viewer-password"
UPLOADER_PASSWORD = "uploader-password"
SHARE_TYPE = "stone-viewer-publication"


@dataclass
class Study:
    patient_id: str
    study_id: str
    study_uid: str
    series_id: str
    instance_id: str


@dataclass
class World:
    server: object
    keystone: Keystone
    orthanc: Orthanc
    admin: str
    viewer: str
    uploader: str
    ct: Study
    mr: Study


def expect(orthanc, response, status):
    assert response.status_code == status, f"expected {status}: {orthanc.explain(response)}"
    return response


def upload(orthanc, token, data):
    """POST /instances; the new instance's ids."""
    r = expect(orthanc, orthanc.request("POST", "/instances", token, data=data), 200)
    return r.json()


def study_of(orthanc, token, answer):
    uid = expect(orthanc, orthanc.request("GET", f"/studies/{answer['ParentStudy']}", token), 200).json()
    return Study(
        patient_id=answer["ParentPatient"],
        study_id=answer["ParentStudy"],
        study_uid=uid["MainDicomTags"]["StudyInstanceUID"],
        series_id=answer["ParentSeries"],
        instance_id=answer["ID"],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_orthanc()
    scripts = plugin_dir()
    with running_server(config=f"[orthanc]\nmax_validity = {MAX_VALIDITY}\n") as srv:
        keystone = Keystone(srv, ADMIN_PASSWORD)
        keystone.user("orthanc-service", SERVICE_PASSWORD, keystone.project("service"), "service")
        imaging = keystone.project("imaging")
        keystone.user("viewer", VIEWER_PASSWORD, imaging, "reader")
        keystone.user("uploader", UPLOADER_PASSWORD, imaging, "member")
        orthanc = Orthanc(
            scripts,
            str(tmp_path_factory.mktemp("orthanc")),
            f"{srv.base}/orthanc/",
            "orthanc-service",
            SERVICE_PASSWORD,
            free_port(),
            free_port(),
        )
        orthanc.start()
        try:
            admin = keystone.admin_token
            ct = study_of(orthanc, admin, upload(orthanc, admin, sample("CT_small.dcm")))
            mr = study_of(orthanc, admin, upload(orthanc, admin, sample("MR_small.dcm")))
            assert ct.study_id != mr.study_id
            yield World(
                server=srv,
                keystone=keystone,
                orthanc=orthanc,
                admin=admin,
                viewer=keystone.login("viewer", VIEWER_PASSWORD, "imaging"),
                uploader=keystone.login("uploader", UPLOADER_PASSWORD, "imaging"),
                ct=ct,
                mr=mr,
            )
        finally:
            orthanc.stop()


def create_share(world, study, validity=3600, token=None):
    """A share token for one study, created through Orthanc as the plugin's
    API takes it (CamelCase), the admin's by default."""
    body = {
        "Resources": [{"Level": "study", "OrthancId": study.study_id, "DicomUid": study.study_uid}],
        "ValidityDuration": validity,
    }
    r = world.orthanc.request("PUT", f"/auth/tokens/{SHARE_TYPE}", token or world.admin, json=body)
    return r


def share(world, study, validity=3600):
    r = expect(world.orthanc, create_share(world, study, validity), 200)
    token = r.json()["Token"]
    assert token.startswith("shr_"), r.text
    return token


def decode(world, token):
    body = {"TokenKey": "token", "TokenValue": token}
    return expect(world.orthanc, world.orthanc.request("POST", "/auth/tokens/decode", json=body), 200).json()


def wait_for_status(orthanc, status, deadline_s, method, path, token, how="header"):
    """Polls until the request answers `status`; the seconds it took."""
    start = time.monotonic()
    while True:
        r = orthanc.request(method, path, token, how)
        if r.status_code == status:
            return time.monotonic() - start
        if time.monotonic() - start > deadline_s:
            pytest.fail(f"still not {status} after {deadline_s} s: {orthanc.explain(r)}")
        time.sleep(0.25)


@pytest.mark.parametrize("how", ["header", "arg", "bearer"])
def test_viewer_reads_studies_and_instances_through_rest_and_dicomweb(world, how):
    o, ct = world.orthanc, world.ct
    listed = expect(o, o.request("GET", "/studies", world.viewer, how), 200).json()
    assert {ct.study_id, world.mr.study_id} <= set(listed)
    expect(o, o.request("GET", f"/studies/{ct.study_id}", world.viewer, how), 200)
    expect(o, o.request("GET", f"/series/{ct.series_id}", world.viewer, how), 200)
    dicom = expect(o, o.request("GET", f"/instances/{ct.instance_id}/file", world.viewer, how), 200).content
    assert dicom[128:132] == b"DICM"
    metadata = expect(o, o.request("GET", f"/dicom-web/studies/{ct.study_uid}/metadata", world.viewer, how), 200)
    assert metadata.json()[0]["0020000D"]["Value"] == [ct.study_uid]
    series = expect(o, o.request("GET", f"/dicom-web/studies/{ct.study_uid}/series", world.viewer, how), 200)
    assert len(series.json()) == 1


def test_viewer_cannot_delete(world):
    o = world.orthanc
    expect(o, o.request("DELETE", f"/studies/{world.ct.study_id}", world.viewer), 403)
    expect(o, o.request("DELETE", f"/instances/{world.ct.instance_id}", world.viewer), 403)
    expect(o, o.request("GET", f"/studies/{world.ct.study_id}", world.admin), 200)


def test_viewer_cannot_upload(world):
    data, _ = fresh_study()
    expect(world.orthanc, world.orthanc.request("POST", "/instances", world.viewer, data=data), 403)


def test_uploader_can_upload(world):
    o = world.orthanc
    data, uid = fresh_study("MR_small.dcm")
    answer = upload(o, world.uploader, data)
    assert answer["Status"] == "Success", answer
    study = study_of(o, world.uploader, answer)
    assert study.study_uid == uid


def test_admin_can_delete(world):
    o = world.orthanc
    data, _ = fresh_study()
    study = upload(o, world.admin, data)["ParentStudy"]
    expect(o, o.request("DELETE", f"/studies/{study}", world.admin), 200)
    expect(o, o.request("GET", f"/studies/{study}", world.admin), 404)


def test_anonymous_is_refused(world):
    o = world.orthanc
    expect(o, o.request("GET", "/studies"), 403)
    expect(o, o.request("GET", f"/studies/{world.ct.study_id}"), 403)
    expect(o, o.request("GET", f"/instances/{world.ct.instance_id}/file"), 403)
    expect(o, o.request("GET", f"/dicom-web/studies/{world.ct.study_uid}/metadata"), 403)


def test_an_unknown_token_is_refused(world):
    o = world.orthanc
    expect(o, o.request("GET", "/studies", "not-a-token"), 403)
    expect(o, o.request("GET", f"/instances/{world.ct.instance_id}/file", "shr_not-a-share-token"), 403)


def test_viewer_cannot_create_a_share_token_but_uploader_can(world):
    expect(world.orthanc, create_share(world, world.ct, token=world.viewer), 403)
    r = expect(world.orthanc, create_share(world, world.ct, token=world.uploader), 200)
    assert r.json()["Token"].startswith("shr_")


@pytest.mark.parametrize("how", ["header", "arg"])
def test_share_token_opens_its_study_only(world, how):
    o, ct, mr = world.orthanc, world.ct, world.mr
    token = share(world, ct)
    for path in (
        f"/studies/{ct.study_id}",
        f"/studies/{ct.study_id}/series",
        f"/series/{ct.series_id}",
        f"/instances/{ct.instance_id}",
        f"/instances/{ct.instance_id}/file",
        f"/dicom-web/studies/{ct.study_uid}/metadata",
        f"/dicom-web/studies/{ct.study_uid}/series",
    ):
        expect(o, o.request("GET", path, token, how), 200)
    for path in (
        f"/studies/{mr.study_id}",
        f"/series/{mr.series_id}",
        f"/instances/{mr.instance_id}/file",
        f"/dicom-web/studies/{mr.study_uid}/metadata",
        f"/patients/{ct.patient_id}",
        "/patients",
        "/studies",
    ):
        expect(o, o.request("GET", path, token, how), 403)
    expect(o, o.request("DELETE", f"/studies/{ct.study_id}", token, how), 403)


def test_revoked_share_token_stops_working_after_its_validity(world):
    o, mr = world.orthanc, world.mr
    token = share(world, mr)
    path = f"/instances/{mr.instance_id}/file"
    expect(o, o.request("GET", path, token), 200)
    listed = world.keystone.call("GET", "/imaging/share-tokens", (200,)).json()["share_tokens"]
    mine = [t for t in listed if mr.study_id in json.dumps(t["resources"])]
    assert mine, f"no share token for {mr.study_id} in {listed}"
    assert mine[-1]["type"] == SHARE_TYPE, mine[-1]
    world.keystone.call("DELETE", f"/imaging/share-tokens/{mine[-1]['id']}", (204,))
    waited = wait_for_status(o, 403, MAX_VALIDITY + 3, "GET", path, token)
    assert waited <= MAX_VALIDITY + 1, waited
    expect(o, o.request("GET", f"/studies/{mr.study_id}", token), 403)


def test_revoked_user_token_is_refused_after_its_validity(world):
    o = world.orthanc
    token = world.keystone.login("viewer", VIEWER_PASSWORD, "imaging")
    path = f"/studies/{world.ct.study_id}"
    expect(o, o.request("GET", path, token), 200)
    world.keystone.revoke(token)
    waited = wait_for_status(o, 403, MAX_VALIDITY + 3, "GET", path, token)
    assert waited <= MAX_VALIDITY + 1, waited
    expect(o, o.request("GET", f"/instances/{world.ct.instance_id}/file", token), 403)
    expect(o, o.request("GET", "/studies", token, "bearer"), 403)


def test_requests_are_refused_while_the_service_is_down(world):
    o, ct = world.orthanc, world.ct
    # Tokens Orthanc has not seen: nothing of theirs is in the plugin's caches.
    during = world.keystone.login("admin", ADMIN_PASSWORD, "admin")
    after = world.keystone.login("admin", ADMIN_PASSWORD, "admin")
    world.server.stop()
    try:
        expect(o, o.request("GET", "/studies", during), 403)
        expect(o, o.request("GET", f"/studies/{ct.study_id}", during), 403)
        expect(o, o.request("GET", f"/instances/{ct.instance_id}/file", during, "arg"), 403)
        expect(o, o.request("GET", "/studies"), 403)
    finally:
        world.server.start()
    expect(o, o.request("GET", f"/instances/{ct.instance_id}/file", after), 200)


def test_decode_through_orthanc(world):
    ct = world.ct
    good = decode(world, share(world, ct))
    assert good.get("TokenType") == SHARE_TYPE, good
    assert "ErrorCode" not in good, good
    assert good["ResourcesDicomIds"] == [ct.study_uid], good
    assert good["ResourcesOrthancIds"] == [ct.study_id], good

    unknown = decode(world, "shr_" + "0" * 43)
    assert unknown.get("ErrorCode") == "unknown", unknown
    assert unknown["ResourcesDicomIds"] == [] and unknown["ResourcesOrthancIds"] == [], unknown

    short = share(world, ct, validity=1)
    time.sleep(2.1)
    expired = decode(world, short)
    assert expired.get("ErrorCode") == "expired", expired
    assert expired["ResourcesDicomIds"] == [] and expired["ResourcesOrthancIds"] == [], expired
    expect(world.orthanc, world.orthanc.request("GET", f"/studies/{ct.study_id}", short), 403)
