//! The persona matrix: every admin API called by twelve personas, each
//! answer compared with what Keystone 30 answers with its default policy
//! (`keystone_rbac.txt`, measured on a real Keystone).
//!
//! Two domains, A and B. The personas hold admin, member or reader on the
//! system (`sys*`), admin, manager, member or reader on domain A (`dom*`),
//! admin, member or reader on a project of A (`prj*`), no role at all
//! (`none`, an unscoped token), or are the bootstrap admin on the `admin`
//! project (`admPrj`). What a call acts on lives in A unless its name ends
//! in `_B`. Everything a call needs (a user to delete, a grant to revoke)
//! is made fresh by the bootstrap admin just before the call, so no cell
//! depends on another.
//!
//! A cell is `OK` (2xx), `-` (403) or, when the server answers anything
//! else, the status itself, which never matches. `skip` cells (Keystone
//! could not set them up) are not run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::harness::{TestServer, subject};

const EXPECTED: &str = include_str!("keystone_rbac.txt");
const PASSWORD: &str = "persona-secret";

#[tokio::test]
async fn every_persona_gets_keystones_answer_on_sqlite() {
    let server = TestServer::start().await;
    run_matrix(&server).await;
}

#[tokio::test]
async fn every_persona_gets_keystones_answer_on_postgres() {
    let Some(server) = TestServer::start_postgres("").await else {
        return;
    };
    run_matrix(&server).await;
}

/// One persona: who it is and its token.
struct Persona {
    name: String,
    user_id: String,
    token: String,
}

/// The expected table: persona names, then each call with one cell per
/// persona.
struct Table {
    personas: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

fn expected() -> Table {
    let mut lines = EXPECTED
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header = lines.next().expect("a header line");
    let personas: Vec<String> = header
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let rows = lines
        .map(|line| {
            let mut cells = line.split_whitespace().map(String::from);
            let call = cells.next().expect("a call name");
            let cells: Vec<String> = cells.collect();
            assert_eq!(cells.len(), personas.len(), "row {call}");
            (call, cells)
        })
        .collect();
    Table { personas, rows }
}

async fn run_matrix(server: &TestServer) {
    let world = World::build(server).await;
    let table = expected();
    let personas: Vec<&Persona> = table
        .personas
        .iter()
        .map(|name| {
            world
                .personas
                .iter()
                .find(|p| &p.name == name)
                .unwrap_or_else(|| panic!("no persona {name}"))
        })
        .collect();
    let (mut matched, mut total) = (0, 0);
    let mut mismatches = Vec::new();
    for (call, cells) in &table.rows {
        for (persona, want) in personas.iter().zip(cells) {
            if want == "skip" {
                continue;
            }
            total += 1;
            let got = match world.request(call, persona).await {
                Ok(request) => verdict(request.send().await.unwrap().status()),
                Err(setup) => format!("setup failed: {setup}"),
            };
            if &got == want {
                matched += 1;
            } else {
                mismatches.push(format!(
                    "{call:<28} {:<7} Keystone {want:<3} here {got}",
                    persona.name
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{matched} of {total} cells match Keystone; {} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn verdict(status: StatusCode) -> String {
    if status.is_success() {
        "OK".into()
    } else if status == StatusCode::FORBIDDEN {
        "-".into()
    } else {
        status.as_u16().to_string()
    }
}

/// Two domains and what lives in them, the personas, and the bootstrap
/// admin who sets up each call.
struct World<'s> {
    server: &'s TestServer,
    admin: String,
    domain_a: String,
    domain_b: String,
    roles: HashMap<&'static str, String>,
    /// Plain users, read and listed.
    user_a: String,
    user_b: String,
    /// Users that grants are given to and taken from.
    grantee_a: String,
    grantee_b: String,
    /// A user added to and removed from group A.
    joiner_a: String,
    group_a: String,
    group_b: String,
    /// The project the `prj*` personas hold roles on.
    project_a: String,
    /// Another project of A, on which `user_a` is a member.
    other_project_a: String,
    project_b: String,
    /// A credential of `user_a`.
    credential_a: String,
    /// An application credential of `user_a`.
    app_cred_a: String,
    personas: Vec<Persona>,
    fresh: AtomicUsize,
}

impl<'s> World<'s> {
    async fn build(server: &'s TestServer) -> Self {
        let admin = server.admin_token().await;
        let mut world = World {
            server,
            admin,
            domain_a: String::new(),
            domain_b: String::new(),
            roles: HashMap::new(),
            user_a: String::new(),
            user_b: String::new(),
            grantee_a: String::new(),
            grantee_b: String::new(),
            joiner_a: String::new(),
            group_a: String::new(),
            group_b: String::new(),
            project_a: String::new(),
            other_project_a: String::new(),
            project_b: String::new(),
            credential_a: String::new(),
            app_cred_a: String::new(),
            personas: Vec::new(),
            fresh: AtomicUsize::new(0),
        };
        world.domain_a = world.new_domain(true).await;
        world.domain_b = world.new_domain(true).await;
        for name in ["admin", "manager", "member", "reader"] {
            let id = world.role_id(name).await;
            world.roles.insert(name, id);
        }
        let (a, b) = (world.domain_a.clone(), world.domain_b.clone());
        world.user_a = world.new_user(&a).await;
        world.user_b = world.new_user(&b).await;
        world.grantee_a = world.new_user(&a).await;
        world.grantee_b = world.new_user(&b).await;
        world.joiner_a = world.new_user(&a).await;
        world.group_a = world.new_group(&a).await;
        world.group_b = world.new_group(&b).await;
        world.project_a = world.new_project(&a).await;
        world.other_project_a = world.new_project(&a).await;
        world.project_b = world.new_project(&b).await;
        let member = world.roles["member"].clone();
        let (user_a, other) = (world.user_a.clone(), world.other_project_a.clone());
        world
            .admin_ok(
                Method::PUT,
                &format!("/v3/projects/{other}/users/{user_a}/roles/{member}"),
                None,
            )
            .await;
        world.credential_a = world.new_credential(&user_a).await;
        world.app_cred_a = world.new_app_cred_of_user_a().await;

        let system = json!({"system": {"all": true}});
        let on_a = json!({"domain": {"id": a}});
        let on_project = json!({"project": {"id": world.project_a}});
        let system_path = |user: &str, role: &str| format!("/v3/system/users/{user}/roles/{role}");
        let domain_path =
            |user: &str, role: &str| format!("/v3/domains/{a}/users/{user}/roles/{role}");
        let project_path = |user: &str, role: &str| {
            format!("/v3/projects/{}/users/{user}/roles/{role}", world.project_a)
        };
        let plan: Vec<(&str, &str, String, Value)> = vec![
            ("sysA", "admin", "system".into(), system.clone()),
            ("sysM", "member", "system".into(), system.clone()),
            ("sysR", "reader", "system".into(), system.clone()),
            ("domA", "admin", "domain".into(), on_a.clone()),
            ("domMg", "manager", "domain".into(), on_a.clone()),
            ("domM", "member", "domain".into(), on_a.clone()),
            ("domR", "reader", "domain".into(), on_a.clone()),
            ("prjA", "admin", "project".into(), on_project.clone()),
            ("prjM", "member", "project".into(), on_project.clone()),
            ("prjR", "reader", "project".into(), on_project.clone()),
        ];
        let mut personas = Vec::new();
        for (name, role, kind, scope) in plan {
            let user_id = world.new_user(&a).await;
            let role_id = world.roles[role].clone();
            let path = match kind.as_str() {
                "system" => system_path(&user_id, &role_id),
                "domain" => domain_path(&user_id, &role_id),
                _ => project_path(&user_id, &role_id),
            };
            world.admin_ok(Method::PUT, &path, None).await;
            let token = world.login(&user_id, Some(scope)).await;
            personas.push(Persona {
                name: name.into(),
                user_id,
                token,
            });
        }
        let nobody = world.new_user(&a).await;
        let token = world.login(&nobody, None).await;
        personas.push(Persona {
            name: "none".into(),
            user_id: nobody,
            token,
        });
        personas.push(Persona {
            name: "admPrj".into(),
            user_id: server.admin.user.id.clone(),
            token: world.admin.clone(),
        });
        world.personas = personas;
        world
    }

    fn name(&self, kind: &str) -> String {
        format!("{kind}-{}", self.fresh.fetch_add(1, Ordering::Relaxed))
    }

    /// A call as the bootstrap admin that must succeed; its JSON body.
    async fn admin_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.server.call(method.clone(), path, &self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn new_domain(&self, enabled: bool) -> String {
        let body = json!({"domain": {"name": self.name("domain"), "enabled": enabled}});
        let created = self.admin_ok(Method::POST, "/v3/domains", Some(body)).await;
        created["domain"]["id"].as_str().unwrap().to_owned()
    }

    async fn new_user(&self, domain: &str) -> String {
        let body = json!({"user": {"name": self.name("user"), "domain_id": domain,
                                   "password": PASSWORD}});
        let created = self.admin_ok(Method::POST, "/v3/users", Some(body)).await;
        created["user"]["id"].as_str().unwrap().to_owned()
    }

    async fn new_group(&self, domain: &str) -> String {
        let body = json!({"group": {"name": self.name("group"), "domain_id": domain}});
        let created = self.admin_ok(Method::POST, "/v3/groups", Some(body)).await;
        created["group"]["id"].as_str().unwrap().to_owned()
    }

    async fn new_project(&self, domain: &str) -> String {
        let body = json!({"project": {"name": self.name("project"), "domain_id": domain}});
        let created = self
            .admin_ok(Method::POST, "/v3/projects", Some(body))
            .await;
        created["project"]["id"].as_str().unwrap().to_owned()
    }

    async fn new_role(&self) -> String {
        let body = json!({"role": {"name": self.name("role")}});
        let created = self.admin_ok(Method::POST, "/v3/roles", Some(body)).await;
        created["role"]["id"].as_str().unwrap().to_owned()
    }

    /// The id of the global role `name`, which bootstrap creates.
    async fn role_id(&self, name: &str) -> String {
        let listed = self
            .admin_ok(Method::GET, &format!("/v3/roles?name={name}"), None)
            .await;
        listed["roles"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("bootstrap creates the {name} role"))
            .to_owned()
    }

    async fn new_credential(&self, user: &str) -> String {
        let body = json!({"credential": {"user_id": user, "type": "cert",
                                         "blob": self.name("blob")}});
        let created = self
            .admin_ok(Method::POST, "/v3/credentials", Some(body))
            .await;
        created["credential"]["id"].as_str().unwrap().to_owned()
    }

    /// A password login; `None` asks for no scope.
    async fn login(&self, user_id: &str, scope: Option<Value>) -> String {
        let mut body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": user_id, "password": PASSWORD}}}}});
        if let Some(scope) = scope {
            body["auth"]["scope"] = scope;
        }
        let response = self.server.issue(&body, None).await;
        assert_eq!(response.status(), 201, "login of {user_id}");
        subject(&response)
    }

    /// A new application credential of `user_a`, made with its own token
    /// on the project where it is a member.
    async fn new_app_cred_of_user_a(&self) -> String {
        let scope = json!({"project": {"id": self.other_project_a}});
        let token = self.login(&self.user_a, Some(scope)).await;
        self.create_app_cred(&self.user_a, &token)
            .await
            .expect("user A creates an application credential")
    }

    /// Creates an application credential of `user` with `token`.
    async fn create_app_cred(&self, user: &str, token: &str) -> Result<String, String> {
        let body = json!({"application_credential": {"name": self.name("app-cred")}});
        let path = format!("/v3/users/{user}/application_credentials");
        let response = self
            .server
            .call(Method::POST, &path, token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let created: Value = response.json().await.unwrap_or(Value::Null);
        created["application_credential"]["id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("creating an application credential: {status}"))
    }

    /// The request `persona` makes for `call`, after setting up what it
    /// acts on.
    async fn request(&self, call: &str, p: &Persona) -> Result<RequestBuilder, String> {
        let (a, b) = (self.domain_a.as_str(), self.domain_b.as_str());
        let me = p.user_id.as_str();
        let member = self.roles["member"].as_str();
        let reader = self.roles["reader"].as_str();
        let call_as = |method: Method, path: &str| self.server.call(method, path, &p.token);
        let get = |path: &str| call_as(Method::GET, path);
        let request = match call {
            "users.list_all" => get("/v3/users"),
            "users.list_A" => get(&format!("/v3/users?domain_id={a}")),
            "users.get_self" => get(&format!("/v3/users/{me}")),
            "users.get_A" => get(&format!("/v3/users/{}", self.user_a)),
            "users.get_B" => get(&format!("/v3/users/{}", self.user_b)),
            "users.create_A" | "users.create_B" => {
                let domain = if call.ends_with('B') { b } else { a };
                call_as(Method::POST, "/v3/users")
                    .json(&json!({"user": {"name": self.name("user"), "domain_id": domain}}))
            }
            "users.update_A" | "users.update_B" => {
                let user = self.new_user(if call.ends_with('B') { b } else { a }).await;
                call_as(Method::PATCH, &format!("/v3/users/{user}"))
                    .json(&json!({"user": {"enabled": false}}))
            }
            "users.delete_A" | "users.delete_B" => {
                let user = self.new_user(if call.ends_with('B') { b } else { a }).await;
                call_as(Method::DELETE, &format!("/v3/users/{user}"))
            }
            "users.projects_self" => get(&format!("/v3/users/{me}/projects")),
            "users.projects_A" => get(&format!("/v3/users/{}/projects", self.user_a)),
            "users.groups_A" => get(&format!("/v3/users/{}/groups", self.user_a)),
            "groups.list_all" => get("/v3/groups"),
            "groups.list_A" => get(&format!("/v3/groups?domain_id={a}")),
            "groups.get_A" => get(&format!("/v3/groups/{}", self.group_a)),
            "groups.get_B" => get(&format!("/v3/groups/{}", self.group_b)),
            "groups.create_A" | "groups.create_B" => {
                let domain = if call.ends_with('B') { b } else { a };
                call_as(Method::POST, "/v3/groups")
                    .json(&json!({"group": {"name": self.name("group"), "domain_id": domain}}))
            }
            "groups.update_A" | "groups.update_B" => {
                let group = self
                    .new_group(if call.ends_with('B') { b } else { a })
                    .await;
                call_as(Method::PATCH, &format!("/v3/groups/{group}"))
                    .json(&json!({"group": {"description": "changed"}}))
            }
            "groups.delete_A" | "groups.delete_B" => {
                let group = self
                    .new_group(if call.ends_with('B') { b } else { a })
                    .await;
                call_as(Method::DELETE, &format!("/v3/groups/{group}"))
            }
            "groups.members_A" => get(&format!("/v3/groups/{}/users", self.group_a)),
            "groups.add_member_A" => call_as(
                Method::PUT,
                &format!("/v3/groups/{}/users/{}", self.group_a, self.user_a),
            ),
            "groups.remove_member_A" => {
                let path = format!("/v3/groups/{}/users/{}", self.group_a, self.joiner_a);
                self.admin_ok(Method::PUT, &path, None).await;
                call_as(Method::DELETE, &path)
            }
            "groups.add_member_B" => call_as(
                Method::PUT,
                &format!("/v3/groups/{}/users/{}", self.group_b, self.user_b),
            ),
            "projects.list_all" => get("/v3/projects"),
            "projects.list_A" => get(&format!("/v3/projects?domain_id={a}")),
            "projects.get_own" => get(&format!("/v3/projects/{}", self.project_a)),
            "projects.get_A" => get(&format!("/v3/projects/{}", self.other_project_a)),
            "projects.get_B" => get(&format!("/v3/projects/{}", self.project_b)),
            "projects.create_A" | "projects.create_B" => {
                let domain = if call.ends_with('B') { b } else { a };
                call_as(Method::POST, "/v3/projects")
                    .json(&json!({"project": {"name": self.name("project"), "domain_id": domain}}))
            }
            "projects.update_A" | "projects.update_B" => {
                let project = self
                    .new_project(if call.ends_with('B') { b } else { a })
                    .await;
                call_as(Method::PATCH, &format!("/v3/projects/{project}"))
                    .json(&json!({"project": {"description": "changed"}}))
            }
            "projects.delete_A" | "projects.delete_B" => {
                let project = self
                    .new_project(if call.ends_with('B') { b } else { a })
                    .await;
                call_as(Method::DELETE, &format!("/v3/projects/{project}"))
            }
            "domains.list" => get("/v3/domains"),
            "domains.get_A" => get(&format!("/v3/domains/{a}")),
            "domains.get_B" => get(&format!("/v3/domains/{b}")),
            "domains.create" => call_as(Method::POST, "/v3/domains")
                .json(&json!({"domain": {"name": self.name("domain")}})),
            "domains.update_A" => call_as(Method::PATCH, &format!("/v3/domains/{a}"))
                .json(&json!({"domain": {"description": "changed"}})),
            "domains.delete" => {
                let domain = self.new_domain(false).await;
                call_as(Method::DELETE, &format!("/v3/domains/{domain}"))
            }
            "roles.list" => get("/v3/roles"),
            "roles.get" => get(&format!("/v3/roles/{member}")),
            "roles.create" => call_as(Method::POST, "/v3/roles")
                .json(&json!({"role": {"name": self.name("role")}})),
            "roles.delete" => {
                let role = self.new_role().await;
                call_as(Method::DELETE, &format!("/v3/roles/{role}"))
            }
            "grants.list_projA" => get(&format!(
                "/v3/projects/{}/users/{}/roles",
                self.project_a, self.grantee_a
            )),
            grant if grant.starts_with("grants.") => {
                let (op, on) = grant["grants.".len()..]
                    .split_once('_')
                    .ok_or("a grant call names an operation and a target")?;
                let (path, role) = match on {
                    "projA" => (
                        format!("/v3/projects/{}/users/{}", self.project_a, self.grantee_a),
                        member,
                    ),
                    "projB" => (
                        format!("/v3/projects/{}/users/{}", self.project_b, self.grantee_b),
                        member,
                    ),
                    "domA" => (format!("/v3/domains/{a}/users/{}", self.grantee_a), member),
                    "system" => (format!("/v3/system/users/{}", self.grantee_a), reader),
                    other => return Err(format!("unknown grant target {other}")),
                };
                let path = format!("{path}/roles/{role}");
                match op {
                    "check" => {
                        self.admin_ok(Method::PUT, &path, None).await;
                        call_as(Method::HEAD, &path)
                    }
                    "assign" => call_as(Method::PUT, &path),
                    "revoke" => {
                        self.admin_ok(Method::PUT, &path, None).await;
                        call_as(Method::DELETE, &path)
                    }
                    other => return Err(format!("unknown grant operation {other}")),
                }
            }
            "role_assignments.list_all" => get("/v3/role_assignments"),
            "role_assignments.scope_projA" => get(&format!(
                "/v3/role_assignments?scope.project.id={}",
                self.project_a
            )),
            "role_assignments.scope_domA" => {
                get(&format!("/v3/role_assignments?scope.domain.id={a}"))
            }
            "role_assignments.user_other" => {
                get(&format!("/v3/role_assignments?user.id={}", self.user_a))
            }
            "role_assignments.user_self" => get(&format!("/v3/role_assignments?user.id={me}")),
            "credentials.list" => get("/v3/credentials"),
            "credentials.create_self" | "credentials.create_other" => {
                let user = if call.ends_with("self") {
                    me
                } else {
                    self.user_a.as_str()
                };
                call_as(Method::POST, "/v3/credentials").json(&json!({"credential": {
                    "user_id": user, "type": "cert", "blob": self.name("blob")}}))
            }
            "credentials.get_other" => get(&format!("/v3/credentials/{}", self.credential_a)),
            "credentials.delete_other" => {
                let credential = self.new_credential(&self.user_a).await;
                call_as(Method::DELETE, &format!("/v3/credentials/{credential}"))
            }
            "app_creds.list_own" => get(&format!("/v3/users/{me}/application_credentials")),
            "app_creds.create_own" | "app_creds.create_other" => {
                let user = if call.ends_with("own") {
                    me
                } else {
                    self.user_a.as_str()
                };
                call_as(
                    Method::POST,
                    &format!("/v3/users/{user}/application_credentials"),
                )
                .json(&json!({"application_credential": {"name": self.name("app-cred")}}))
            }
            "app_creds.delete_own" => {
                let id = self.create_app_cred(me, &p.token).await?;
                call_as(
                    Method::DELETE,
                    &format!("/v3/users/{me}/application_credentials/{id}"),
                )
            }
            "app_creds.list_other" => get(&format!(
                "/v3/users/{}/application_credentials",
                self.user_a
            )),
            "app_creds.get_other" => get(&format!(
                "/v3/users/{}/application_credentials/{}",
                self.user_a, self.app_cred_a
            )),
            "app_creds.delete_other" => {
                let id = self.new_app_cred_of_user_a().await;
                call_as(
                    Method::DELETE,
                    &format!("/v3/users/{}/application_credentials/{id}", self.user_a),
                )
            }
            "auth.projects" => get("/v3/auth/projects"),
            "auth.domains" => get("/v3/auth/domains"),
            "auth.system" => get("/v3/auth/system"),
            "auth.catalog" => get("/v3/auth/catalog"),
            "tokens.validate_self" => {
                get("/v3/auth/tokens").header("X-Subject-Token", p.token.as_str())
            }
            "tokens.validate_other" | "tokens.check_other" | "tokens.revoke_other" => {
                let theirs = self.login(&self.user_a, None).await;
                let method = match call {
                    "tokens.validate_other" => Method::GET,
                    "tokens.check_other" => Method::HEAD,
                    _ => Method::DELETE,
                };
                call_as(method, "/v3/auth/tokens").header("X-Subject-Token", theirs)
            }
            other => return Err(format!("no request is defined for {other}")),
        };
        Ok(request)
    }
}
