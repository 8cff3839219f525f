//! User accounts: officers, LAO staff, producers and admins.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::password;
use super::policy::{Action, Place};
use super::principal::{Area, Principal, Role};
use super::tokens;
use crate::db::DbConn;
use crate::db::schema::{laos, users};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;
use crate::validate::{PhoneNumber, thai_phone};

pub const USER: Text = Text {
    en: "user",
    th: "ผู้ใช้",
};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub lao_id: Option<i64>,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    pub producer_id: Option<i64>,
}

impl UserRow {
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn area(&self) -> Area {
        Area {
            province_code: self.province_code.clone(),
            district_code: self.district_code.clone(),
            lao_id: self.lao_id,
            producer_id: self.producer_id,
        }
    }

    /// Where the account sits, for deciding who may see or manage it. `None`: national (admins).
    pub fn place(&self) -> Option<Place> {
        let province_code = self.province_code.clone()?;
        Some(Place {
            province_code,
            district_code: self.district_code.clone().unwrap_or_default(),
            lao_id: self.lao_id,
            producer_id: self.producer_id,
            // Province officers and the staff of a provincial administrative organization have
            // no district.
            province_wide: self.district_code.is_none(),
        })
    }
}

/// An account as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "username": "somchai.maesot", "display_name": "สมชาย ใจดี", "email": "somchai@maesot.example",
    "phone": "+66812345678", "role": "lao_staff", "province_code": "63", "district_code": "6306",
    "lao_code": "3630690", "active": true, "created_at": "2026-06-01T09:00:00+07:00",
    "updated_at": "2026-06-01T09:00:00+07:00", "last_login_at": null
}))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    /// DLA code of the LAO (LAO staff and producers).
    pub lao_code: Option<String>,
    /// The producer record a producer account manages.
    pub producer_id: Option<i64>,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub updated_at: chrono::DateTime<chrono::FixedOffset>,
    pub last_login_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl User {
    pub fn from_row(row: UserRow, lao_code: Option<String>) -> User {
        use crate::clock::to_bangkok;
        User {
            id: row.id,
            role: row.role(),
            username: row.username,
            display_name: row.display_name,
            email: row.email,
            phone: row.phone,
            province_code: row.province_code,
            district_code: row.district_code,
            lao_code,
            producer_id: row.producer_id,
            active: row.active,
            created_at: to_bangkok(row.created_at),
            updated_at: to_bangkok(row.updated_at),
            last_login_at: row.last_login_at.map(to_bangkok),
        }
    }
}

pub(crate) fn username_chars(value: &str) -> Result<(), validator::ValidationError> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_username"))
    }
}

/// The roles an account may have: every role but `partner` (partners are partner clients).
fn account_roles() -> utoipa::openapi::schema::Object {
    use strum::IntoEnumIterator;
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            Role::iter()
                .filter(|r| *r != Role::Partner)
                .map(|r| r.to_string()),
        ))
        .description(Some(
            "The account's role; the area field it needs follows from it: `province_code` \
             (province officer), `district_code` (district officer), `lao_code` (LAO staff), \
             `producer_id` (producer), none (admin).",
        ))
        .build()
}

/// A new account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "somchai.maesot", "display_name": "สมชาย ใจดี", "password": "ลำไยหวาน-2569",
    "role": "lao_staff", "lao_code": "3630690", "email": "somchai@maesot.example", "phone": "081 234 5678"
}))]
pub struct NewUser {
    /// 3–64 characters: letters, digits, `.`, `_`, `-`, `@`. Case-insensitive.
    #[validate(length(min = 3, max = 64), custom(function = "username_chars"))]
    #[schema(min_length = 3, max_length = 64, format = "username")]
    pub username: String,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub display_name: String,
    /// At least 10 characters; not a common password; not containing the username.
    #[schema(min_length = 10, max_length = 128, pattern = r"^(?!([\s\S])\1*$)")]
    pub password: String,
    #[schema(schema_with = account_roles)]
    pub role: Role,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    /// A Thai phone number in any usual form; stored as E.164.
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: Option<String>,
    /// Two-digit province code: required for province officers.
    #[schema(pattern = "^[0-9]{2}$", example = "63")]
    pub province_code: Option<String>,
    /// Four-digit district code: required for district officers.
    #[schema(pattern = "^[0-9]{4}$", example = "6306")]
    pub district_code: Option<String>,
    /// DLA code of the LAO: required for LAO staff.
    #[schema(format = "dla-code", example = "6630691")]
    pub lao_code: Option<String>,
    /// The producer record: required for producer accounts.
    pub producer_id: Option<i64>,
}

/// Changes to an account. Role and area are fixed: create a new account instead.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub display_name: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: Option<String>,
    /// `false` disables the account and ends its sessions.
    pub active: Option<bool>,
    /// A new password set by a manager; ends the account's sessions.
    #[schema(min_length = 10, max_length = 128, pattern = r"^(?!([\s\S])\1*$)")]
    pub password: Option<String>,
}

/// An account's area, resolved and checked from a [`NewUser`] by the accounts room
/// (`accounts::areas::resolve_area`), which knows the LAOs and producers.
#[derive(Debug, Default)]
pub struct AccountArea {
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub lao_id: Option<i64>,
    pub producer_id: Option<i64>,
    pub place: Option<Place>,
}

/// Who may create the account: checked against the resolved area. `None` principal: the CLI.
fn check_may_manage(
    principal: Option<&Principal>,
    role: Role,
    place: Option<&Place>,
) -> ApiResult<()> {
    let Some(principal) = principal else {
        return Ok(());
    };
    let allowed = match place {
        Some(place) => principal.may(Action::ManageUser(role), place),
        None => principal.is_admin(),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<(UserRow, Option<String>)>> {
    users::table
        .left_join(laos::table)
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), laos::dla_code.nullable()))
        .first(conn)
        .optional()
}

/// Checks, before the slow password hash, that the account could be created by this caller.
pub fn precheck_create(
    conn: &mut DbConn,
    principal: &Principal,
    new: &NewUser,
    area: &AccountArea,
) -> ApiResult<()> {
    check_may_manage(Some(principal), new.role, area.place.as_ref())?;
    if find_by_username(conn, &new.username)?.is_some() {
        return Err(ApiError::already_exists(USER, "username")
            .field(FieldError::new("username", "duplicate")));
    }
    Ok(())
}

/// Creates an account. The password hash is computed by the caller (it is slow; keep it off
/// the connection). `principal` is `None` for the command line.
pub fn create(
    conn: &mut DbConn,
    principal: Option<&Principal>,
    new: &NewUser,
    area: &AccountArea,
    password_hash: &str,
    now: NaiveDateTime,
) -> ApiResult<User> {
    check_may_manage(principal, new.role, area.place.as_ref())?;
    let username = new.username.trim().to_lowercase();
    if find_by_username(conn, &username)?.is_some() {
        return Err(ApiError::already_exists(USER, "username")
            .field(FieldError::new("username", "duplicate")));
    }
    let phone = new
        .phone
        .as_deref()
        .and_then(PhoneNumber::parse)
        .map(PhoneNumber::into_string);
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::username.eq(&username),
            users::display_name.eq(new.display_name.trim()),
            users::email.eq(new.email.as_deref().map(str::trim)),
            users::phone.eq(phone),
            users::password_hash.eq(password_hash),
            users::role.eq(new.role.to_string()),
            users::province_code.eq(&area.province_code),
            users::district_code.eq(&area.district_code),
            users::lao_id.eq(area.lao_id),
            users::producer_id.eq(area.producer_id),
            users::active.eq(true),
            users::created_by.eq(principal.and_then(Principal::user_id)),
            users::created_at.eq(now),
            users::updated_at.eq(now),
            users::password_changed_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    let (row, lao_code) =
        find(conn, id)?.ok_or_else(|| ApiError::internal("created user vanished"))?;
    Ok(User::from_row(row, lao_code))
}

/// Checks a new account's password against the policy (before hashing).
pub fn check_new_password(new: &NewUser) -> ApiResult<()> {
    password::check_policy("password", &new.password, &new.username)
        .map_err(|e| ApiError::validation(vec![e]))
}

/// Reads an account the principal may see; others are 404.
pub fn get_visible(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
) -> ApiResult<(UserRow, Option<String>)> {
    let found = find(conn, id)?.ok_or_else(|| ApiError::not_found(USER))?;
    if !may_see(principal, &found.0) {
        return Err(ApiError::not_found(USER));
    }
    Ok(found)
}

fn may_see(principal: &Principal, user: &UserRow) -> bool {
    if principal.user_id() == Some(user.id) {
        return true;
    }
    match user.place() {
        Some(place) => principal.may(Action::ReadUsers, &place),
        None => principal.is_admin(),
    }
}

/// Applies changes to an account the principal may manage.
pub fn update(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    changes: &UserChanges,
    password_hash: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<User> {
    let (row, _) = get_visible(conn, principal, id)?;
    check_may_manage(Some(principal), row.role(), row.place().as_ref())?;
    if principal.user_id() == Some(id) && changes.active == Some(false) {
        return Err(ApiError::validation(vec![FieldError::new(
            "active",
            "not_allowed",
        )]));
    }
    let phone = changes
        .phone
        .as_deref()
        .and_then(PhoneNumber::parse)
        .map(PhoneNumber::into_string);
    diesel::update(users::table.find(id))
        .set((
            changes
                .display_name
                .as_deref()
                .map(|v| users::display_name.eq(v.trim().to_string())),
            changes
                .email
                .as_deref()
                .map(|v| users::email.eq(Some(v.trim().to_string()))),
            phone.map(|v| users::phone.eq(Some(v))),
            changes.active.map(|v| users::active.eq(v)),
            password_hash.map(|h| users::password_hash.eq(h.to_string())),
            password_hash.map(|_| users::password_changed_at.eq(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changes.active == Some(false) {
        tokens::revoke_user_sessions(conn, id, None, "account_disabled", now)?;
    } else if password_hash.is_some() {
        tokens::revoke_user_sessions(conn, id, None, "password_reset", now)?;
    }
    let (row, lao_code) = find(conn, id)?.ok_or_else(|| ApiError::not_found(USER))?;
    Ok(User::from_row(row, lao_code))
}

/// Filters for listing accounts.
#[derive(Debug, Default, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// DLA code of an LAO.
    pub lao_code: Option<String>,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub active: Option<bool>,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The accounts the principal may see, oldest first.
pub fn list(
    conn: &mut DbConn,
    principal: &Principal,
    filter: &UserFilter,
) -> ApiResult<crate::pagination::Page<User>> {
    use crate::pagination::{decode_cursor, page_from, page_size};
    let limit = page_size(filter.limit);
    let after: i64 = decode_cursor(filter.cursor.as_deref())?.unwrap_or(0);
    let mut query = users::table
        .left_join(laos::table)
        .select((UserRow::as_select(), laos::dla_code.nullable()))
        .filter(users::id.gt(after))
        .order(users::id)
        .limit(limit as i64 + 1)
        .into_boxed();
    // Visibility, mirroring Principal::covers.
    let area = &principal.area;
    query = match principal.role {
        Role::Admin => query,
        Role::ProvinceOfficer => query
            .filter(users::province_code.eq(area.province_code.clone().unwrap_or_default()))
            .filter(users::role.ne(Role::Admin.to_string())),
        Role::DistrictOfficer => query
            .filter(users::district_code.eq(area.district_code.clone().unwrap_or_default()))
            .filter(
                users::role.ne_all([Role::Admin.to_string(), Role::ProvinceOfficer.to_string()]),
            ),
        Role::LaoStaff => query.filter(users::lao_id.eq(area.lao_id.unwrap_or(-1))),
        Role::Producer | Role::Partner => {
            query.filter(users::id.eq(principal.user_id().unwrap_or(-1)))
        }
    };
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.to_string()));
    }
    if let Some(code) = &filter.lao_code {
        query = query.filter(laos::dla_code.eq(code.clone()));
    }
    if let Some(code) = &filter.province_code {
        query = query.filter(users::province_code.eq(code.clone()));
    }
    if let Some(code) = &filter.district_code {
        query = query.filter(users::district_code.eq(code.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    let rows = query.load::<(UserRow, Option<String>)>(conn)?;
    Ok(page_from(rows, limit, |(row, _)| row.id).map(|(row, code)| User::from_row(row, code)))
}

/// Records a successful login.
pub fn touch_login(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Changes one's own password (the current one was checked by the caller).
pub fn set_own_password(
    conn: &mut DbConn,
    id: i64,
    password_hash: &str,
    keep_session: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    tokens::revoke_user_sessions(conn, id, Some(keep_session), "password_changed", now)?;
    Ok(())
}
