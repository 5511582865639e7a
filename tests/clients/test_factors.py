"""TOTP, multi-factor receipts and application credentials, through
keystoneauth1 and keystoneclient, set up with the admin API."""

import base64
import hashlib
import hmac
import struct
import time
import uuid

import pytest
from keystoneauth1 import exceptions, session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as keystone_client

from conftest import ADMIN_PASSWORD

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def passcode(secret=SECRET):
    """RFC 6238: HMAC-SHA1, 6 digits, 30-second steps."""
    key = base64.b32decode(secret)
    counter = int(time.time() // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def methods(access):
    """The token's methods (keystoneauth1 exposes no accessor for them)."""
    return sorted(access._data["token"]["methods"])


def admin_session(server):
    return session.Session(
        auth=v3.Password(
            auth_url=server.v3,
            username="admin",
            password=ADMIN_PASSWORD,
            user_domain_id="default",
            project_name="admin",
            project_domain_id="default",
        )
    )


def new_user(server, password, **options):
    """A user with a password and a TOTP secret; returns (keystone, name)."""
    keystone = keystone_client.Client(session=admin_session(server))
    name = f"user-{uuid.uuid4().hex[:8]}"
    user = keystone.users.create(name=name, domain="default", password=password, options=options)
    keystone.credentials.create(user=user.id, type="totp", blob=SECRET)
    return keystone, name


def test_totp(server):
    _, name = new_user(server, "pw-totp")
    auth = v3.TOTP(auth_url=server.v3, username=name, passcode=passcode(), user_domain_id="default")
    access = auth.get_access(session.Session())
    assert access.username == name
    assert methods(access) == ["totp"]


def test_multi_factor_receipt_flow(server):
    rules = {"multi_factor_auth_rules": [["password", "totp"]]}
    _, name = new_user(server, "pw-mfa", **rules)
    first = v3.Password(auth_url=server.v3, username=name, password="pw-mfa", user_domain_id="default")
    with pytest.raises(exceptions.MissingAuthMethods) as missing:
        first.get_access(session.Session())
    assert missing.value.methods == ["password"]
    assert sorted(missing.value.required_auth_methods[0]) == ["password", "totp"]
    second = v3.Auth(
        auth_url=server.v3,
        auth_methods=[
            v3.TOTPMethod(username=name, passcode=passcode(), user_domain_id="default"),
            v3.ReceiptMethod(receipt=missing.value.receipt),
        ],
    )
    access = second.get_access(session.Session())
    assert methods(access) == ["password", "totp"]


def test_multi_factor_in_one_request(server):
    rules = {"multi_factor_auth_rules": [["password", "totp"]]}
    _, name = new_user(server, "pw-mfa2", **rules)
    auth = v3.MultiFactor(
        auth_url=server.v3,
        auth_methods=["v3password", "v3totp"],
        username=name,
        password="pw-mfa2",
        passcode=passcode(),
        user_domain_id="default",
    )
    access = auth.get_access(session.Session())
    assert methods(access) == ["password", "totp"]


def test_application_credential(server):
    sess = admin_session(server)
    keystone = keystone_client.Client(session=sess)
    owner = sess.get_user_id()
    credential = keystone.application_credentials.create(name=f"ci-{uuid.uuid4().hex[:8]}", user=owner)
    assert credential.secret
    auth = v3.ApplicationCredential(
        auth_url=server.v3,
        application_credential_id=credential.id,
        application_credential_secret=credential.secret,
    )
    access = auth.get_access(session.Session())
    assert access.project_name == "admin"
    assert sorted(access.role_names) == ["admin", "manager", "member", "reader"]
    wrong = v3.ApplicationCredential(
        auth_url=server.v3,
        application_credential_id=credential.id,
        application_credential_secret="not-the-secret",
    )
    with pytest.raises(exceptions.Unauthorized):
        wrong.get_access(session.Session())
