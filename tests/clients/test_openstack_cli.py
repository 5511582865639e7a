"""The openstack CLI against auth-server: tokens, listings, groups."""

import json
import os
import subprocess
import sys

import pytest
import requests
from conftest import ADMIN_PASSWORD
from keystoneauth1 import exceptions, session
from keystoneauth1.identity import v3


def openstack(server, *args):
    return openstack_as(server, "admin", ADMIN_PASSWORD, *args)


def openstack_as(server, user, password, *args):
    """The openstack CLI as `user`, scoped to the admin project."""
    return as_user(server, {"OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": "admin",
                            "OS_PROJECT_DOMAIN_ID": "default"}, *args)


def as_user(server, overrides, *args):
    """The openstack CLI with the common environment and `overrides` (an
    empty value unsets a variable)."""
    env = dict(
        os.environ,
        OS_AUTH_URL=server.v3,
        OS_USER_DOMAIN_ID="default",
        OS_IDENTITY_API_VERSION="3",
        OS_INTERFACE="public",
    )
    for key, value in overrides.items():
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    cli = os.path.join(os.path.dirname(sys.executable), "openstack")
    return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=120)


def test_token_issue_and_revoke(server):
    issued = openstack(server, "token", "issue", "-f", "json")
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["id"]
    revoked = openstack(server, "token", "revoke", token)
    assert revoked.returncode == 0, revoked.stderr


def test_listing_projects_users_and_role_assignments(server):
    projects = openstack(server, "project", "list", "-f", "json")
    assert projects.returncode == 0, projects.stderr
    assert [p["Name"] for p in json.loads(projects.stdout)] == ["admin"]
    users = openstack(server, "user", "list", "-f", "json")
    assert users.returncode == 0, users.stderr
    assert "admin" in [u["Name"] for u in json.loads(users.stdout)]
    assignments = openstack(server, "role", "assignment", "list", "--user", "admin", "-f", "json")
    assert assignments.returncode == 0, assignments.stderr
    assert len(json.loads(assignments.stdout)) == 2  # admin on the project and on the system


def test_a_group_grant_reaches_its_members(server):
    def ok(*args):
        done = openstack(server, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # A second project, so that finding "admin" by name needs the filter.
    ok("project", "create", "other")
    ok("group", "create", "operators")
    ok("user", "create", "--password", "carol-password", "carol")
    ok("group", "add", "user", "operators", "carol")
    assert "carol in group operators" in ok("group", "contains", "user", "operators", "carol")
    ok("role", "add", "--group", "operators", "--project", "admin", "member")
    listed = json.loads(ok("role", "assignment", "list", "--effective", "--user", "carol", "--names", "-f", "json"))
    # member through the group, and reader, which member implies (Keystone
    # lists implied roles in an effective listing).
    assert sorted((a["Role"], a["Project"]) for a in listed) == [
        ("member", "admin@Default"),
        ("reader", "admin@Default"),
    ]
    members = json.loads(ok("user", "list", "--group", "operators", "-f", "json"))
    assert [u["Name"] for u in members] == ["carol"]


def test_an_ec2_credential_round_trip(server):
    def ok(*args):
        done = openstack(server, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = json.loads(ok("ec2", "credentials", "create", "-f", "json"))
    access, secret = created["access"], created["secret"]
    assert len(access) == 32 and len(secret) == 32
    listed = json.loads(ok("ec2", "credentials", "list", "-f", "json"))
    assert access in [c["Access"] for c in listed]
    shown = json.loads(ok("ec2", "credentials", "show", access, "-f", "json"))
    assert (shown["access"], shown["secret"]) == (access, secret)
    ok("ec2", "credentials", "delete", access)
    listed = json.loads(ok("ec2", "credentials", "list", "-f", "json"))
    assert access not in [c["Access"] for c in listed]
    gone = openstack(server, "ec2", "credentials", "show", access)
    assert gone.returncode != 0


def test_catalog_administration(server):
    def ok(*args):
        done = openstack(server, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("region", "create", "--description", "the second", "RegionTwo")
    ok("region", "create", "--parent-region", "RegionTwo", "RegionTwo-A")
    regions = {r["Region"]: r for r in json.loads(ok("region", "list", "-f", "json"))}
    assert regions["RegionTwo-A"]["Parent Region"] == "RegionTwo"
    assert regions["RegionTwo"]["Description"] == "the second"
    assert "RegionOne" in regions  # bootstrap's

    service = json.loads(ok("service", "create", "--name", "nova", "--description", "VMs", "compute", "-f", "json"))
    assert (service["type"], service["name"], service["description"]) == ("compute", "nova", "VMs")
    url = "http://nova.example:8774/v2.1/$(project_id)s"
    endpoint = json.loads(
        ok("endpoint", "create", "--region", "RegionTwo-A", "nova", "public", url, "-f", "json")
    )
    assert (endpoint["url"], endpoint["region"], endpoint["service_id"]) == (url, "RegionTwo-A", service["id"])
    ok("endpoint", "create", "--region", "RegionTwo-A", "--disable", "compute", "internal", "http://nova.internal:8774")

    listed = json.loads(ok("endpoint", "list", "--service", "compute", "-f", "json"))
    assert sorted((e["Interface"], e["Enabled"], e["Region"]) for e in listed) == [
        ("internal", False, "RegionTwo-A"),
        ("public", True, "RegionTwo-A"),
    ]
    public = json.loads(ok("endpoint", "list", "--interface", "public", "-f", "json"))
    assert sorted(e["Service Type"] for e in public) == ["compute", "identity"]
    # The token's catalog has it, the project substituted; not the disabled one.
    shown = json.loads(ok("catalog", "show", "compute", "-f", "json"))
    project = json.loads(ok("token", "issue", "-f", "json"))["project_id"]
    assert [e["url"] for e in shown["endpoints"]] == [f"http://nova.example:8774/v2.1/{project}"]

    ok("service", "delete", "compute")
    assert json.loads(ok("endpoint", "list", "--region", "RegionTwo-A", "-f", "json")) == []
    ok("region", "delete", "RegionTwo")
    regions = [r["Region"] for r in json.loads(ok("region", "list", "-f", "json"))]
    assert "RegionTwo" not in regions and "RegionTwo-A" not in regions


def test_an_inherited_domain_grant_reaches_the_domains_projects(server):
    def ok(*args, env=None):
        done = openstack(server, *args) if env is None else as_user(server, env, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    domain = json.loads(ok("domain", "create", "inheriting", "-f", "json"))["id"]
    ok("project", "create", "--domain", "inheriting", "inherited-project")
    ok("user", "create", "--password", "dave-password", "dave")
    ok("role", "add", "--inherited", "--user", "dave", "--user-domain", "default", "--domain", "inheriting", "member")

    # Held on the domain's projects, not on the domain itself.
    dave = {"OS_USERNAME": "dave", "OS_PASSWORD": "dave-password", "OS_PROJECT_NAME": "inherited-project",
            "OS_PROJECT_DOMAIN_ID": domain}
    token = json.loads(ok("token", "issue", "-f", "json", env=dave))
    assert token["project_id"] == json.loads(ok("project", "show", "--domain", "inheriting",
                                                "inherited-project", "-f", "json"))["id"]
    admin_token = json.loads(ok("token", "issue", "-f", "json"))["id"]
    validated = requests.get(f"{server.v3}/auth/tokens",
                             headers={"X-Auth-Token": admin_token, "X-Subject-Token": token["id"]}, timeout=30)
    assert validated.status_code == 200, validated.text
    assert sorted(r["name"] for r in validated.json()["token"]["roles"]) == ["member", "reader"]
    on_domain = as_user(server, {"OS_USERNAME": "dave", "OS_PASSWORD": "dave-password", "OS_PROJECT_NAME": "",
                                 "OS_PROJECT_DOMAIN_ID": "", "OS_DOMAIN_ID": domain}, "token", "issue")
    assert on_domain.returncode != 0

    listed = json.loads(ok("role", "assignment", "list", "--user", "dave", "--inherited", "--names", "-f", "json"))
    assert [(a["Role"], a["Domain"], a["Inherited"]) for a in listed] == [("member", "inheriting", True)]
    effective = json.loads(ok("role", "assignment", "list", "--effective", "--user", "dave", "--names", "-f", "json"))
    assert sorted((a["Role"], a["Project"]) for a in effective) == [
        ("member", "inherited-project@inheriting"),
        ("reader", "inherited-project@inheriting"),
    ]
    ok("role", "remove", "--inherited", "--user", "dave", "--user-domain", "default", "--domain", "inheriting", "member")
    assert json.loads(ok("role", "assignment", "list", "--user", "dave", "-f", "json")) == []
    assert as_user(server, dave, "token", "issue").returncode != 0


def test_a_trust_from_the_cli_gives_the_trustee_a_trust_scoped_token_until_deleted(server):
    def ok(*args, user="admin", password=ADMIN_PASSWORD):
        done = openstack_as(server, user, password, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("user", "create", "--password", "trustor-password", "trustor")
    ok("user", "create", "--password", "trustee-password", "trustee")
    ok("role", "add", "--user", "trustor", "--project", "admin", "member")
    trustor = json.loads(ok("user", "show", "trustor", "-f", "json"))["id"]
    trustee = json.loads(ok("user", "show", "trustee", "-f", "json"))["id"]
    project = json.loads(ok("project", "show", "admin", "-f", "json"))["id"]
    member = json.loads(ok("role", "show", "member", "-f", "json"))["id"]

    # The trustor delegates member on the project, impersonation on. A
    # member cannot look users or roles up, so the CLI is given ids (it
    # then sends them as they are, as against Keystone).
    as_trustor = {"user": "trustor", "password": "trustor-password"}
    created = json.loads(
        ok("trust", "create", "--project", project, "--role", member, "--impersonate",
           trustor, trustee, "-f", "json", **as_trustor)
    )
    trust_id = created["id"]
    assert created["project_id"] == project
    listed = json.loads(ok("trust", "list", "--auth-user", "-f", "json", **as_trustor))
    assert [t["ID"] for t in listed] == [trust_id]
    assert trust_id in [t["ID"] for t in json.loads(ok("trust", "list", "-f", "json"))]
    shown = json.loads(ok("trust", "show", trust_id, "-f", "json", **as_trustor))
    assert shown["trustee_user_id"] == trustee

    # The trustee's trust-scoped token, through keystoneauth.
    auth = v3.Password(
        auth_url=server.v3,
        username="trustee",
        password="trustee-password",
        user_domain_id="default",
        trust_id=trust_id,
    )
    access = auth.get_access(session.Session())
    assert access.trust_id == trust_id
    assert access.trustor_user_id == trustor
    assert access.trustee_user_id == trustee
    assert access.user_id == trustor  # impersonating
    assert access.project_id == project
    assert sorted(access.role_names) == ["member", "reader"]
    token = access.auth_token

    admin = session.Session(
        auth=v3.Password(
            auth_url=server.v3,
            username="admin",
            password=ADMIN_PASSWORD,
            user_domain_id="default",
            project_name="admin",
            project_domain_id="default",
        )
    )

    def validate():
        return admin.get(
            server.v3 + "/auth/tokens",
            headers={"X-Subject-Token": token},
            raise_exc=False,
        ).status_code

    assert validate() == 200
    ok("trust", "delete", trust_id, **as_trustor)
    assert validate() == 404
    gone = openstack_as(server, "trustor", "trustor-password", "trust", "show", trust_id)
    assert gone.returncode != 0
    with pytest.raises(exceptions.Unauthorized):
        v3.Password(
            auth_url=server.v3,
            username="trustee",
            password="trustee-password",
            user_domain_id="default",
            trust_id=trust_id,
        ).get_access(session.Session())
