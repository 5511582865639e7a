//! `/v3/audit`: the audit log, under this server's own actions
//! `identity:list_audit` and `identity:export_audit` (no target). Newest first, filtered by time
//! range, user, event and outcome, paged with `marker` (the last id of the
//! previous page); `/v3/audit/export` streams the same selection as JSON
//! lines. Rows never hold a secret: they are redacted when written.

use auth_core::AuthError;
use auth_core::store::{AuditQuery, AuditRecord};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::PublicBase;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::state::AppState;

/// The largest page.
const MAX_LIMIT: u32 = 1000;

/// The query string of both endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    since: Option<String>,
    until: Option<String>,
    user_id: Option<String>,
    event: Option<String>,
    success: Option<bool>,
    marker: Option<i64>,
    limit: Option<u32>,
}

fn instant(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, AuthError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| AuthError::bad_request(format!("'{name}' must be an RFC 3339 time")))
        })
        .transpose()
}

impl AuditParams {
    fn query(&self, limit: u32) -> Result<AuditQuery, AuthError> {
        let mut query = AuditQuery::new(limit);
        query.since = instant("since", self.since.as_deref())?;
        query.until = instant("until", self.until.as_deref())?;
        query.user_id.clone_from(&self.user_id);
        query.event.clone_from(&self.event);
        query.success = self.success;
        query.before_id = self.marker;
        Ok(query)
    }
}

impl AuditParams {
    /// The query string of the page after the row `last`: the same
    /// filters, the same limit.
    fn next_page(&self, last: i64, limit: u32) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("since", self.since.as_deref()),
            ("until", self.until.as_deref()),
            ("user_id", self.user_id.as_deref()),
            ("event", self.event.as_deref()),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if let Some(success) = self.success {
            query.append_pair("success", if success { "true" } else { "false" });
        }
        query.append_pair("marker", &last.to_string());
        query.append_pair("limit", &limit.to_string());
        query.finish()
    }
}

fn row_json(row: &AuditRecord) -> serde_json::Value {
    serde_json::to_value(row).unwrap_or(serde_json::Value::Null)
}

/// `GET /v3/audit`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:list_audit", &Target::new())?;
    let Query(params) = params.map_err(|e| AuthError::bad_request(e.body_text()))?;
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let rows = state.storage().query_audit(&params.query(limit)?).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| format!("{base}/v3/audit?{}", params.next_page(last, limit)));
    let rows: Vec<_> = rows.iter().map(row_json).collect();
    Ok(Json(json!({"audit": rows, "links": {"next": next}})).into_response())
}

/// `GET /v3/audit/export`: every matching row as JSON lines, read page by
/// page so memory stays bounded however long the log is.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:export_audit", &Target::new())?;
    let Query(params) = params.map_err(|e| AuthError::bad_request(e.body_text()))?;
    let first = params.query(MAX_LIMIT)?;
    let storage = state.storage().clone();
    let lines = futures_util::stream::try_unfold(Some(first), move |query| {
        let storage = storage.clone();
        async move {
            let Some(mut query) = query else {
                return Ok::<_, AuthError>(None);
            };
            let rows = storage.query_audit(&query).await?;
            let mut chunk = String::new();
            for row in &rows {
                chunk.push_str(&row_json(row).to_string());
                chunk.push('\n');
            }
            let next = (rows.len() == query.limit as usize).then(|| {
                query.before_id = rows.last().map(|r| r.id);
                query
            });
            if rows.is_empty() {
                return Ok(None);
            }
            Ok(Some((chunk, next)))
        }
    });
    Ok((
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_every_filter() {
        let params = AuditParams {
            since: Some("2026-11-30T10:00:00+01:00".into()),
            success: Some(false),
            event: Some("auth.tokens.create".into()),
            ..AuditParams::default()
        };
        assert_eq!(
            params.next_page(42, 2),
            "since=2026-11-30T10%3A00%3A00%2B01%3A00&event=auth.tokens.create&success=false&marker=42&limit=2"
        );
    }
}
