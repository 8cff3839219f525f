//! Partner clients: storefronts and apps that call the API with client credentials.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::tokens::{self, constant_time_eq, random_token, sha256_hex};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{laos, partner_client_laos, partner_clients};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Text;

pub const PARTNER_CLIENT: Text = Text {
    en: "partner client",
    th: "ไคลเอนต์พาร์ทเนอร์",
};

/// Scopes a partner client can be granted.
pub const SCOPES: &[(&str, &str)] = &[
    ("holds:write", "hold pre-order capacity for buyers"),
    ("orders:write", "place and cancel orders for buyers"),
    ("orders:read", "read the orders this client placed"),
    ("webhooks:manage", "manage webhook subscriptions"),
    ("stats:read", "read the sales statistics feed"),
];

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = partner_clients)]
pub struct PartnerRow {
    pub id: i64,
    pub client_id: String,
    pub secret_hash: String,
    pub name: String,
    pub contact_email: Option<String>,
    pub scopes: String,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

impl PartnerRow {
    pub fn scopes(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_string).collect()
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        constant_time_eq(&sha256_hex(secret), &self.secret_hash)
    }
}

/// A partner client as the API shows it (never with its secret).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "client_id": "kd_Zx8c1Qe3t5Ua", "name": "ตลาดดี.com", "contact_email": "dev@taladdee.example",
    "scopes": ["holds:write", "orders:write", "orders:read"], "lao_codes": ["3630690"], "active": true,
    "created_at": "2026-06-01T09:00:00+07:00", "updated_at": "2026-06-01T09:00:00+07:00", "last_used_at": null
}))]
pub struct PartnerClient {
    pub id: i64,
    /// The `client_id` for the token endpoint.
    pub client_id: String,
    pub name: String,
    pub contact_email: Option<String>,
    pub scopes: Vec<String>,
    /// DLA codes of the LAOs this client sells for; empty: every LAO.
    pub lao_codes: Vec<String>,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub updated_at: chrono::DateTime<chrono::FixedOffset>,
    pub last_used_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// A new partner client, answered once with its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartnerClientWithSecret {
    #[serde(flatten)]
    pub client: PartnerClient,
    /// Shown only now: store it safely. Rotate it with `POST /v1/partner-clients/{id}/secret`.
    pub client_secret: String,
}

fn scopes_known(scopes: &[String]) -> Result<(), validator::ValidationError> {
    if scopes
        .iter()
        .all(|s| SCOPES.iter().any(|(known, _)| known == s))
    {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("invalid_enum");
        e.add_param(
            "allowed".into(),
            &SCOPES
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", "),
        );
        Err(e)
    }
}

/// [`scopes_known`] as a schema: 1–10 of [`SCOPES`].
fn scopes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let scope = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SCOPES.iter().map(|(name, _)| *name)));
    ArrayBuilder::new()
        .items(scope)
        .min_items(Some(1))
        .max_items(Some(10))
        .description(Some(format!(
            "Scopes the client may ask for: {}.",
            SCOPES
                .iter()
                .map(|(name, what)| format!("`{name}` ({what})"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .build()
}

/// [`scopes_schema`], or `null`.
fn scopes_or_null_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut schema = scopes_schema();
    schema.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    schema
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ตลาดดี.com", "contact_email": "dev@taladdee.example", "scopes": ["holds:write", "orders:write", "orders:read"], "lao_codes": ["3630690"]}))]
pub struct NewPartnerClient {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name: String,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub contact_email: Option<String>,
    /// Scopes the client may ask for.
    #[validate(length(min = 1, max = 10), custom(function = "scopes_known"))]
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<String>,
    /// DLA codes of the LAOs it sells for; omit or leave empty for every LAO.
    #[serde(default)]
    #[validate(length(max = 1000))]
    #[schema(max_items = 1000, format = "dla-code")]
    pub lao_codes: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerClientChanges {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub contact_email: Option<String>,
    #[validate(length(min = 1, max = 10), custom(function = "scopes_known"))]
    #[schema(schema_with = scopes_or_null_schema)]
    pub scopes: Option<Vec<String>>,
    /// Replaces the LAO list (empty: every LAO).
    #[validate(length(max = 1000))]
    #[schema(max_items = 1000, format = "dla-code")]
    pub lao_codes: Option<Vec<String>>,
    /// `false` disables the client and ends its sessions.
    pub active: Option<bool>,
}

pub fn find_by_client_id(conn: &mut DbConn, client_id: &str) -> QueryResult<Option<PartnerRow>> {
    partner_clients::table
        .filter(partner_clients::client_id.eq(client_id))
        .select(PartnerRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<PartnerRow>> {
    partner_clients::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(conn)
        .optional()
}

/// DLA codes of the LAOs a client sells for.
pub fn lao_codes(conn: &mut DbConn, partner_id: i64) -> QueryResult<Vec<String>> {
    partner_client_laos::table
        .inner_join(laos::table)
        .filter(partner_client_laos::partner_client_id.eq(partner_id))
        .select(laos::dla_code)
        .order(laos::dla_code)
        .load(conn)
}

/// Whether a client may sell for an LAO (no list: every LAO).
pub fn may_sell_for(conn: &mut DbConn, partner_id: i64, lao_id: i64) -> QueryResult<bool> {
    let listed: i64 = partner_client_laos::table
        .filter(partner_client_laos::partner_client_id.eq(partner_id))
        .count()
        .get_result(conn)?;
    if listed == 0 {
        return Ok(true);
    }
    let this: i64 = partner_client_laos::table
        .filter(partner_client_laos::partner_client_id.eq(partner_id))
        .filter(partner_client_laos::lao_id.eq(lao_id))
        .count()
        .get_result(conn)?;
    Ok(this > 0)
}

/// What `sellable=true` on a list means for `principal`: the LAOs the partner client may sell
/// for (`None`: every LAO). Only partner clients sell: 401 without a token, 403 for accounts.
pub fn sellable_laos(
    conn: &mut DbConn,
    principal: Option<&crate::auth::principal::Principal>,
) -> crate::error::ApiResult<Option<Vec<i64>>> {
    match principal {
        None => Err(crate::error::ApiError::new(
            crate::error::ErrorKind::AuthenticationRequired,
        )),
        Some(p) => match p.partner_id() {
            Some(id) => Ok(lao_ids_sold_for(conn, id)?),
            None => Err(crate::error::ApiError::forbidden().with(
                "reason",
                crate::error::Param::both(
                    "only partner clients sell: `sellable=true` needs a client token",
                    "เฉพาะไคลเอนต์พาร์ทเนอร์ที่ขายสินค้าได้ `sellable=true` ต้องใช้โทเคนของไคลเอนต์",
                ),
            )),
        },
    }
}

/// The LAOs a partner client may sell for: `None` when it may sell for every LAO (it lists
/// none), else their ids.
pub fn lao_ids_sold_for(conn: &mut DbConn, partner_id: i64) -> QueryResult<Option<Vec<i64>>> {
    let ids: Vec<i64> = partner_client_laos::table
        .filter(partner_client_laos::partner_client_id.eq(partner_id))
        .select(partner_client_laos::lao_id)
        .load(conn)?;
    Ok((!ids.is_empty()).then_some(ids))
}

pub fn to_view(conn: &mut DbConn, row: PartnerRow) -> QueryResult<PartnerClient> {
    let lao_codes = lao_codes(conn, row.id)?;
    Ok(view_with(row, lao_codes))
}

/// Several clients as the API shows them: their LAOs in one query, not one per client.
pub fn to_views(conn: &mut DbConn, rows: Vec<PartnerRow>) -> QueryResult<Vec<PartnerClient>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut codes: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for (partner_id, code) in partner_client_laos::table
        .inner_join(laos::table)
        .filter(partner_client_laos::partner_client_id.eq_any(&ids))
        .select((partner_client_laos::partner_client_id, laos::dla_code))
        .order(laos::dla_code)
        .load::<(i64, String)>(conn)?
    {
        codes.entry(partner_id).or_default().push(code);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let lao_codes = codes.remove(&row.id).unwrap_or_default();
            view_with(row, lao_codes)
        })
        .collect())
}

fn view_with(row: PartnerRow, lao_codes: Vec<String>) -> PartnerClient {
    PartnerClient {
        id: row.id,
        scopes: row.scopes(),
        client_id: row.client_id,
        name: row.name,
        contact_email: row.contact_email,
        lao_codes,
        active: row.active,
        created_at: to_bangkok(row.created_at),
        updated_at: to_bangkok(row.updated_at),
        last_used_at: row.last_used_at.map(to_bangkok),
    }
}

fn set_laos(conn: &mut DbConn, partner_id: i64, lao_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(
        partner_client_laos::table.filter(partner_client_laos::partner_client_id.eq(partner_id)),
    )
    .execute(conn)?;
    for lao_id in lao_ids {
        diesel::insert_into(partner_client_laos::table)
            .values((
                partner_client_laos::partner_client_id.eq(partner_id),
                partner_client_laos::lao_id.eq(lao_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn new_secret() -> String {
    format!("kds_{}", random_token(32))
}

fn sorted_scopes(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(" ")
}

/// Creates a partner client selling for `lao_ids` (the LAOs of `new.lao_codes`, resolved by the
/// accounts room).
pub fn create(
    conn: &mut DbConn,
    new: &NewPartnerClient,
    lao_ids: &[i64],
    created_by: Option<i64>,
    now: NaiveDateTime,
) -> ApiResult<PartnerClientWithSecret> {
    let client_id = format!("kd_{}", random_token(12));
    let secret = new_secret();
    let id: i64 = diesel::insert_into(partner_clients::table)
        .values((
            partner_clients::client_id.eq(&client_id),
            partner_clients::secret_hash.eq(sha256_hex(&secret)),
            partner_clients::name.eq(new.name.trim()),
            partner_clients::contact_email.eq(new.contact_email.as_deref()),
            partner_clients::scopes.eq(sorted_scopes(&new.scopes)),
            partner_clients::active.eq(true),
            partner_clients::created_by.eq(created_by),
            partner_clients::created_at.eq(now),
            partner_clients::updated_at.eq(now),
        ))
        .returning(partner_clients::id)
        .get_result(conn)?;
    set_laos(conn, id, lao_ids)?;
    let row = find(conn, id)?.ok_or_else(|| ApiError::internal("created client vanished"))?;
    Ok(PartnerClientWithSecret {
        client: to_view(conn, row)?,
        client_secret: secret,
    })
}

/// Applies changes; `lao_ids` are the LAOs of `changes.lao_codes` when given (resolved by the
/// accounts room).
pub fn update(
    conn: &mut DbConn,
    id: i64,
    changes: &PartnerClientChanges,
    lao_ids: Option<&[i64]>,
    now: NaiveDateTime,
) -> ApiResult<PartnerClient> {
    find(conn, id)?.ok_or_else(|| ApiError::not_found(PARTNER_CLIENT))?;
    if let Some(ids) = lao_ids {
        set_laos(conn, id, ids)?;
    }
    diesel::update(partner_clients::table.find(id))
        .set((
            changes
                .name
                .as_deref()
                .map(|v| partner_clients::name.eq(v.trim().to_string())),
            changes
                .contact_email
                .as_deref()
                .map(|v| partner_clients::contact_email.eq(Some(v.to_string()))),
            changes
                .scopes
                .as_deref()
                .map(|v| partner_clients::scopes.eq(sorted_scopes(v))),
            changes.active.map(|v| partner_clients::active.eq(v)),
            partner_clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changes.active == Some(false) || changes.scopes.is_some() || changes.lao_codes.is_some() {
        // Tokens carry scopes: make the client fetch new ones.
        tokens::revoke_partner_sessions(conn, id, "client_changed", now)?;
    }
    let row = find(conn, id)?.ok_or_else(|| ApiError::not_found(PARTNER_CLIENT))?;
    Ok(to_view(conn, row)?)
}

/// Replaces the secret; the old one stops working at once, with every token issued under it.
pub fn rotate_secret(
    conn: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
) -> ApiResult<PartnerClientWithSecret> {
    find(conn, id)?.ok_or_else(|| ApiError::not_found(PARTNER_CLIENT))?;
    let secret = new_secret();
    diesel::update(partner_clients::table.find(id))
        .set((
            partner_clients::secret_hash.eq(sha256_hex(&secret)),
            partner_clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    tokens::revoke_partner_sessions(conn, id, "secret_rotated", now)?;
    let row = find(conn, id)?.ok_or_else(|| ApiError::not_found(PARTNER_CLIENT))?;
    Ok(PartnerClientWithSecret {
        client: to_view(conn, row)?,
        client_secret: secret,
    })
}

pub fn list(conn: &mut DbConn, limit: usize, after: i64) -> QueryResult<Vec<PartnerRow>> {
    partner_clients::table
        .filter(partner_clients::id.gt(after))
        .order(partner_clients::id)
        .limit(limit as i64 + 1)
        .select(PartnerRow::as_select())
        .load(conn)
}

pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(partner_clients::table.find(id))
        .set(partner_clients::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
}
