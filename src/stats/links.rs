//! Content links: the posts an LAO (or a producer) published for the programme, with the
//! hashtags they used. The programme's sheet asks for them beside the sales; a URL counts once
//! in the whole country, and each link tells which required hashtags it lacks.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text as SqlText};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;
use validator::Validate;

use crate::catalog::products::{PostPlatform, post_platform};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::content_links;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;
use crate::laos::model::LaoWithArea;
use crate::sales::AreaFilter;

pub const CONTENT_LINK: Text = Text {
    en: "content link",
    th: "ลิงก์เนื้อหา",
};

/// Query parameters that only track who clicked, dropped when two URLs are compared.
const TRACKING: &[&str] = &[
    "fbclid",
    "igshid",
    "igsh",
    "mibextid",
    "si",
    "ref",
    "ref_src",
    "rdid",
    "share_url",
    "_rdr",
    "__cft__",
    "__tn__",
    "is_from_webapp",
    "sender_device",
];

/// The URL as compared for "the same post": https, the host without `www.`/`m.`/`web.`, no
/// fragment, no tracking parameters (`utm_*`, `fbclid`…), no trailing slash.
pub fn url_key(url: &str) -> Option<String> {
    let host = crate::catalog::products::url_host(url)?;
    let rest = url.split_once("://")?.1;
    let after_host = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let without_fragment = after_host.split('#').next().unwrap_or("");
    let (path, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("").to_ascii_lowercase();
            !name.starts_with("utm_") && !TRACKING.contains(&name.as_str())
        })
        .collect();
    let path = path.trim_end_matches('/');
    let mut key = format!("https://{host}{path}");
    if !kept.is_empty() {
        key.push('?');
        key.push_str(&kept.join("&"));
    }
    Some(key)
}

/// A hashtag as compared: Unicode NFC, lower case, without `#`, spaces or zero-width
/// characters (Thai keyboards and copy-paste add them).
pub fn hashtag_key(tag: &str) -> String {
    tag.nfc()
        .flat_map(char::to_lowercase)
        .filter(|c| {
            *c != '#'
                && !c.is_whitespace()
                && !matches!(
                    *c,
                    '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
                )
        })
        .collect()
}

/// The required hashtags (as the programme writes them) that `given` lacks.
pub fn missing_hashtags(required: &[String], given: &[String]) -> Vec<String> {
    let have: Vec<String> = given.iter().map(|t| hashtag_key(t)).collect();
    required
        .iter()
        .filter(|r| !have.contains(&hashtag_key(r)))
        .cloned()
        .collect()
}

/// A link to register.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://www.facebook.com/maesot.city/posts/1234", "posted_on": "2026-06-14", "hashtags": ["#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา", "#ของดีบ้านเรา", "#เที่ยวท้องถิ่น", "#จังหวัดตาก", "#อำเภอแม่สอด", "#เทศบาลนครแม่สอด"], "product_ids": [3]}))]
pub struct NewContentLink {
    /// The post's URL (http or https).
    #[validate(length(max = 2000), custom(function = "crate::validate::http_url"))]
    #[schema(max_length = 2000, format = "uri")]
    pub url: String,
    /// The Bangkok date it was posted.
    pub posted_on: NaiveDate,
    /// The hashtags it used, with or without `#`.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub hashtags: Vec<String>,
    /// Products it promotes (the LAO's; a producer's own).
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub product_ids: Vec<i64>,
}

/// A registered link.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ContentLink {
    pub id: i64,
    pub lao_code: String,
    pub url: String,
    pub platform: PostPlatform,
    pub posted_on: NaiveDate,
    pub hashtags: Vec<String>,
    /// The programme's hashtags for this LAO.
    pub required_hashtags: Vec<String>,
    /// Those the post lacks (compared as Thai text: NFC, any case, with or without `#`).
    pub missing_hashtags: Vec<String>,
    pub product_ids: Vec<i64>,
    pub producer_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = content_links)]
pub struct ContentLinkRow {
    pub id: i64,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub producer_id: Option<i64>,
    pub url: String,
    pub url_key: String,
    pub platform: String,
    pub posted_on: NaiveDate,
    pub hashtags: String,
    pub has_required_hashtags: bool,
    pub product_ids: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

impl ContentLinkRow {
    pub fn view(self, lao: &LaoWithArea) -> ContentLink {
        let required = lao.hashtags();
        let hashtags: Vec<String> = self
            .hashtags
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        ContentLink {
            id: self.id,
            lao_code: lao.lao.dla_code.clone(),
            platform: self.platform.parse().unwrap_or(PostPlatform::Other),
            url: self.url,
            posted_on: self.posted_on,
            missing_hashtags: missing_hashtags(&required, &hashtags),
            required_hashtags: required,
            hashtags,
            product_ids: self
                .product_ids
                .split(',')
                .filter_map(|p| p.parse().ok())
                .collect(),
            producer_id: self.producer_id,
            created_by: self.created_by,
            created_at: to_bangkok(self.created_at),
        }
    }
}

/// Registers a link for an LAO. `producer_id`: the producer registering it (their products
/// only). 409 `already_exists` when the same post is registered (anywhere); 422 naming the field
/// otherwise.
pub fn create(
    conn: &mut DbConn,
    lao: &LaoWithArea,
    producer_id: Option<i64>,
    new: &NewContentLink,
    actor: &str,
    today: NaiveDate,
    now: NaiveDateTime,
) -> ApiResult<ContentLinkRow> {
    let mut errors = Vec::new();
    let key = url_key(new.url.trim());
    if key.is_none() {
        errors.push(FieldError::new("url", "invalid_url"));
    }
    if new.posted_on > today {
        errors.push(FieldError::new("posted_on", "too_large").with("max", today.to_string()));
    } else if new.posted_on < super::recorded::earliest_date() {
        errors.push(
            FieldError::new("posted_on", "too_small")
                .with("min", super::recorded::earliest_date().to_string()),
        );
    }
    for (i, tag) in new.hashtags.iter().enumerate() {
        let len = hashtag_key(tag).chars().count();
        if len == 0 || len > 100 {
            errors.push(FieldError::new(format!("hashtags[{i}]"), "invalid_hashtag"));
        }
    }
    for (i, id) in new.product_ids.iter().enumerate() {
        let fits = crate::catalog::products::product_row(conn, *id).is_ok_and(|p| {
            p.lao_id == lao.lao.id && producer_id.is_none_or(|me| me == p.producer_id)
        });
        if !fits {
            errors.push(FieldError::new(format!("product_ids[{i}]"), "not_found"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let key = key.unwrap_or_default();
    let taken: i64 = content_links::table
        .filter(content_links::url_key.eq(&key))
        .filter(content_links::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::already_exists(CONTENT_LINK, "url"));
    }
    let hashtags: Vec<String> = new.hashtags.iter().map(|t| t.trim().to_string()).collect();
    let complete = missing_hashtags(&lao.hashtags(), &hashtags).is_empty();
    let platform: &'static str = post_platform(new.url.trim())
        .unwrap_or(PostPlatform::Other)
        .into();
    let products: Vec<String> = new.product_ids.iter().map(i64::to_string).collect();
    let id: i64 = diesel::insert_into(content_links::table)
        .values((
            content_links::lao_id.eq(lao.lao.id),
            content_links::district_code.eq(&lao.lao.district_code),
            content_links::province_code.eq(&lao.lao.province_code),
            content_links::producer_id.eq(producer_id),
            content_links::url.eq(new.url.trim()),
            content_links::url_key.eq(&key),
            content_links::platform.eq(platform),
            content_links::posted_on.eq(new.posted_on),
            content_links::hashtags.eq(hashtags.join("\n")),
            content_links::has_required_hashtags.eq(complete),
            content_links::product_ids.eq(products.join(",")),
            content_links::created_by.eq(actor),
            content_links::created_at.eq(now),
        ))
        .returning(content_links::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::internal("a content link just made"))
}

/// A live link by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ContentLinkRow>> {
    content_links::table
        .find(id)
        .filter(content_links::deleted_at.is_null())
        .select(ContentLinkRow::as_select())
        .first(conn)
        .optional()
}

/// Removes a link from every count (kept, marked deleted).
pub fn delete(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(content_links::table.find(id))
        .set(content_links::deleted_at.eq(Some(now)))
        .execute(conn)
        .map(|_| ())
}

/// An LAO's live links posted `from..=to`, newest first.
pub fn of_lao(
    conn: &mut DbConn,
    lao_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<ContentLinkRow>> {
    content_links::table
        .filter(content_links::lao_id.eq(lao_id))
        .filter(content_links::deleted_at.is_null())
        .filter(content_links::posted_on.between(from, to))
        .order((content_links::posted_on.desc(), content_links::id.desc()))
        .select(ContentLinkRow::as_select())
        .load(conn)
}

/// The URLs of each LAO's live links posted `from..=to` in an area, by LAO id.
pub fn urls_by_lao(
    conn: &mut DbConn,
    area: &AreaFilter,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<std::collections::HashMap<i64, Vec<String>>> {
    let mut q = content_links::table
        .filter(content_links::deleted_at.is_null())
        .filter(content_links::posted_on.between(from, to))
        .order((content_links::posted_on, content_links::id))
        .select((content_links::lao_id, content_links::url))
        .into_boxed();
    q = match area {
        AreaFilter::National => q,
        AreaFilter::Province(c) => q.filter(content_links::province_code.eq(c.clone())),
        AreaFilter::District(c) => q.filter(content_links::district_code.eq(c.clone())),
        AreaFilter::Lao(id) => q.filter(content_links::lao_id.eq(*id)),
    };
    let mut out: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for (lao, url) in q.load::<(i64, String)>(conn)? {
        out.entry(lao).or_default().push(url);
    }
    Ok(out)
}

/// How links are grouped for the feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkGroup {
    All,
    Province,
    District,
    Lao,
    Month,
}

#[derive(QueryableByName)]
struct LinkCount {
    #[diesel(sql_type = SqlText)]
    key: String,
    #[diesel(sql_type = BigInt)]
    links: i64,
    #[diesel(sql_type = BigInt)]
    complete: i64,
}

/// Links posted `from..=to` in an area, and those with every required hashtag, by group.
pub fn counts(
    conn: &mut DbConn,
    area: &AreaFilter,
    from: NaiveDate,
    to: NaiveDate,
    by: LinkGroup,
) -> QueryResult<Vec<(String, i64, i64)>> {
    let key = match by {
        LinkGroup::All => "''",
        LinkGroup::Province => "province_code",
        LinkGroup::District => "district_code",
        LinkGroup::Lao => "CAST(lao_id AS TEXT)",
        LinkGroup::Month => "SUBSTR(CAST(posted_on AS TEXT), 1, 7)",
    };
    let group = if by == LinkGroup::All {
        String::new()
    } else {
        format!("GROUP BY {key}")
    };
    // Dates and codes reach the SQL text only as checked digits (the two backends write bind
    // placeholders differently).
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    let area_sql = match area {
        AreaFilter::National => String::new(),
        AreaFilter::Province(c) if digits(c) => format!("AND province_code = '{c}'"),
        AreaFilter::District(c) if digits(c) => format!("AND district_code = '{c}'"),
        AreaFilter::Lao(id) => format!("AND lao_id = {id}"),
        _ => return Ok(Vec::new()),
    };
    let rows: Vec<LinkCount> = diesel::sql_query(format!(
        "SELECT CAST({key} AS TEXT) AS key, CAST(COUNT(*) AS BIGINT) AS links, \
                CAST(COALESCE(SUM(CASE WHEN has_required_hashtags THEN 1 ELSE 0 END), 0) AS BIGINT) AS complete \
         FROM content_links WHERE deleted_at IS NULL \
         AND posted_on BETWEEN '{from}' AND '{to}' {area_sql} {group}"
    ))
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.key, r.links, r.complete))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_post_is_one_url() {
        let a = url_key("https://www.facebook.com/maesot/posts/1?fbclid=abc&utm_source=line#top");
        let b = url_key("http://m.facebook.com/maesot/posts/1/");
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some("https://facebook.com/maesot/posts/1"));
        assert_eq!(
            url_key("https://www.youtube.com/watch?v=abc&si=xyz").as_deref(),
            Some("https://youtube.com/watch?v=abc")
        );
        assert_ne!(
            url_key("https://www.youtube.com/watch?v=abc"),
            url_key("https://www.youtube.com/watch?v=abd")
        );
        assert_eq!(url_key("javascript:alert(1)"), None);
    }

    #[test]
    fn platforms_come_from_the_host() {
        for (url, platform) in [
            ("https://www.facebook.com/x/posts/1", PostPlatform::Facebook),
            ("https://vt.tiktok.com/ZS1/", PostPlatform::Tiktok),
            ("https://youtu.be/abc", PostPlatform::Youtube),
            ("https://www.instagram.com/p/abc/", PostPlatform::Instagram),
            ("https://linevoom.line.me/post/1", PostPlatform::Line),
            ("https://x.com/maesot/status/1", PostPlatform::X),
            ("https://shopee.co.th/product/1", PostPlatform::Other),
        ] {
            assert_eq!(post_platform(url), Some(platform), "{url}");
        }
    }

    #[test]
    fn hashtags_compare_as_thai_text() {
        let required = vec!["#ของดีบ้านเรา".to_string(), "#เที่ยวท้องถิ่น".to_string()];
        // Without '#', with a zero-width space, in decomposed form: all the same tag.
        let decomposed: String = "เที่ยวท้องถิ่น".nfd().collect();
        assert!(missing_hashtags(&required, &["ของดี\u{200b}บ้านเรา".into(), decomposed]).is_empty());
        assert_eq!(
            missing_hashtags(&required, &["#ของดีบ้านเรา".into()]),
            vec!["#เที่ยวท้องถิ่น".to_string()]
        );
        assert_eq!(hashtag_key("#KhongDee"), "khongdee");
    }
}
