"""keystoneauth1 and python-keystoneclient against auth-server, unmodified."""

import pytest
from keystoneauth1 import exceptions, session
from keystoneauth1.extras.oauth1 import v3 as oauth1
from keystoneauth1.identity import generic, v3
from keystoneclient.v3 import client as keystone_client

from conftest import ADMIN_PASSWORD


def password(server, **scope):
    return v3.Password(
        auth_url=server.v3,
        username="admin",
        password=ADMIN_PASSWORD,
        user_domain_id="default",
        **scope,
    )


def test_v3_password_unscoped(server):
    auth = password(server, unscoped=True)
    access = auth.get_access(session.Session())
    assert access.username == "admin"
    assert access.project_id is None
    assert not access.role_names


def test_v3_password_project_scoped(server):
    auth = password(server, project_name="admin", project_domain_id="default")
    access = auth.get_access(session.Session())
    assert access.project_name == "admin"
    # admin and the roles bootstrap makes it imply, as Keystone 30 lists them
    assert sorted(access.role_names) == ["admin", "manager", "member", "reader"]
    assert access.service_catalog.url_for(service_type="identity", interface="public") == server.base


def test_generic_password_discovers_v3(server):
    auth = generic.Password(
        auth_url=server.base,
        username="admin",
        password=ADMIN_PASSWORD,
        user_domain_id="default",
        project_name="admin",
        project_domain_id="default",
    )
    assert session.Session(auth=auth).get_token()


def test_token_rescope_keeps_the_audit_chain(server):
    sess = session.Session()
    unscoped = password(server, unscoped=True).get_access(sess)
    rescoped = v3.Token(
        auth_url=server.v3,
        token=unscoped.auth_token,
        project_name="admin",
        project_domain_id="default",
    ).get_access(sess)
    assert rescoped.project_name == "admin"
    assert rescoped.audit_chain_id == unscoped.audit_id
    assert rescoped.expires == unscoped.expires


def test_wrong_password_is_unauthorized(server):
    auth = v3.Password(
        auth_url=server.v3, username="admin", password="wrong", user_domain_id="default"
    )
    with pytest.raises(exceptions.Unauthorized):
        session.Session(auth=auth).get_token()


def test_keystoneclient_validates_and_revokes(server):
    sess = session.Session(auth=password(server, project_name="admin", project_domain_id="default"))
    keystone = keystone_client.Client(session=sess)
    other = password(server, unscoped=True).get_access(session.Session()).auth_token
    validated = keystone.tokens.validate(other)
    assert validated.username == "admin"
    keystone.tokens.revoke_token(other)
    with pytest.raises(exceptions.NotFound):
        keystone.tokens.validate(other)


def test_oauth1_delegation_with_keystoneclient_and_keystoneauth(server):
    """The whole OS-OAUTH1 flow as the clients drive it: keystoneclient's
    oauth1 manager signs the request and access token requests (oauthlib,
    HMAC-SHA1), keystoneauth1's V3 OAuth1 plugin signs the login."""
    sess = session.Session(auth=password(server, project_name="admin", project_domain_id="default"))
    keystone = keystone_client.Client(session=sess)
    project_id = sess.get_project_id()
    user_id = sess.get_user_id()
    member = keystone.roles.list(name="member")[0]

    consumer = keystone.oauth1.consumers.create(description="reports")
    request_token = keystone.oauth1.request_tokens.create(consumer.id, consumer.secret, project_id)
    assert request_token.expires
    authorized = keystone.oauth1.request_tokens.authorize(request_token.key, [member.id])
    access_token = keystone.oauth1.access_tokens.create(
        consumer.id, consumer.secret, request_token.key, request_token.secret, authorized.oauth_verifier
    )

    auth = oauth1.OAuth1(
        server.v3,
        consumer_key=consumer.id,
        consumer_secret=consumer.secret,
        access_key=access_token.key,
        access_secret=access_token.secret,
    )
    access = auth.get_access(session.Session())
    assert access.user_id == user_id
    assert access.project_id == project_id
    # Only what was delegated: member and the reader it implies.
    assert sorted(access.role_names) == ["member", "reader"]
    assert access.oauth_access_token_id == access_token.key
    assert access.oauth_consumer_id == consumer.id
    assert keystone.tokens.validate(access.auth_token).project_id == project_id

    # Deleting the access token ends the token it gave.
    sess.delete(f"{server.v3}/users/{user_id}/OS-OAUTH1/access_tokens/{access_token.key}")
    with pytest.raises(exceptions.NotFound):
        keystone.tokens.validate(access.auth_token)
    with pytest.raises(exceptions.Unauthorized):
        oauth1.OAuth1(
            server.v3,
            consumer_key=consumer.id,
            consumer_secret=consumer.secret,
            access_key=access_token.key,
            access_secret=access_token.secret,
        ).get_access(session.Session())
