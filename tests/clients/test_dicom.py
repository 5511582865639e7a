"""pynetdicom 3.0.4, unmodified, against the auth-server's DICOM door
([dicom]): User Identity Negotiation (PS3.7 Annex D) authenticated by the
engine, and the door guarding a plain Debian Orthanc's DICOM port.

Three servers, one per module fixture, each with users made through the
Keystone API on project `imaging`: `viewer` (role reader: view and
download, no upload, in the recommended role map) and `uploader` (role
member: view, download and upload).

- `door`: required mode, no upstream (the server answers C-ECHO itself),
  type 1 believed from calling AE MODALITY_A on 127.0.0.1/32;
- `lenient`: supports mode (anonymous role reader), reject = (1, 2, 2),
  only calling AE titles ANCHOR_SCU and MODALITY_A, type 1 believed from
  MODALITY_A but only from 10.0.0.0/8 (so not from here), a lockout after
  two failures, at most two associations at once, and two more called AE
  titles: OPEN_SCP (not_supported) and STRICT_SCP (required);
- `guard`: required mode, upstream = a plain Orthanc (shared
  start-orthanc.sh) holding pydicom's three sample studies.

The A-ASSOCIATE-RJ fields are read from the primitive pynetdicom hands to an
EVT_ACSE_RECV handler (the association object does not keep them), or,
when pynetdicom's requestor races the RJ, from its DUL's queue (see
`associate`).
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field

import pytest
import requests
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from conftest import ADMIN_PASSWORD, free_port, running_server
from dicom_harness import SAMPLES, PlainOrthanc, require_plain_orthanc, scripts_dir
from orthanc_harness import Keystone, _missing

try:
    from pynetdicom import AE, evt
    from pynetdicom.pdu_primitives import A_ASSOCIATE, UserIdentityNegotiation
    from pynetdicom.sop_class import (
        CTImageStorage,
        StudyRootQueryRetrieveInformationModelFind,
        Verification,
    )
except ImportError:  # pragma: no cover - reported by the fixtures
    AE = None

AE_TITLE = "AUTH_SCP"
# More called AE titles of the lenient server, each with its own mode.
OPEN_AE = "OPEN_SCP"
STRICT_AE = "STRICT_SCP"
CALLING = "ANCHOR_SCU"
MODALITY = "MODALITY_A"
PASSWORDS = {"viewer": "viewer-password", "uploader": "uploader-password", "locked": "locked-password"}
ROLES = {"viewer": "reader", "uploader": "member", "locked": "member"}
# PS3.7 C.4.2.1.4: Refused: Not Authorized.
NOT_AUTHORIZED = 0x0124
# PS3.8 9.3.4: (result, source, reason) of an A-ASSOCIATE-RJ.
DEFAULT_REJECT = (2, 2, 1)
LENIENT_REJECT = (1, 2, 2)
CALLING_AE_NOT_RECOGNIZED = (1, 1, 3)
CALLED_AE_NOT_RECOGNIZED = (1, 1, 7)
LOCAL_LIMIT_EXCEEDED = (2, 3, 2)
LENIENT_MAX_ASSOCIATIONS = 2
# Type 1 (the dicom_asserted method) must be enabled; the rest are the defaults.
METHODS = '["password", "token", "totp", "application_credential", "dicom_asserted"]'

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


@dataclass
class Door:
    """One auth-server with a DICOM listener, and its imaging users."""

    server: object
    keystone: Keystone
    port: int
    user_ids: dict
    orthanc: PlainOrthanc = None


@dataclass
class Outcome:
    """An association attempt: pynetdicom's Association, the A-ASSOCIATE
    primitives its ACSE received (an AC's or an RJ's fields), and those its
    DUL decoded but the ACSE never took (`raced`, see `associate`)."""

    assoc: object
    received: list = field(default_factory=list)
    raced: list = field(default_factory=list)

    @property
    def rejection(self):
        """(result, source, reason) of the RJ, or None."""
        for primitive in self.received + self.raced:
            if primitive.result not in (None, 0):
                return (primitive.result, primitive.result_source, primitive.diagnostic)
        return None

    def describe(self):
        a = self.assoc
        return (
            f"established={a.is_established} rejected={a.is_rejected} aborted={a.is_aborted} "
            f"rejection={self.rejection} raced={bool(self.raced)}"
        )


def identity(kind, primary, secondary=b"", response=False):
    """A User Identity Negotiation item (0x58) as pynetdicom sends it."""
    item = UserIdentityNegotiation()
    item.user_identity_type = kind
    item.positive_response_requested = response
    item.primary_field = primary.encode() if isinstance(primary, str) else primary
    if kind == 2:
        item.secondary_field = secondary.encode() if isinstance(secondary, str) else secondary
    return item


def password(user, secret=None, response=False):
    return identity(2, user, PASSWORDS[user] if secret is None else secret, response)


def associate(port, user_identity=None, calling=CALLING, called=AE_TITLE, contexts=None):
    """Requests an association from pynetdicom's AE (proposing Verification
    unless `contexts` says otherwise); the outcome."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = 10
    ae.dimse_timeout = 20
    ae.network_timeout = 20
    for context in contexts or (Verification,):
        ae.add_requested_context(context)
    received = []

    def on_acse(event):
        if isinstance(event.primitive, A_ASSOCIATE):
            received.append(event.primitive)

    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title=called,
        ext_neg=[user_identity] if user_identity is not None else None,
        evt_handlers=[(evt.EVT_ACSE_RECV, on_acse)],
    )
    raced = []
    if not assoc.is_established and not assoc.is_rejected and assoc.dul is not None:
        # pynetdicom 3.0.4's requestor races a fast A-ASSOCIATE-RJ: its DUL
        # thread decodes the RJ, queues the primitive and closes the socket
        # (AE-4), and when that happens before the ACSE thread, back from
        # sending the request, checks `socket._is_connected`, the ACSE
        # takes it for a failed connection and aborts (acse.py,
        # _negotiate_as_requestor), leaving the RJ in the DUL's queue. Seen
        # in about 1 % of the rejections of this server, never against a
        # raw socket. The RJ was on the wire all the same: read it there.
        while not assoc.dul.to_user_queue.empty():
            primitive = assoc.dul.to_user_queue.get_nowait()
            if isinstance(primitive, A_ASSOCIATE):
                raced.append(primitive)
    return Outcome(assoc, received, raced)


def established(outcome):
    assert outcome.assoc.is_established, outcome.describe()
    return outcome.assoc


def rejected_with(outcome, triple):
    description = outcome.describe()
    if outcome.assoc.is_established:
        outcome.assoc.abort()  # not left open when the assertion fails
    assert outcome.assoc.is_rejected or outcome.raced, description
    assert outcome.rejection == triple, description
    assert not outcome.assoc.is_alive()


def echo_ok(assoc):
    status = assoc.send_c_echo()
    assert status is not None and "Status" in status, f"no C-ECHO response: {status!r}"
    assert status.Status == 0x0000, status


def release(assoc):
    assoc.release()
    assert assoc.is_released and not assoc.is_aborted


def require_pynetdicom():
    if AE is None:
        _missing("pynetdicom is not installed: pip install -r tests/clients/requirements.txt")



@contextlib.contextmanager
def dicom_server(dicom_keys, sections="", users=("viewer", "uploader")):
    """A running auth-server whose [dicom] listens on a free port, with
    `dicom_keys` added to that section and `sections` after it; `users`
    made on project `imaging` with their ROLES."""
    port = free_port()
    config = f"""
[auth]
methods = {METHODS}

[dicom]
listen = "127.0.0.1:{port}"
ae_title = "{AE_TITLE}"
{dicom_keys}
{sections}
"""
    with running_server(config) as server:
        keystone = Keystone(server, ADMIN_PASSWORD)
        project = keystone.project("imaging")
        user_ids = {name: keystone.user(name, PASSWORDS[name], project, ROLES[name]) for name in users}
        yield Door(server, keystone, port, user_ids)


@pytest.fixture(scope="module")
def door():
    require_pynetdicom()
    keys = 'mode = "required"'
    sections = f"""
[auth.method.dicom_asserted]
ae_titles = ["{MODALITY}"]
networks = ["127.0.0.1/32"]
"""
    with dicom_server(keys, sections) as d:
        yield d


@pytest.fixture(scope="module")
def lenient():
    require_pynetdicom()
    keys = f"""mode = "supports"
anonymous_role = "reader"
reject = [{LENIENT_REJECT[0]}, {LENIENT_REJECT[1]}, {LENIENT_REJECT[2]}]
calling_ae_titles = ["{CALLING}", "{MODALITY}"]
max_associations = {LENIENT_MAX_ASSOCIATIONS}"""
    sections = f"""
[dicom.called.{OPEN_AE}]
mode = "not_supported"

[dicom.called.{STRICT_AE}]
mode = "required"

[auth.method.dicom_asserted]
ae_titles = ["{MODALITY}"]
networks = ["10.0.0.0/8"]

[security_compliance]
lockout_failure_attempts = 2
lockout_duration = 600
"""
    with dicom_server(keys, sections, users=("viewer", "locked")) as d:
        yield d


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """A plain Orthanc holding pydicom's three sample studies."""
    require_pynetdicom()
    require_plain_orthanc()
    scripts = scripts_dir()
    plain = PlainOrthanc(scripts, str(tmp_path_factory.mktemp("orthanc-plain")), free_port(), free_port())
    plain.start()
    try:
        plain.load_samples()
        stored = requests.get(f"{plain.base}/studies", timeout=30).json()
        assert len(stored) == len(SAMPLES), stored
        yield plain
    finally:
        plain.stop()


@pytest.fixture(scope="module")
def guard(orthanc):
    keys = f'mode = "required"\nupstream = "ORTHANC@127.0.0.1:{orthanc.dicom_port}"'
    with dicom_server(keys) as d:
        d.orthanc = orthanc
        yield d


# --- helpers of the guard tests ---

GUARD_CONTEXTS = (Verification, StudyRootQueryRetrieveInformationModelFind, CTImageStorage) if AE else ()


def fresh_ct():
    """pydicom's CT_small with new study, series and instance UIDs."""
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def sample_studies():
    """The StudyInstanceUIDs of what load_samples.py stores."""
    return {dcmread(get_testdata_file(name), stop_before_pixels=True).StudyInstanceUID for name in SAMPLES}


def in_orthanc(orthanc, sop_instance_uid):
    """Whether Orthanc holds the instance (its REST /tools/lookup)."""
    r = requests.post(f"{orthanc.base}/tools/lookup", data=sop_instance_uid, timeout=30)
    r.raise_for_status()
    return any(found["Type"] == "Instance" for found in r.json())


def find_studies(assoc):
    """C-FIND at STUDY level for every study: (the final status, the
    StudyInstanceUIDs of the pending answers)."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    uids, final = [], None
    for status, answer in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
        assert status is not None and "Status" in status, "the C-FIND got no response"
        if status.Status in (0xFF00, 0xFF01):
            uids.append(answer.StudyInstanceUID)
        else:
            final = status.Status
    return final, uids


def store(assoc, ds):
    status = assoc.send_c_store(ds)
    assert status is not None and "Status" in status, f"the C-STORE got no response: {status!r}"
    return status


def wait_for_audit(door, event, predicate, what, deadline_s=10):
    """Polls GET /v3/audit?event=… (as the admin) until a row satisfies
    `predicate`; that row. The audit log is written off the request path."""
    start = time.monotonic()
    while True:
        rows = door.keystone.call("GET", "/audit", (200,), params={"event": event, "limit": 1000}).json()["audit"]
        for row in rows:
            if predicate(row):
                return row
        if time.monotonic() - start > deadline_s:
            pytest.fail(f"no {event} audit row {what} after {deadline_s} s; rows: {rows[:10]}")
        time.sleep(0.2)


def request_of(row):
    """The `request` facts of a row (what the door reported)."""
    return (row.get("detail") or {}).get("request") or {}


def token_of(door, user, project="imaging"):
    return door.keystone.login(user, PASSWORDS[user], project)


# --- the door without an upstream ---


def test_type_2_with_the_right_password_is_accepted_and_c_echo_answered(door):
    outcome = associate(door.port, password("viewer"))
    assoc = established(outcome)
    # Nothing but Verification is accepted without an upstream.
    assert [cx.abstract_syntax for cx in assoc.accepted_contexts] == [Verification]
    echo_ok(assoc)
    echo_ok(assoc)
    release(assoc)


def test_type_2_with_a_positive_response_requested_gets_no_0x59(door):
    # As pynetdicom's own acceptor: 0x59 only for types 3 to 5.
    assoc = established(associate(door.port, password("viewer", response=True)))
    assert assoc.acceptor.user_identity is None or assoc.acceptor.user_identity.server_response is None
    release(assoc)


@pytest.mark.parametrize("user,secret", [("viewer", "wrong"), ("uploader", PASSWORDS["viewer"]), ("ghost", "whatever")])
def test_a_wrong_password_or_user_is_rejected_with_the_default_reason(door, user, secret):
    outcome = associate(door.port, identity(2, user, secret))
    rejected_with(outcome, DEFAULT_REJECT)


def test_a_wrong_password_is_rejected_with_the_configured_reason(lenient):
    rejected_with(associate(lenient.port, password("viewer", "wrong")), LENIENT_REJECT)
    # ... and the right one is still accepted there.
    assoc = established(associate(lenient.port, password("viewer")))
    echo_ok(assoc)
    release(assoc)


def test_type_1_is_believed_from_an_allowed_calling_ae_title_only(door):
    assoc = established(associate(door.port, identity(1, "viewer"), calling=MODALITY))
    echo_ok(assoc)
    release(assoc)
    rejected_with(associate(door.port, identity(1, "viewer"), calling=CALLING), DEFAULT_REJECT)
    rejected_with(associate(door.port, identity(1, "viewer"), calling="MODALITY_B"), DEFAULT_REJECT)
    # An allowed AE title naming an unknown user is refused too.
    rejected_with(associate(door.port, identity(1, "ghost"), calling=MODALITY), DEFAULT_REJECT)


def test_type_1_is_refused_from_an_allowed_ae_title_outside_the_allowed_networks(lenient):
    # lenient believes MODALITY_A only from 10.0.0.0/8; this client is 127.0.0.1.
    rejected_with(associate(lenient.port, identity(1, "viewer"), calling=MODALITY), LENIENT_REJECT)


def test_type_5_with_a_token_of_this_server_returns_a_usable_token_in_0x59(door):
    token = token_of(door, "viewer")
    assoc = established(associate(door.port, identity(5, token, response=True)))
    assert assoc.acceptor.user_identity is not None, "the AC carried no 0x59"
    answer = assoc.acceptor.user_identity.server_response
    assert answer, "the AC carried an empty 0x59"
    echo_ok(assoc)
    release(assoc)
    issued = answer.decode("utf-8")
    r = requests.get(
        f"{door.server.v3}/auth/tokens", headers={"X-Auth-Token": issued, "X-Subject-Token": issued}, timeout=30
    )
    assert r.status_code == 200, f"the 0x59 token at GET /v3/auth/tokens: {r.status_code} {r.text}"
    body = r.json()["token"]
    assert body["user"]["id"] == door.user_ids["viewer"], body["user"]
    assert body["project"]["name"] == "imaging", body.get("project")


def test_type_5_without_a_positive_response_requested_gets_no_0x59(door):
    assoc = established(associate(door.port, identity(5, token_of(door, "viewer"), response=False)))
    assert assoc.acceptor.user_identity is None or assoc.acceptor.user_identity.server_response is None
    release(assoc)


def test_type_5_with_a_bad_or_revoked_token_is_rejected(door):
    rejected_with(associate(door.port, identity(5, "not-a-token", response=True)), DEFAULT_REJECT)
    token = token_of(door, "viewer")
    door.keystone.revoke(token)
    rejected_with(associate(door.port, identity(5, token, response=True)), DEFAULT_REJECT)


def test_types_without_a_configured_method_are_rejected(door):
    # Kerberos (3) and SAML (4) map to no method unless configured.
    rejected_with(associate(door.port, identity(3, b"\x60\x82ticket")), DEFAULT_REJECT)
    rejected_with(associate(door.port, identity(4, b"<saml:Assertion/>")), DEFAULT_REJECT)


def test_required_mode_refuses_an_association_without_identity(door):
    rejected_with(associate(door.port), DEFAULT_REJECT)


def test_supports_mode_accepts_an_association_without_identity(lenient):
    # The same request the required door refuses: here the anonymous role.
    assoc = established(associate(lenient.port))
    echo_ok(assoc)
    release(assoc)


def test_a_wrong_called_ae_title_is_rejected_as_not_recognized(door):
    rejected_with(associate(door.port, password("viewer"), called="NOT_AUTH_SCP"), CALLED_AE_NOT_RECOGNIZED)


def test_a_calling_ae_title_not_listed_is_rejected_as_not_recognized(lenient):
    outcome = associate(lenient.port, password("viewer"), calling="STRANGER_SCU")
    rejected_with(outcome, CALLING_AE_NOT_RECOGNIZED)


def test_associations_beyond_the_limit_are_rejected_until_one_ends(lenient):
    held = [established(associate(lenient.port, password("viewer"))) for _ in range(LENIENT_MAX_ASSOCIATIONS)]
    try:
        rejected_with(associate(lenient.port, password("viewer")), LOCAL_LIMIT_EXCEEDED)
        release(held.pop())
        assoc = established(associate(lenient.port, password("viewer")))
        held.append(assoc)
        for each in held:
            echo_ok(each)
            release(each)
    finally:
        for each in held:
            if each.is_established:
                each.abort()


def test_each_called_ae_title_has_its_own_mode(lenient):
    # not_supported: the identity item is ignored, even a wrong password.
    for item in (password("viewer", "wrong"), None):
        assoc = established(associate(lenient.port, item, called=OPEN_AE))
        echo_ok(assoc)
        release(assoc)
    # required on the same listener whose own title is in supports mode.
    rejected_with(associate(lenient.port, called=STRICT_AE), LENIENT_REJECT)
    assoc = established(associate(lenient.port, password("viewer"), called=STRICT_AE))
    echo_ok(assoc)
    release(assoc)


def test_failed_associations_count_toward_the_lockout(lenient):
    for _ in range(2):
        rejected_with(associate(lenient.port, password("locked", "wrong")), LENIENT_REJECT)
    # Locked at every door: the right password now fails over DICOM and HTTP.
    rejected_with(associate(lenient.port, password("locked")), LENIENT_REJECT)
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "locked", "domain": {"id": "default"}, "password": PASSWORDS["locked"]}},
            }
        }
    }
    r = requests.post(f"{lenient.server.v3}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 401, f"a locked user logged in over HTTP: {r.status_code} {r.text}"


# --- the guard in front of Orthanc ---


def test_straight_to_orthanc_any_identity_finds_and_stores(orthanc):
    # The baseline: Orthanc ignores 0x58 and lets anyone store, so what the
    # guard refuses below is the guard's doing.
    wrong = password("viewer", "wrong")
    assoc = established(associate(orthanc.dicom_port, wrong, called="ORTHANC", contexts=GUARD_CONTEXTS))
    echo_ok(assoc)
    final, found = find_studies(assoc)
    assert final == 0x0000 and sample_studies() <= set(found), found
    ds = fresh_ct()
    assert store(assoc, ds).Status == 0x0000
    release(assoc)
    assert in_orthanc(orthanc, ds.SOPInstanceUID)


def test_an_uploader_finds_and_stores_through_the_guard(guard):
    assoc = established(associate(guard.port, password("uploader"), contexts=GUARD_CONTEXTS))
    echo_ok(assoc)
    final, before = find_studies(assoc)
    assert final == 0x0000
    assert sample_studies() <= set(before), before
    ds = fresh_ct()
    status = store(assoc, ds)
    assert status.Status == 0x0000, status
    final, after = find_studies(assoc)
    assert final == 0x0000
    assert sorted(after) == sorted(before + [ds.StudyInstanceUID])
    release(assoc)
    assert in_orthanc(guard.orthanc, ds.SOPInstanceUID), "the stored instance is not in Orthanc"


def test_a_viewers_c_store_is_refused_while_its_c_find_works_in_the_same_association(guard):
    assoc = established(associate(guard.port, password("viewer"), contexts=GUARD_CONTEXTS))
    ds = fresh_ct()
    status = store(assoc, ds)
    assert status.Status == NOT_AUTHORIZED, status
    assert "ErrorComment" in status and status.ErrorComment, f"no Error Comment: {status}"
    # The association is still usable: find before and after another refusal.
    final, found = find_studies(assoc)
    assert final == 0x0000
    assert sample_studies() <= set(found), found
    assert ds.StudyInstanceUID not in found
    assert store(assoc, fresh_ct()).Status == NOT_AUTHORIZED
    echo_ok(assoc)
    release(assoc)
    assert not in_orthanc(guard.orthanc, ds.SOPInstanceUID), "a refused C-STORE reached Orthanc"


def test_the_guard_refuses_what_the_door_refuses(guard):
    rejected_with(associate(guard.port, password("viewer", "wrong"), contexts=GUARD_CONTEXTS), DEFAULT_REJECT)
    rejected_with(associate(guard.port, contexts=GUARD_CONTEXTS), DEFAULT_REJECT)


def test_an_abort_is_clean_and_the_next_association_works(guard):
    assoc = established(associate(guard.port, password("viewer"), contexts=GUARD_CONTEXTS))
    final, _ = find_studies(assoc)
    assert final == 0x0000
    assoc.abort()
    assert assoc.is_aborted and not assoc.is_alive()
    # Abort in the middle of nothing, twice, then a full association.
    for _ in range(2):
        established(associate(guard.port, password("uploader"), contexts=GUARD_CONTEXTS)).abort()
    assoc = established(associate(guard.port, password("viewer"), contexts=GUARD_CONTEXTS))
    echo_ok(assoc)
    final, found = find_studies(assoc)
    assert final == 0x0000 and sample_studies() <= set(found), found
    release(assoc)


def test_associations_and_commands_are_audited_with_the_user_and_the_decision(guard):
    calling = "AUDIT_SCU"
    viewer = guard.user_ids["viewer"]
    assoc = established(associate(guard.port, password("viewer"), calling=calling, contexts=GUARD_CONTEXTS))
    assert store(assoc, fresh_ct()).Status == NOT_AUTHORIZED
    assert find_studies(assoc)[0] == 0x0000
    release(assoc)
    rejected_with(associate(guard.port, password("viewer", "wrong"), calling=calling), DEFAULT_REJECT)

    def from_audit_scu(row):
        return request_of(row).get("calling_ae_title") == calling

    accepted = wait_for_audit(
        guard,
        "dicom.associate",
        lambda r: from_audit_scu(r) and r["success"] and r.get("user_id") == viewer,
        "accepting the viewer",
    )
    assert request_of(accepted)["identity_type"] == 2, accepted
    assert request_of(accepted)["called_ae_title"] == AE_TITLE, accepted
    assert request_of(accepted)["outcome"] == "accepted", accepted
    refused = wait_for_audit(
        guard, "dicom.associate", lambda r: from_audit_scu(r) and not r["success"], "refusing the wrong password"
    )
    assert request_of(refused)["outcome"] == "rejected", refused
    assert request_of(refused)["identity_type"] == 2, refused
    assert request_of(refused).get("reject") == list(DEFAULT_REJECT), refused

    def command(name, allowed):
        return lambda r: (
            r.get("user_id") == viewer
            and from_audit_scu(r)
            and request_of(r).get("command") == name
            and request_of(r).get("allowed") is allowed
        )

    refused = wait_for_audit(guard, "dicom.command", command("C-STORE", False), "refusing the viewer's C-STORE")
    assert refused["success"] is False, refused
    allowed = wait_for_audit(guard, "dicom.command", command("C-FIND", True), "allowing the viewer's C-FIND")
    assert allowed["success"] is True, allowed
