//! `/api/v1/audit`: read the audit log (newest first) and verify its hash chain.

use super::auth::Admin;
use super::error::{ApiQuery, ApiResult, ErrorBody};
use super::views::{AuditView, List};
use crate::app::AppState;
use crate::audit;
use crate::error::Error;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events by this actor name (username or token name).
    pub actor: Option<String>,
    /// Only this action; a trailing `*` matches a prefix (`signin.*`).
    pub action: Option<String>,
    /// RFC 3339 time, inclusive.
    pub since: Option<String>,
    /// RFC 3339 time, exclusive.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub next: Option<String>,
}

fn parse_time(field: &'static str, s: Option<&str>) -> Result<Option<i64>, Error> {
    s.map(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| Error::invalid(field, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
    })
    .transpose()
}

/// Parses the audit filter shared by the API and the admin page.
pub fn filter_from(q: &AuditParams) -> Result<audit::Filter, Error> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    let before_seq = q
        .next
        .as_deref()
        .map(|n| n.parse::<i64>().map_err(|_| Error::invalid("next", "is not a cursor returned by this API")))
        .transpose()?;
    Ok(audit::Filter {
        actor: q.actor.clone().filter(|s| !s.is_empty()),
        action: q.action.clone().filter(|s| !s.is_empty()),
        since: parse_time("since", q.since.as_deref().filter(|s| !s.is_empty()))?,
        until: parse_time("until", q.until.as_deref().filter(|s| !s.is_empty()))?,
        before_seq,
        limit,
    })
}

/// Read audit events, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = List<AuditView>), (status = 422, body = ErrorBody)))]
pub async fn list_audit(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<List<AuditView>>> {
    let f = filter_from(&q)?;
    let rows = audit::list(&app.db, &f).await.map_err(Error::from)?;
    let next = (rows.len() as i64 == f.limit).then(|| rows.last().map(|r| r.seq.to_string())).flatten();
    Ok(Json(List { items: rows.iter().map(AuditView::from).collect(), next }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    pub rows: i64,
    pub intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Verify the audit log's hash chain.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyView)))]
pub async fn verify_audit(State(app): State<AppState>, _: Admin) -> ApiResult<Json<VerifyView>> {
    let v = audit::verify(&app.db).await.map_err(Error::from)?;
    Ok(Json(VerifyView {
        rows: v.rows,
        intact: v.first_broken.is_none(),
        first_broken_seq: v.first_broken.as_ref().map(|b| b.0),
        reason: v.first_broken.map(|b| b.1),
    }))
}
