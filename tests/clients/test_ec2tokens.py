"""EC2 and S3 signatures turned into tokens, by the real clients: a request
signed by botocore (AWS's own signer) goes through Swift's `s3token`
middleware, which asks `/v3/s3tokens` with its service credentials; an EC2
API request signed by keystoneclient's `Ec2Signer` goes to `/v3/ec2tokens`."""

import base64
import hashlib
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.contrib.ec2.utils import Ec2Signer
from keystoneclient.v3 import client as keystone_client
from swift.common.middleware.s3api.s3token import S3Token

from conftest import ADMIN_PASSWORD

SERVICE_PASSWORD = "swift-service-password"


def admin_session(server):
    auth = v3.Password(auth_url=server.v3, username="admin", password=ADMIN_PASSWORD,
                       project_name="admin", user_domain_id="default", project_domain_id="default")
    return session.Session(auth=auth)


@pytest.fixture(scope="module")
def accounts(server):
    """The admin's EC2 credential, and a `swift` user with the service role."""
    admin = admin_session(server)
    ks = keystone_client.Client(session=admin)
    project = ks.projects.find(name="admin")
    roles = {r.name: r for r in ks.roles.list()}
    service_role = roles.get("service") or ks.roles.create("service")
    swift = ks.users.create("swift", domain="default", password=SERVICE_PASSWORD)
    ks.roles.grant(service_role, user=swift, project=project)
    me = admin.get_user_id()
    credential = ks.ec2.create(me, project.id)
    return {"admin_id": me, "project_id": project.id, "access": credential.access,
            "secret": credential.secret, "service_role": service_role}


def s3token(server, with_service_auth=True):
    """Swift's s3token middleware in front of an app that records what it got."""
    seen = {}

    def app(environ, start_response):
        seen.update({k: v for k, v in environ.items() if k.startswith("HTTP_X_")})
        seen["PATH_INFO"] = environ["PATH_INFO"]
        start_response("200 OK", [])
        return [b"ok"]

    conf = {"auth_uri": server.v3, "secret_cache_duration": "0"}
    if with_service_auth:
        conf.update(auth_type="password", auth_url=server.v3, username="swift", password=SERVICE_PASSWORD,
                    user_domain_id="default", project_name="admin", project_domain_id="default")
    return S3Token(app, conf), seen


def call(middleware, access, signature, string_to_sign):
    """An S3 request as Swift's s3api hands it to s3token."""
    status = []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/v1/AUTH_placeholder/bucket/object", "SERVER_NAME": "swift",
        "SERVER_PORT": "8080", "wsgi.url_scheme": "http", "wsgi.input": None,
        "s3api.auth_details": {"access_key": access, "signature": signature, "string_to_sign": string_to_sign,
                               "check_signature": lambda secret: False},
    }
    body = b"".join(middleware(environ, lambda s, h, *a: status.append(s)))
    return status[0], body


class RecordingSigV4(S3SigV4Auth):
    """botocore's S3 SigV4 signer, keeping the string it signs (what Swift's
    s3api rebuilds from the request it receives)."""

    def string_to_sign(self, request, canonical_request):
        self.signed = super().string_to_sign(request, canonical_request)
        return self.signed


def botocore_v4(access, secret):
    """A SigV4 S3 request signed by botocore: its signature and the string it signed."""
    request = AWSRequest(method="GET", url="http://swift.example.org:8080/bucket/object")
    signer = RecordingSigV4(Credentials(access, secret), "s3", "RegionOne")
    signer.add_auth(request)
    signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    return signature, signer.signed


def botocore_v2(access, secret):
    """An S3 request signed the older way (HMAC-SHA1), by botocore."""
    request = AWSRequest(method="GET", url="http://swift.example.org:8080/bucket/object",
                         headers={"Date": "Mon, 30 Nov 2026 12:00:00 GMT"})
    signer = HmacV1Auth(Credentials(access, secret))
    signer.add_auth(request)
    string_to_sign = signer.canonical_string("GET", urlsplit(request.url), request.headers)
    signature = request.headers["Authorization"].rsplit(":", 1)[1]
    return signature, string_to_sign


@pytest.mark.parametrize("signed_by", [botocore_v4, botocore_v2])
def test_swift_s3token_authenticates_a_botocore_request(server, accounts, signed_by):
    middleware, seen = s3token(server)
    signature, string_to_sign = signed_by(accounts["access"], accounts["secret"])
    status, body = call(middleware, accounts["access"], signature, string_to_sign)
    assert status.startswith("200"), body
    assert seen["HTTP_X_USER_ID"] == accounts["admin_id"]
    assert seen["HTTP_X_PROJECT_ID"] == accounts["project_id"]
    assert "admin" in seen["HTTP_X_ROLES"].split(",")
    # s3token moved the request to the project's account.
    assert seen["PATH_INFO"] == f"/v1/AUTH_{accounts['project_id']}/bucket/object"


def test_swift_s3token_denies_a_wrong_signature_and_an_unauthenticated_middleware(server, accounts):
    middleware, seen = s3token(server)
    signature, string_to_sign = botocore_v4(accounts["access"], "not-the-secret")
    status, body = call(middleware, accounts["access"], signature, string_to_sign)
    assert status.startswith("401") and b"AccessDenied" in body
    assert not seen
    # Without service credentials (older Swift configurations), no token.
    unauthenticated, seen = s3token(server, with_service_auth=False)
    signature, string_to_sign = botocore_v4(accounts["access"], accounts["secret"])
    status, body = call(unauthenticated, accounts["access"], signature, string_to_sign)
    assert status.startswith("401") and b"AccessDenied" in body
    assert not seen


def ec2_request(accounts, version):
    """An EC2 API request as an EC2 front end passes it to /v3/ec2tokens,
    signed by keystoneclient's Ec2Signer."""
    if version == 2:
        credentials = {"access": accounts["access"], "host": "ec2.example.org:8788", "verb": "GET",
                       "path": "/", "params": {"SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
                                               "Action": "DescribeRegions", "AWSAccessKeyId": accounts["access"]}}
    else:
        now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        credentials = {"access": accounts["access"], "host": "ec2.example.org", "verb": "POST", "path": "/",
                       "params": {"Action": "DescribeRegions"},
                       "headers": {"Host": "ec2.example.org", "X-Amz-Date": now,
                                   "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s/RegionOne/ec2/aws4_request, "
                                                    "SignedHeaders=host;x-amz-date, Signature=" % (accounts["access"], now[:8])},
                       "body_hash": hashlib.sha256(b"Action=DescribeRegions").hexdigest()}
    credentials["signature"] = Ec2Signer(accounts["secret"]).generate(dict(credentials, params=dict(credentials["params"])))
    return credentials


@pytest.mark.parametrize("version", [2, 4])
def test_ec2tokens_takes_a_request_signed_by_keystoneclient(server, accounts, version):
    service = session.Session(auth=v3.Password(
        auth_url=server.v3, username="swift", password=SERVICE_PASSWORD, project_name="admin",
        user_domain_id="default", project_domain_id="default"))
    credentials = ec2_request(accounts, version)
    response = service.post(server.v3 + "/ec2tokens", json={"credentials": credentials}, raise_exc=False)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token["user"]["id"] == accounts["admin_id"]
    assert token["project"]["id"] == accounts["project_id"]
    assert token["methods"] == ["ec2credential"]
    # The token in X-Subject-Token is one keystoneauth can use.
    issued = response.headers["X-Subject-Token"]
    as_admin = session.Session(auth=v3.Token(auth_url=server.v3, token=issued, project_id=accounts["project_id"]))
    assert as_admin.get_user_id() == accounts["admin_id"]

    credentials["signature"] = base64.b64encode(b"x" * 32).decode()
    response = service.post(server.v3 + "/ec2tokens", json={"credentials": credentials}, raise_exc=False)
    assert response.status_code == 401
