//! Implied roles through the Keystone door:
//! `PUT/GET/HEAD/DELETE /v3/roles/{prior}/implies/{implied}`,
//! `GET /v3/roles/{prior}/implies` and `GET /v3/role_inferences`, each
//! asking the policy with the target Keystone's `keystone/api/roles.py`
//! builds (`_build_enforcement_target_ref`: both roles, read first, so a
//! missing role is a 404 whoever asks), and Keystone's JSON for each.

use auth_core::implied_roles::Implication;
use auth_core::store::{ImpliedRole, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::implied_roles;
use crate::state::AppState;

/// The target of a call on `prior`'s rules (and on the rule to `implied`):
/// the path's ids and `target.prior_role` / `target.implied_role`.
async fn authorize_rule(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    prior_role_id: &str,
    implied_role_id: Option<&str>,
) -> Result<(), ServerError> {
    let storage = state.storage();
    let prior = storage.get_role(prior_role_id).await?;
    let mut target = Target::new()
        .with("prior_role_id", prior_role_id)
        .with_object("target.prior_role", &targets::role(&prior));
    if let Some(implied_role_id) = implied_role_id {
        let implied = storage.get_role(implied_role_id).await?;
        target = target
            .with("implied_role_id", implied_role_id)
            .with_object("target.implied_role", &targets::role(&implied));
    }
    super::authorize(state, caller, action, &target)
}

/// `PUT /v3/roles/{prior}/implies/{implied}` (`identity:create_implied_role`):
/// 201 with the rule.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:create_implied_role";
    authorize_rule(&state, &caller, action, &prior, Some(&implied)).await?;
    let prohibited = &state.config().assignment.prohibited_implied_role;
    let rule = implied_roles::create(&state.services(), &prior, &implied, prohibited).await?;
    Ok((StatusCode::CREATED, Json(rule_body(&rule, &base))))
}

/// `GET /v3/roles/{prior}/implies/{implied}` (`identity:get_implied_role`):
/// the rule; and its `HEAD`, which Keystone answers 204 after checking
/// `identity:check_implied_role` and then `get_implied_role`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    method: Method,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    if method == Method::HEAD {
        let action = "identity:check_implied_role";
        authorize_rule(&state, &caller, action, &prior, Some(&implied)).await?;
    }
    let action = "identity:get_implied_role";
    authorize_rule(&state, &caller, action, &prior, Some(&implied)).await?;
    let rule = implied_roles::get(&state.services(), &prior, &implied).await?;
    if method == Method::HEAD {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(rule_body(&rule, &base)).into_response())
}

/// `DELETE /v3/roles/{prior}/implies/{implied}`
/// (`identity:delete_implied_role`): 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:delete_implied_role";
    authorize_rule(&state, &caller, action, &prior, Some(&implied)).await?;
    implied_roles::delete(&state.services(), &prior, &implied).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/roles/{prior}/implies` (`identity:list_implied_roles`): the
/// roles `prior` implies directly.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(prior): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    authorize_rule(&state, &caller, "identity:list_implied_roles", &prior, None).await?;
    let (prior, rules) = implied_roles::list_for_prior(&state.services(), &prior).await?;
    Ok(Json(implied_roles_body(&prior, &rules, &base)))
}

/// `GET /v3/role_inferences` (`identity:list_role_inference_rules`): every
/// rule, grouped by prior role. Target: none.
pub async fn list_inferences(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:list_role_inference_rules";
    super::authorize(&state, &caller, action, &Target::new())?;
    let rules = implied_roles::list_all(&state.services()).await?;
    Ok(Json(role_inferences_body(&rules, &base)))
}

/// A prior or implied role as Keystone shows it in these bodies: id,
/// `links.self` and name (no domain, no description).
fn role_ref(role: &Role, base: &str) -> Value {
    json!({
        "id": role.id,
        "links": {"self": format!("{base}/v3/roles/{}", role.id)},
        "name": role.name,
    })
}

/// The body of `PUT` and `GET /v3/roles/{prior}/implies/{implied}`:
/// `{"role_inference": {"prior_role", "implies"}, "links": {"self"}}`.
/// `base` is the public URL without `/v3`.
pub fn rule_body(rule: &ImpliedRole, base: &str) -> Value {
    json!({
        "role_inference": {
            "prior_role": role_ref(&rule.prior, base),
            "implies": role_ref(&rule.implied, base),
        },
        "links": {
            "self": format!("{base}/v3/roles/{}/implies/{}", rule.prior.id, rule.implied.id),
        },
    })
}

/// The body of `GET /v3/roles/{prior}/implies`: one `role_inference` whose
/// `implies` lists every role `prior` implies directly.
pub fn implied_roles_body(prior: &Role, rules: &[ImpliedRole], base: &str) -> Value {
    let implies: Vec<Value> = rules
        .iter()
        .filter(|r| r.prior.id == prior.id)
        .map(|r| role_ref(&r.implied, base))
        .collect();
    json!({
        "role_inference": {"prior_role": role_ref(prior, base), "implies": implies},
        "links": {"self": format!("{base}/v3/roles/{}/implies", prior.id)},
    })
}

/// The body of `GET /v3/role_inferences`: one entry per prior role, in the
/// order the rules come (the stores list them by prior role name), each
/// with every role it implies directly. As Keystone's code renders it:
/// no top-level `links` and no `description` (its api-ref sample shows
/// both; its response schema notes the sample is wrong about the latter).
pub fn role_inferences_body(rules: &[ImpliedRole], base: &str) -> Value {
    let mut inferences: Vec<(&Role, Vec<Value>)> = Vec::new();
    for rule in rules {
        let implied = role_ref(&rule.implied, base);
        match inferences.iter_mut().find(|(p, _)| p.id == rule.prior.id) {
            Some((_, implies)) => implies.push(implied),
            None => inferences.push((&rule.prior, vec![implied])),
        }
    }
    let inferences: Vec<Value> = inferences
        .into_iter()
        .map(|(prior, implies)| json!({"prior_role": role_ref(prior, base), "implies": implies}))
        .collect();
    json!({ "role_inferences": inferences })
}

/// Turns the JSON of an assignment entry rendered from
/// by `role_assignments` into the implied role's: `role.id` is the
/// implied role, and `links.prior_role` is added exactly as Keystone 30
/// renders it, `{base}/v3/prior_role/{implied}/implies/{prior}` (its
/// `_format_entity` swaps the two and names no real route; clients do not
/// follow it).
pub fn show_implied(entry: &mut Value, implied: &Implication, base: &str) {
    entry["role"] = json!({"id": implied.role.id});
    entry["links"]["prior_role"] = json!(format!(
        "{base}/v3/prior_role/{}/implies/{}",
        implied.role.id, implied.prior_role_id
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str) -> Role {
        Role::new(id, name)
    }

    const BASE: &str = "http://example.com/identity";

    #[test]
    fn a_rule_is_rendered_as_keystones_role_inference() {
        let rule = ImpliedRole::new(
            role("7ceab6192ea34a548cc71b24f72e762c", "prior role name"),
            role("97e2f5d38bc94842bc3da818c16762ed", "implied role name"),
        );
        // Keystone's api-ref sample, get-role-inferences-response.json.
        let expected = json!({
            "role_inference": {
                "prior_role": {
                    "id": "7ceab6192ea34a548cc71b24f72e762c",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/7ceab6192ea34a548cc71b24f72e762c"
                    },
                    "name": "prior role name"
                },
                "implies": {
                    "id": "97e2f5d38bc94842bc3da818c16762ed",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/97e2f5d38bc94842bc3da818c16762ed"
                    },
                    "name": "implied role name"
                }
            },
            "links": {
                "self": "http://example.com/identity/v3/roles/7ceab6192ea34a548cc71b24f72e762c/implies/97e2f5d38bc94842bc3da818c16762ed"
            }
        });
        assert_eq!(rule_body(&rule, BASE), expected);
    }

    #[test]
    fn a_prior_roles_rules_are_rendered_as_one_inference() {
        let prior = role("42c764f0c19146728dbfe73a49cc35c3", "prior role name");
        let rules = [
            ImpliedRole::new(
                prior.clone(),
                role("066fbfc8b3e54fb68784c9e7e92ab8d7", "implied role1 name"),
            ),
            ImpliedRole::new(
                prior.clone(),
                role("32a0df1cc22848aca3986adae9e0b9a0", "implied role2 name"),
            ),
        ];
        // list-implied-roles-for-role-response.json.
        let expected = json!({
            "role_inference": {
                "prior_role": {
                    "id": "42c764f0c19146728dbfe73a49cc35c3",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/42c764f0c19146728dbfe73a49cc35c3"
                    },
                    "name": "prior role name"
                },
                "implies": [
                    {
                        "id": "066fbfc8b3e54fb68784c9e7e92ab8d7",
                        "links": {
                            "self": "http://example.com/identity/v3/roles/066fbfc8b3e54fb68784c9e7e92ab8d7"
                        },
                        "name": "implied role1 name"
                    },
                    {
                        "id": "32a0df1cc22848aca3986adae9e0b9a0",
                        "links": {
                            "self": "http://example.com/identity/v3/roles/32a0df1cc22848aca3986adae9e0b9a0"
                        },
                        "name": "implied role2 name"
                    }
                ]
            },
            "links": {
                "self": "http://example.com/identity/v3/roles/42c764f0c19146728dbfe73a49cc35c3/implies"
            }
        });
        assert_eq!(implied_roles_body(&prior, &rules, BASE), expected);
        let none = implied_roles_body(&prior, &[], BASE);
        assert_eq!(none["role_inference"]["implies"], json!([]));
    }

    #[test]
    fn every_rule_is_grouped_by_prior_role_as_keystones_code_renders_it() {
        let (a, b) = (role("a1", "prior a"), role("b1", "prior b"));
        let rules = [
            ImpliedRole::new(a.clone(), role("x1", "x")),
            ImpliedRole::new(a.clone(), role("y1", "y")),
            ImpliedRole::new(b.clone(), role("z1", "z")),
        ];
        let body = role_inferences_body(&rules, BASE);
        let link = |id: &str| json!({"self": format!("{BASE}/v3/roles/{id}")});
        assert_eq!(
            body,
            json!({"role_inferences": [
                {
                    "prior_role": {"id": "a1", "links": link("a1"), "name": "prior a"},
                    "implies": [
                        {"id": "x1", "links": link("x1"), "name": "x"},
                        {"id": "y1", "links": link("y1"), "name": "y"},
                    ]
                },
                {
                    "prior_role": {"id": "b1", "links": link("b1"), "name": "prior b"},
                    "implies": [{"id": "z1", "links": link("z1"), "name": "z"}]
                },
            ]})
        );
        assert_eq!(
            role_inferences_body(&[], BASE),
            json!({"role_inferences": []})
        );
    }

    #[test]
    fn an_implied_entry_shows_its_role_and_keystones_prior_role_link() {
        let mut entry = json!({
            "role": {"id": "manager-id"},
            "user": {"id": "u1"},
            "scope": {"project": {"id": "p1"}},
            "links": {"assignment": format!("{BASE}/v3/projects/p1/users/u1/roles/manager-id")},
        });
        let implied = Implication {
            role: role("member-id", "member"),
            prior_role_id: "manager-id".into(),
        };
        show_implied(&mut entry, &implied, BASE);
        assert_eq!(entry["role"], json!({"id": "member-id"}));
        assert_eq!(
            entry["links"]["prior_role"],
            json!(format!("{BASE}/v3/prior_role/member-id/implies/manager-id"))
        );
        assert_eq!(
            entry["links"]["assignment"],
            json!(format!("{BASE}/v3/projects/p1/users/u1/roles/manager-id"))
        );
    }
}
