//! `/v3/event-handlers`: event-handler bindings, under this server's own
//! actions (`identity:list_event_handlers`, `get_event_handler_schema`,
//! `create_event_handler`, `get_event_handler`, `update_event_handler`,
//! `enable_event_handler`, `disable_event_handler`, `delete_event_handler`;
//! target: `event_handler_id` from the path, if any). Each change is
//! checked by the dispatcher before it is saved (400 naming the problem),
//! then every binding is reloaded here; other nodes reload theirs every
//! `[keys] refresh_interval` seconds. Listings hide secret options.

use auth_core::store::{HandlerBinding, HandlerPosition, new_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::event_handlers;
use crate::state::AppState;

/// `{"event_handler": {...}}`: every field optional, so one type serves
/// create (where the dispatcher's check finds what is missing) and update.
#[derive(Debug, Deserialize)]
pub struct HandlerEnvelope {
    event_handler: HandlerBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandlerBody {
    name: Option<String>,
    events: Option<Vec<String>>,
    module: Option<String>,
    action: Option<String>,
    options: Option<Value>,
    conditions: Option<Value>,
    position: Option<HandlerPosition>,
    ordering: Option<i32>,
    active: Option<bool>,
    abort_on_error: Option<bool>,
}

impl HandlerBody {
    /// Applies the given fields to `binding`.
    fn apply(self, binding: &mut HandlerBinding) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = self.$field {
                    binding.$field = value;
                }
            )*};
        }
        set!(
            name, events, module, action, options, conditions, position, ordering, active
        );
        set!(abort_on_error);
    }
}

fn binding_json(state: &AppState, binding: &HandlerBinding, base: &str) -> Value {
    let mut shown = serde_json::to_value(state.dispatcher().redact(binding)).unwrap_or(Value::Null);
    shown["links"] = json!({"self": format!("{base}/v3/event-handlers/{}", binding.id)});
    shown
}

/// Checks the name and saves (create or update).
async fn save(state: &AppState, binding: &HandlerBinding, create: bool) -> Result<(), ServerError> {
    super::required_name(Some(binding.name.clone()), 255)?;
    if create {
        event_handlers::create(state, binding).await?;
    } else {
        event_handlers::update(state, binding).await?;
    }
    Ok(())
}

/// `GET /v3/event-handlers`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_event_handlers",
        &Target::new(),
    )?;
    let bindings: Vec<Value> = state
        .storage()
        .list_bindings()
        .await?
        .iter()
        .map(|b| binding_json(&state, b, &base))
        .collect();
    Ok(Json(json!({"event_handlers": bindings})).into_response())
}

/// `GET /v3/event-handlers/schema`: modules, actions, options, conditions.
pub async fn schema(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_event_handler_schema",
        &Target::new(),
    )?;
    Ok(Json(state.dispatcher().schema()).into_response())
}

/// `POST /v3/event-handlers`.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<HandlerEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:create_event_handler",
        &Target::new(),
    )?;
    let mut binding = HandlerBinding::new(new_id(), "", Vec::new(), "", "");
    body.event_handler.apply(&mut binding);
    save(&state, &binding, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"event_handler": binding_json(&state, &binding, &base)})),
    )
        .into_response())
}

/// `GET /v3/event-handlers/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("event_handler_id", id.as_str());
    super::authorize(&state, &caller, "identity:get_event_handler", &target)?;
    let binding = state.storage().get_binding(&id).await?;
    Ok(Json(json!({"event_handler": binding_json(&state, &binding, &base)})).into_response())
}

/// `PATCH /v3/event-handlers/{id}`: the given fields replace the stored
/// ones (`options` as a whole: resend secrets when changing options).
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<HandlerEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("event_handler_id", id.as_str());
    super::authorize(&state, &caller, "identity:update_event_handler", &target)?;
    let mut binding = state.storage().get_binding(&id).await?;
    body.event_handler.apply(&mut binding);
    save(&state, &binding, false).await?;
    Ok(Json(json!({"event_handler": binding_json(&state, &binding, &base)})).into_response())
}

async fn set_active(
    state: &AppState,
    caller: &Caller,
    id: &str,
    active: bool,
) -> Result<Response, ServerError> {
    let action = if active {
        "identity:enable_event_handler"
    } else {
        "identity:disable_event_handler"
    };
    let target = Target::new().with("event_handler_id", id);
    super::authorize(state, caller, action, &target)?;
    let mut binding = state.storage().get_binding(id).await?;
    binding.active = active;
    save(state, &binding, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v3/event-handlers/{id}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    set_active(&state, &caller, &id, true).await
}

/// `POST /v3/event-handlers/{id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    set_active(&state, &caller, &id, false).await
}

/// `DELETE /v3/event-handlers/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("event_handler_id", id.as_str());
    super::authorize(&state, &caller, "identity:delete_event_handler", &target)?;
    event_handlers::delete(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
