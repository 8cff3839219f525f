//! Admin routes for buyers' personal data: export, erasure on request, and the audit log.
//! The phone travels in the request body, never in a URL (URLs are logged).

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::{self, AuditEntry, AuditFilter};
use super::model::{ErasureReport, SubjectExport};
use super::requests::{self, Erasure};
use crate::AppState;
use crate::auth::policy::{Action, Place, authorize};
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::Page;
use crate::validate::PhoneNumber;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_subject)
        .service(erase_subject)
        .service(audit_log);
}

/// The buyer a request is about.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "089 123 4567"}))]
pub struct DataSubject {
    /// A Thai phone number, as buyers give it (`089 123 4567`, `+66 89 123 4567`); matched in
    /// E.164 against orders, delivery addresses, holds and waiting-list entries.
    #[validate(custom(function = "crate::validate::thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: String,
}

impl DataSubject {
    fn e164(&self) -> ApiResult<String> {
        PhoneNumber::parse(&self.phone)
            .map(PhoneNumber::into_string)
            .ok_or_else(|| ApiError::invalid_field("phone", "invalid_phone"))
    }
}

fn admin(principal: &Principal) -> ApiResult<()> {
    authorize(principal, Action::ManagePersonalData, &Place::nation())
}

/// Export a buyer's personal data
///
/// Everything khongdee holds about one buyer phone (PDPA section 30): orders (by the buyer's
/// or the delivery address's phone) with lines, address and history, holds, waiting-list
/// entries, stored idempotent answers and webhook events that mention the phone. Times in
/// Bangkok time, amounts in satang. Admins only; recorded in the audit log.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    request_body = DataSubject,
    responses(
        (status = 200, body = SubjectExport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "phone (invalid_phone)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/personal-data/exports")]
pub async fn export_subject(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<DataSubject>,
) -> ApiResult<web::Json<SubjectExport>> {
    admin(&principal)?;
    let phone = body.0.e164()?;
    let actor = principal.actor_label();
    let pepper = state.citizen_id_pepper.clone();
    let now = state.clock.now_naive();
    let export = state
        .db_tx(move |conn| requests::export(conn, &phone, &actor, &pepper, now))
        .await?;
    Ok(web::Json(export))
}

/// Erase a buyer's personal data
///
/// Erases the name, phone, e-mail, LINE id, notes and delivery addresses of every order of the
/// phone, the phone of its holds, its waiting-list entries, and the same values in stored
/// idempotent answers and webhook events (PDPA section 33). Names, phones and address lines read
/// `[erased]` afterwards; e-mail, LINE id and notes are empty. Amounts, units, statuses and
/// area codes stay, so statistics keep their counts. Refused with 409 `personal_data_in_use`
/// (listing them in `open`) while the phone has an open order, an active hold or a waiting or
/// offered waiting-list entry. Asking again erases nothing more. Admins only; recorded in the
/// audit log, refusals too.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    request_body = DataSubject,
    responses(
        (status = 200, body = ErasureReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "personal_data_in_use", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "phone (invalid_phone)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/personal-data/erasures")]
pub async fn erase_subject(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<DataSubject>,
) -> ApiResult<HttpResponse> {
    admin(&principal)?;
    let phone = body.0.e164()?;
    let actor = principal.actor_label();
    let pepper = state.citizen_id_pepper.clone();
    let now = state.clock.now_naive();
    let outcome = state
        .db_tx(move |conn| requests::erase(conn, &phone, &actor, &pepper, now))
        .await?;
    match outcome {
        Erasure::Done(report) => Ok(HttpResponse::Ok().json(report)),
        Erasure::Refused { open, audit_id } => {
            Err(requests::in_use(&open).extra("audit_id", audit_id))
        }
    }
}

/// Personal-data audit log
///
/// Exports, erasures (refused ones with `detail.refused`) and retention runs, newest first:
/// who, when (Bangkok time), which phone as a keyed hash (`subject_key`, the same for every
/// entry about one phone) and how many rows per table. Admins only.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    params(AuditFilter),
    responses(
        (status = 200, body = Page<AuditEntry>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/personal-data/audit-log")]
pub async fn audit_log(
    state: web::Data<AppState>,
    principal: Principal,
    filter: ValidQuery<AuditFilter>,
) -> ApiResult<web::Json<Page<AuditEntry>>> {
    admin(&principal)?;
    let ValidQuery(filter) = filter;
    let page = state.db(move |conn| audit::list(conn, &filter)).await?;
    Ok(web::Json(page))
}
