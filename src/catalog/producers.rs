//! Producers: the farmers, community enterprises and small businesses an LAO helps sell.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::policy::{Action, Place};
use crate::auth::principal::Principal;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{laos, producers};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Text;
use crate::laos::model::LaoRow;
use crate::thai_ids::{CitizenId, PromptPayId};
use crate::validate::{PhoneNumber, thai_phone};

pub const PRODUCER: Text = Text {
    en: "producer",
    th: "ผู้ผลิต",
};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProducerKind {
    /// เกษตรกร
    Farmer,
    /// วิสาหกิจชุมชน
    CommunityEnterprise,
    /// ผู้ประกอบการรายย่อย
    SmallBusiness,
}

impl ProducerKind {
    pub fn name_th(self) -> &'static str {
        match self {
            ProducerKind::Farmer => "เกษตรกร",
            ProducerKind::CommunityEnterprise => "วิสาหกิจชุมชน",
            ProducerKind::SmallBusiness => "ผู้ประกอบการรายย่อย",
        }
    }
}

crate::stored_as_text!(ProducerKind);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = producers)]
pub struct ProducerRow {
    pub id: i64,
    pub lao_id: i64,
    pub province_code: String,
    pub district_code: String,
    pub kind: ProducerKind,
    pub display_name: String,
    pub description: Option<String>,
    pub contact_phone: String,
    pub promptpay_id: Option<String>,
    pub citizen_id_hash: Option<String>,
    pub registration_no: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ProducerRow {
    pub fn kind(&self) -> ProducerKind {
        self.kind
    }

    /// Where the producer sits: its LAO, narrowed to itself.
    pub fn place(&self, lao: &LaoRow) -> Place {
        lao.place().with_producer(self.id)
    }

    /// The PromptPay id to pay this producer, if it gave one.
    pub fn promptpay(&self) -> Option<PromptPayId> {
        self.promptpay_id.as_deref().and_then(|s| s.parse().ok())
    }
}

/// The LAO a record belongs to, in short.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LaoSummary {
    pub dla_code: String,
    pub full_name_th: String,
    pub name_en: Option<String>,
}

impl From<&LaoRow> for LaoSummary {
    fn from(lao: &LaoRow) -> Self {
        LaoSummary {
            dla_code: lao.dla_code.clone(),
            full_name_th: lao.full_name_th(),
            name_en: lao.name_en.clone(),
        }
    }
}

/// A producer. Contact and payment details are shown only to those who manage or oversee it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "kind": "community_enterprise", "kind_th": "วิสาหกิจชุมชน", "display_name": "วิสาหกิจชุมชนลำไยแม่ปะ",
    "description": "ลำไยอีดอปลอดสาร 40 ไร่", "registration_no": "6306-0123",
    "lao": {"dla_code": "6630691", "full_name_th": "องค์การบริหารส่วนตำบลแม่ปะ", "name_en": "Mae Pa SAO"},
    "province_code": "63", "district_code": "6306", "active": true,
    "created_at": "2026-06-01T09:00:00+07:00", "updated_at": "2026-06-01T09:00:00+07:00",
    "contact_phone": "+66812345678", "promptpay_id": "mobile:0812345678", "has_citizen_id": true
}))]
pub struct Producer {
    pub id: i64,
    pub kind: ProducerKind,
    pub kind_th: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Community-enterprise or business registration number.
    pub registration_no: Option<String>,
    pub lao: LaoSummary,
    pub province_code: String,
    pub district_code: String,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// E.164 (staff, officers of the area, the producer itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    /// Stored form `mobile:…`, `national_id:…` or `ewallet:…` (same callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promptpay_id: Option<String>,
    /// Whether a citizen id was given (the id itself is never stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_citizen_id: Option<bool>,
}

impl Producer {
    /// The view of a producer for a caller; private details only when `full`.
    pub fn view(row: ProducerRow, lao: &LaoRow, full: bool) -> Producer {
        let kind = row.kind();
        Producer {
            id: row.id,
            kind,
            kind_th: kind.name_th().to_string(),
            display_name: row.display_name,
            description: row.description,
            registration_no: row.registration_no,
            lao: LaoSummary::from(lao),
            province_code: row.province_code,
            district_code: row.district_code,
            active: row.active,
            created_at: to_bangkok(row.created_at),
            updated_at: to_bangkok(row.updated_at),
            contact_phone: full.then_some(row.contact_phone),
            promptpay_id: if full { row.promptpay_id } else { None },
            has_citizen_id: full.then_some(row.citizen_id_hash.is_some()),
        }
    }

    /// The view for this caller (`None`: anonymous).
    pub fn for_caller(row: ProducerRow, lao: &LaoRow, principal: Option<&Principal>) -> Producer {
        let full = principal.is_some_and(|p| p.may(Action::ReadArea, &row.place(lao)));
        Producer::view(row, lao, full)
    }
}

/// A new producer of an LAO.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "community_enterprise", "display_name": "วิสาหกิจชุมชนลำไยแม่ปะ", "description": "ลำไยอีดอปลอดสาร 40 ไร่",
    "contact_phone": "081-234-5678", "promptpay_id": "081-234-5678", "citizen_id": "1-1111-11111-11-9", "registration_no": "6306-0123"
}))]
pub struct NewProducer {
    pub kind: ProducerKind,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub display_name: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A Thai phone number in any usual form; stored as E.164.
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub contact_phone: String,
    /// Where buyers pay: a Thai mobile number, a 13-digit citizen or tax id, or a 15-digit
    /// e-wallet id.
    #[validate(custom(function = "crate::thai_ids::promptpay_id"))]
    #[schema(format = "promptpay-id")]
    pub promptpay_id: Option<String>,
    /// The citizen id of the person behind the producer, used only to count distinct
    /// beneficiaries: it is checked, hashed with a secret key, and never stored or shown.
    #[validate(custom(function = "crate::thai_ids::citizen_id"))]
    #[schema(format = "thai-citizen-id")]
    pub citizen_id: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub registration_no: Option<String>,
}

/// Changes to a producer. `active` is for LAO staff and admins.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerChanges {
    pub kind: Option<ProducerKind>,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub display_name: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub contact_phone: Option<String>,
    #[validate(custom(function = "crate::thai_ids::promptpay_id"))]
    #[schema(format = "promptpay-id")]
    pub promptpay_id: Option<String>,
    #[validate(custom(function = "crate::thai_ids::citizen_id"))]
    #[schema(format = "thai-citizen-id")]
    pub citizen_id: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub registration_no: Option<String>,
    pub active: Option<bool>,
}

fn phone(raw: &str, field: &str) -> ApiResult<String> {
    PhoneNumber::parse(raw)
        .map(PhoneNumber::into_string)
        .ok_or_else(|| ApiError::invalid_field(field, "invalid_phone"))
}

fn promptpay(raw: &str) -> ApiResult<String> {
    PromptPayId::parse(raw)
        .map(|p| p.to_stored())
        .ok_or_else(|| ApiError::invalid_field("promptpay_id", "invalid_promptpay_id"))
}

fn citizen_hash(raw: &str, pepper: &[u8]) -> ApiResult<String> {
    CitizenId::parse(raw)
        .map(|id| id.beneficiary_hash(pepper))
        .ok_or_else(|| ApiError::invalid_field("citizen_id", "invalid_citizen_id"))
}

pub fn find_with_lao(conn: &mut DbConn, id: i64) -> QueryResult<Option<(ProducerRow, LaoRow)>> {
    producers::table
        .inner_join(laos::table)
        .filter(producers::id.eq(id))
        .select((ProducerRow::as_select(), LaoRow::as_select()))
        .first(conn)
        .optional()
}

pub fn create(
    conn: &mut DbConn,
    lao: &LaoRow,
    new: &NewProducer,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<i64> {
    let contact_phone = phone(&new.contact_phone, "contact_phone")?;
    let promptpay_id = new.promptpay_id.as_deref().map(promptpay).transpose()?;
    let citizen_id_hash = new
        .citizen_id
        .as_deref()
        .map(|c| citizen_hash(c, pepper))
        .transpose()?;
    let id = diesel::insert_into(producers::table)
        .values((
            producers::lao_id.eq(lao.id),
            producers::province_code.eq(&lao.province_code),
            producers::district_code.eq(&lao.district_code),
            producers::kind.eq(new.kind.to_string()),
            producers::display_name.eq(new.display_name.trim()),
            producers::description.eq(new.description.as_deref()),
            producers::contact_phone.eq(contact_phone),
            producers::promptpay_id.eq(promptpay_id),
            producers::citizen_id_hash.eq(citizen_id_hash),
            producers::registration_no.eq(new.registration_no.as_deref()),
            producers::active.eq(true),
            producers::created_at.eq(now),
            producers::updated_at.eq(now),
        ))
        .returning(producers::id)
        .get_result(conn)?;
    Ok(id)
}

pub fn update(
    conn: &mut DbConn,
    principal: &Principal,
    producer: &ProducerRow,
    lao: &LaoRow,
    changes: &ProducerChanges,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<()> {
    let place = producer.place(lao);
    if changes.active.is_some() && !principal.may(Action::ManageProducers, &place) {
        return Err(ApiError::forbidden().extra("fields", ["active"]));
    }
    let contact_phone = changes
        .contact_phone
        .as_deref()
        .map(|p| phone(p, "contact_phone"))
        .transpose()?;
    let promptpay_id = changes.promptpay_id.as_deref().map(promptpay).transpose()?;
    let citizen_id_hash = changes
        .citizen_id
        .as_deref()
        .map(|c| citizen_hash(c, pepper))
        .transpose()?;
    diesel::update(producers::table.find(producer.id))
        .set((
            changes.kind.map(|k| producers::kind.eq(k.to_string())),
            changes
                .display_name
                .as_deref()
                .map(|v| producers::display_name.eq(v.trim().to_string())),
            changes
                .description
                .clone()
                .map(|v| producers::description.eq(Some(v))),
            contact_phone.map(|v| producers::contact_phone.eq(v)),
            promptpay_id.map(|v| producers::promptpay_id.eq(Some(v))),
            citizen_id_hash.map(|v| producers::citizen_id_hash.eq(Some(v))),
            changes
                .registration_no
                .clone()
                .map(|v| producers::registration_no.eq(Some(v))),
            changes.active.map(|v| producers::active.eq(v)),
            producers::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Filters for the producer list.
#[derive(Debug, Default, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProducerFilter {
    /// DLA code of the LAO.
    pub lao_code: Option<String>,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub kind: Option<ProducerKind>,
    /// Part of the display name.
    #[validate(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// Include producers marked inactive.
    #[serde(default)]
    pub include_inactive: bool,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Producers with their LAOs, oldest first, `limit + 1` rows after `after`.
pub fn list(
    conn: &mut DbConn,
    filter: &ProducerFilter,
    after: i64,
    limit: usize,
) -> QueryResult<Vec<(ProducerRow, LaoRow)>> {
    let mut query = producers::table
        .inner_join(laos::table)
        .select((ProducerRow::as_select(), LaoRow::as_select()))
        .filter(producers::id.gt(after))
        .order(producers::id)
        .limit(limit as i64 + 1)
        .into_boxed();
    if let Some(code) = &filter.lao_code {
        query = query.filter(laos::dla_code.eq(code.clone()));
    }
    if let Some(code) = &filter.province_code {
        query = query.filter(producers::province_code.eq(code.clone()));
    }
    if let Some(code) = &filter.district_code {
        query = query.filter(producers::district_code.eq(code.clone()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(producers::kind.eq(kind.to_string()));
    }
    if let Some(q) = &filter.q {
        query = query.filter(
            producers::display_name.like(format!("%{}%", q.trim().replace(['%', '_'], ""))),
        );
    }
    if !filter.include_inactive {
        query = query.filter(producers::active.eq(true));
    }
    query.load(conn)
}
