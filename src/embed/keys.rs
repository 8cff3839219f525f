//! Publishable keys: the public half of an LAO's embedded form. A key names the LAO whose
//! windows the form shows and sells; it sits in the LAO's web page, so it is no secret. What
//! guards it is the LAO's allowed origins (checked for every browser request, see
//! [`super::origins`]), the rate limit per key and address, and revocation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::embed_keys;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Text;
use crate::laos::model::LaoRow;

pub const EMBED_KEY: Text = Text {
    en: "publishable key",
    th: "คีย์สาธารณะของแบบฟอร์ม",
};

/// Most live keys one LAO holds (one per website and a spare while rotating is plenty).
pub const MAX_LIVE_KEYS: i64 = 20;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = embed_keys)]
pub struct KeyRow {
    pub id: i64,
    pub lao_id: i64,
    pub public_key: String,
    pub label: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A publishable key as its LAO's staff see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "key": "pk_4f0c9e2a7b1d4c6e8f0a2b4c6d8e0f1a", "label": "เว็บไซต์เทศบาล",
    "lao_code": "3630690", "created_by": "user:12", "created_at": "2026-11-30T10:15:00+07:00",
    "revoked_at": null, "active": true
}))]
pub struct EmbedKey {
    pub id: i64,
    /// Put it in the snippet's `data-key` (or the iframe's `key=`).
    pub key: String,
    pub label: String,
    /// DLA code of the LAO.
    pub lao_code: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub revoked_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub active: bool,
}

impl KeyRow {
    pub fn view(self, lao_code: &str) -> EmbedKey {
        EmbedKey {
            id: self.id,
            active: self.revoked_at.is_none(),
            key: self.public_key,
            label: self.label,
            lao_code: lao_code.to_string(),
            created_by: self.created_by,
            created_at: to_bangkok(self.created_at),
            revoked_at: self.revoked_at.map(to_bangkok),
        }
    }
}

/// A new publishable key.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "เว็บไซต์เทศบาล"}))]
pub struct NewEmbedKey {
    /// Where the key is used, for the LAO's own records (a site, a page).
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank"),
        custom(function = "crate::validate::one_line")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank-line")]
    pub label: String,
}

/// Whether `key` has the shape of a publishable key: `pk_` and 16 to 64 lowercase letters or
/// digits. Anything else is not looked up.
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix("pk_").is_some_and(|rest| {
        (16..=64).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// A fresh key: `pk_` and 128 random bits in hex.
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("pk_{hex}")
}

/// Creates a key for the LAO. At most [`MAX_LIVE_KEYS`] live ones (409 `conflict` beyond).
pub fn create(
    conn: &mut DbConn,
    lao: &LaoRow,
    label: &str,
    created_by: &str,
    now: NaiveDateTime,
) -> ApiResult<KeyRow> {
    let live: i64 = embed_keys::table
        .filter(embed_keys::lao_id.eq(lao.id))
        .filter(embed_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if live >= MAX_LIVE_KEYS {
        return Err(ApiError::conflict(Text {
            en: "the LAO already has 20 live publishable keys; revoke one first",
            th: "อปท. มีคีย์สาธารณะที่ใช้งานอยู่ครบ 20 คีย์แล้ว กรุณายกเลิกคีย์เดิมก่อน",
        }));
    }
    insert(conn, lao.id, &generate(), label.trim(), created_by, now)
}

/// Inserts a key as given (the demo data's fixed key goes through here too).
pub fn insert(
    conn: &mut DbConn,
    lao_id: i64,
    public_key: &str,
    label: &str,
    created_by: &str,
    now: NaiveDateTime,
) -> ApiResult<KeyRow> {
    let id: i64 = diesel::insert_into(embed_keys::table)
        .values((
            embed_keys::lao_id.eq(lao_id),
            embed_keys::public_key.eq(public_key),
            embed_keys::label.eq(label),
            embed_keys::created_by.eq(created_by),
            embed_keys::created_at.eq(now),
        ))
        .returning(embed_keys::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::internal("a new publishable key went missing"))
}

/// The LAO's keys, newest first, revoked ones included.
pub fn list(conn: &mut DbConn, lao_id: i64) -> ApiResult<Vec<KeyRow>> {
    Ok(embed_keys::table
        .filter(embed_keys::lao_id.eq(lao_id))
        .order(embed_keys::id.desc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> ApiResult<Option<KeyRow>> {
    Ok(embed_keys::table
        .find(id)
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Revokes the key (from now on the form answers 404); revoking twice changes nothing.
pub fn revoke(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(embed_keys::table.find(id))
        .filter(embed_keys::revoked_at.is_null())
        .set(embed_keys::revoked_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The live key and its LAO (active or not: an LAO switched off shows no windows anyway), or
/// 404 for a malformed, unknown or revoked key.
pub fn resolve(conn: &mut DbConn, public_key: &str) -> ApiResult<(KeyRow, LaoRow)> {
    let (row, lao) = resolve_any(conn, public_key)?;
    if row.revoked_at.is_some() {
        return Err(ApiError::not_found(EMBED_KEY));
    }
    Ok((row, lao))
}

/// The key, revoked or not, and its LAO, or 404: for reading what a buyer already has.
pub fn resolve_any(conn: &mut DbConn, public_key: &str) -> ApiResult<(KeyRow, LaoRow)> {
    if !well_formed(public_key) {
        return Err(ApiError::not_found(EMBED_KEY));
    }
    let row: Option<KeyRow> = embed_keys::table
        .filter(embed_keys::public_key.eq(public_key))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?;
    let row = row.ok_or_else(|| ApiError::not_found(EMBED_KEY))?;
    let lao = crate::laos::model::find_by_id(conn, row.lao_id)?
        .ok_or_else(|| ApiError::internal("a publishable key's LAO is gone"))?;
    Ok((row, lao))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pk_and_lowercase_letters_or_digits() {
        let key = generate();
        assert!(well_formed(&key), "{key}");
        assert_eq!(key.len(), 35);
        assert_ne!(generate(), key);
        assert!(well_formed("pk_demomaesot2569khongdee"));
        for bad in [
            "",
            "pk_",
            "pk_short",
            "sk_4f0c9e2a7b1d4c6e8f0a2b4c6d8e0f1a",
            "pk_4F0C9E2A7B1D4C6E8F0A2B4C6D8E0F1A",
            "pk_4f0c9e2a-7b1d-4c6e-8f0a",
            "pk_4f0c9e2a7b1d4c6e8f0a2b4c6d8e0f1a/../x",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
        assert!(!well_formed(&format!("pk_{}", "a".repeat(65))));
    }
}
