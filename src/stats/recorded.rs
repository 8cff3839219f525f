//! Sales made elsewhere (Facebook, TikTok, LINE, a live stream, a phone call) that an LAO's staff
//! record, so that they count in the programme's figures beside pre-orders (source `recorded`).
//! Each record becomes a sale fact; a change records the reversal of the old fact and a new
//! fact, a deletion the reversal: the feed's history stays append-only.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::DbConn;
use crate::db::schema::recorded_sales;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;
use crate::laos::model::LaoRow;
use crate::sales::{self, SaleChannel};

pub const RECORDED_SALE: Text = Text {
    en: "recorded sale",
    th: "ยอดขายที่บันทึก",
};

/// The channels a recorded sale may name (the others are pre-orders').
const RECORDABLE: &str = "facebook, tiktok, line, youtube, instagram, shopee, lazada, phone, other";

/// The earliest date a sale may be recorded for (the programme's first fiscal year, 2560).
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2016, 10, 1).expect("a date")
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = recorded_sales)]
pub struct RecordedSaleRow {
    pub id: i64,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub producer_id: Option<i64>,
    pub producer_count: Option<i32>,
    pub product_id: Option<i64>,
    pub crop_id: Option<i64>,
    pub sale_date: Option<NaiveDate>,
    pub sale_month: String,
    pub channel: SaleChannel,
    pub sales_count: i64,
    pub revenue_satang: i64,
    pub post_url: Option<String>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

/// A sale made elsewhere, as an LAO's staff record it.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"producer_id": 3, "date": "2026-06-14", "channel": "facebook", "sales_count": 12, "revenue_satang": 540000, "post_url": "https://www.facebook.com/maepa/posts/123", "note": "ไลฟ์ขายลำไย"}))]
pub struct NewRecordedSale {
    /// The producer who sold, one of the LAO's; or give `producer_count` instead.
    pub producer_id: Option<i64>,
    /// "Several producers": how many people sold (2–100,000), when they are not named one by one.
    #[validate(range(min = 2, max = 100_000))]
    #[schema(minimum = 2, maximum = 100_000)]
    pub producer_count: Option<i32>,
    /// The product sold (one of the producer's, or of the LAO's for several producers): gives the
    /// crop.
    pub product_id: Option<i64>,
    /// The Bangkok date of the sales; or give `month` when only the month is known.
    pub date: Option<NaiveDate>,
    /// `2026-06`: the month of the sales, when no day is given (they count on its first day).
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: Option<String>,
    /// Where the sales were made: facebook, tiktok, line, youtube, instagram, shopee, lazada,
    /// phone or other.
    pub channel: SaleChannel,
    /// Number of sales (orders received), 1–1,000,000.
    #[validate(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub sales_count: i64,
    /// Revenue in satang (฿5,400.00 = 540000), 0 to ฿1,000,000,000.
    #[validate(range(min = 0, max = 100_000_000_000_i64))]
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub revenue_satang: i64,
    /// A link to the post or live stream (http or https).
    #[validate(length(max = 2000), custom(function = "crate::validate::http_url"))]
    #[schema(max_length = 2000, format = "uri")]
    pub post_url: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// A recorded sale.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordedSale {
    pub id: i64,
    /// The LAO's DLA code.
    pub lao_code: String,
    pub producer_id: Option<i64>,
    pub producer_count: Option<i32>,
    pub product_id: Option<i64>,
    pub date: Option<NaiveDate>,
    pub month: String,
    pub channel: SaleChannel,
    pub sales_count: i64,
    pub revenue_satang: i64,
    pub post_url: Option<String>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

fn bangkok(t: NaiveDateTime) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(7 * 3600)
        .expect("UTC+7")
        .from_utc_datetime(&t)
}

impl RecordedSale {
    pub fn of(row: RecordedSaleRow, lao_code: &str) -> RecordedSale {
        RecordedSale {
            id: row.id,
            lao_code: lao_code.to_string(),
            producer_id: row.producer_id,
            producer_count: row.producer_count,
            product_id: row.product_id,
            date: row.sale_date,
            month: row.sale_month,
            channel: row.channel,
            sales_count: row.sales_count,
            revenue_satang: row.revenue_satang,
            post_url: row.post_url,
            note: row.note,
            created_by: row.created_by,
            created_at: bangkok(row.created_at),
            updated_at: bangkok(row.updated_at),
        }
    }
}

/// What a checked record holds, ready to store.
struct Checked {
    producer_id: Option<i64>,
    producer_count: Option<i32>,
    beneficiary_key: Option<String>,
    product_id: Option<i64>,
    crop_id: Option<i64>,
    date: Option<NaiveDate>,
    month: String,
    day: NaiveDate,
}

/// Checks a record against the LAO: 422 naming each field that is wrong.
fn check(
    conn: &mut DbConn,
    lao: &LaoRow,
    new: &NewRecordedSale,
    today: NaiveDate,
) -> ApiResult<Checked> {
    let mut errors = Vec::new();
    if !new.channel.is_recordable() {
        errors.push(FieldError::new("channel", "invalid_enum").with("allowed", RECORDABLE));
    }
    let (producer_id, beneficiary_key) = match (new.producer_id, new.producer_count) {
        (Some(_), Some(_)) => {
            errors.push(
                FieldError::new("producer_count", "one_of")
                    .with("other", "producer_id, producer_count"),
            );
            (None, None)
        }
        (None, None) => {
            errors.push(FieldError::new("producer_id", "required"));
            (None, None)
        }
        (Some(id), None) => match crate::catalog::producers::find_with_lao(conn, id)? {
            Some((p, _)) if p.lao_id == lao.id => (
                Some(id),
                Some(sales::beneficiary_key(id, p.citizen_id_hash.as_deref())),
            ),
            _ => {
                errors.push(FieldError::new("producer_id", "not_found"));
                (None, None)
            }
        },
        (None, Some(_)) => (None, None),
    };
    let mut crop_id = None;
    if let Some(product_id) = new.product_id {
        match crate::catalog::products::product_row(conn, product_id) {
            Ok(p) if p.lao_id == lao.id && producer_id.is_none_or(|id| id == p.producer_id) => {
                crop_id = Some(p.crop_id)
            }
            _ => errors.push(FieldError::new("product_id", "not_found")),
        }
    }
    let (date, month, day) = match (new.date, new.month.as_deref()) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("month", "one_of").with("other", "date, month"));
            (None, String::new(), today)
        }
        (None, None) => {
            errors.push(FieldError::new("date", "required"));
            (None, String::new(), today)
        }
        (Some(d), None) => {
            if d > today {
                errors.push(FieldError::new("date", "too_large").with("max", today.to_string()));
            } else if d < earliest_date() {
                errors.push(
                    FieldError::new("date", "too_small").with("min", earliest_date().to_string()),
                );
            }
            (Some(d), sales::month_key(d), d)
        }
        (None, Some(m)) => match NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d") {
            Ok(first) if m.len() == 7 && first <= today && first >= earliest_date() => {
                (None, m.to_string(), first)
            }
            Ok(first) if m.len() == 7 && first > today => {
                errors.push(
                    FieldError::new("month", "too_large").with("max", sales::month_key(today)),
                );
                (None, String::new(), today)
            }
            _ => {
                errors.push(FieldError::new("month", "invalid_month"));
                (None, String::new(), today)
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Checked {
        producer_id,
        producer_count: new.producer_count,
        beneficiary_key,
        product_id: new.product_id,
        crop_id,
        date,
        month,
        day,
    })
}

/// 409 when an accepted report of the LAO covers the day: its figures are final.
fn ensure_open(conn: &mut DbConn, lao_id: i64, day: NaiveDate) -> ApiResult<()> {
    if super::reports::accepted_covers(conn, lao_id, day)? {
        return Err(ApiError::new(crate::error::ErrorKind::Conflict).with(
            "reason",
            crate::error::Param::both(
                format!("the LAO's report covering {day} has been accepted"),
                format!("รายงานของ อปท. ที่ครอบคลุมวันที่ {day} ได้รับการรับรองแล้ว"),
            ),
        ));
    }
    Ok(())
}

/// The Bangkok day a stored record counts on.
fn day_of(row: &RecordedSaleRow) -> NaiveDate {
    row.sale_date
        .or_else(|| NaiveDate::parse_from_str(&format!("{}-01", row.sale_month), "%Y-%m-%d").ok())
        .unwrap_or_default()
}

/// The sale fact a stored record stands for.
fn fact_of(
    row: &RecordedSaleRow,
    beneficiary_key: Option<String>,
    now: NaiveDateTime,
) -> sales::NewFact {
    let day = row
        .sale_date
        .or_else(|| NaiveDate::parse_from_str(&format!("{}-01", row.sale_month), "%Y-%m-%d").ok())
        .unwrap_or_else(|| sales::bangkok_date(now));
    sales::NewFact {
        source: sales::Source::Recorded,
        kind: sales::FactKind::Sale,
        order_id: None,
        recorded_sale_id: Some(row.id),
        lao_id: row.lao_id,
        district_code: row.district_code.clone(),
        province_code: row.province_code.clone(),
        producer_id: row.producer_id,
        crop_id: row.crop_id,
        window_id: None,
        variant_id: None,
        channel: row.channel,
        sales: row.sales_count,
        units: 0,
        revenue_satang: row.revenue_satang,
        delivery_fee_satang: 0,
        beneficiary_key,
        beneficiaries_extra: i64::from(row.producer_count.unwrap_or(0)),
        buyer_key: None,
        sale_date: day,
        // Noon Bangkok time of the day the sale counts on.
        occurred_at: day.and_hms_opt(5, 0, 0).expect("a time"),
    }
}

fn beneficiary_of(conn: &mut DbConn, row: &RecordedSaleRow) -> QueryResult<Option<String>> {
    Ok(match row.producer_id {
        Some(id) => crate::catalog::producers::find_with_lao(conn, id)?
            .map(|(p, _)| sales::beneficiary_key(id, p.citizen_id_hash.as_deref())),
        None => None,
    })
}

/// The fact that cancels a stored record's: dated where the old fact counted, so that a
/// correction takes the sale out of exactly the day and month it was in.
fn reversal_of(
    old: &RecordedSaleRow,
    beneficiary_key: Option<String>,
    now: NaiveDateTime,
) -> sales::NewFact {
    let old_fact = fact_of(old, beneficiary_key, now);
    sales::NewFact {
        sale_date: old_fact.sale_date,
        ..old_fact.reversal(now)
    }
}

/// Records a sale for an LAO, and its fact, in the caller's transaction.
pub fn create(
    conn: &mut DbConn,
    lao: &LaoRow,
    new: &NewRecordedSale,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<RecordedSaleRow> {
    let c = check(conn, lao, new, sales::bangkok_date(now))?;
    ensure_open(conn, lao.id, c.day)?;
    let id: i64 = diesel::insert_into(recorded_sales::table)
        .values((
            recorded_sales::lao_id.eq(lao.id),
            recorded_sales::district_code.eq(&lao.district_code),
            recorded_sales::province_code.eq(&lao.province_code),
            recorded_sales::producer_id.eq(c.producer_id),
            recorded_sales::producer_count.eq(c.producer_count),
            recorded_sales::product_id.eq(c.product_id),
            recorded_sales::crop_id.eq(c.crop_id),
            recorded_sales::sale_date.eq(c.date),
            recorded_sales::sale_month.eq(&c.month),
            recorded_sales::channel.eq(new.channel),
            recorded_sales::sales_count.eq(new.sales_count),
            recorded_sales::revenue_satang.eq(new.revenue_satang),
            recorded_sales::post_url.eq(new.post_url.as_deref().map(str::trim)),
            recorded_sales::note.eq(new.note.as_deref().map(str::trim)),
            recorded_sales::created_by.eq(actor),
            recorded_sales::created_at.eq(now),
            recorded_sales::updated_at.eq(now),
        ))
        .returning(recorded_sales::id)
        .get_result(conn)?;
    let row = find(conn, id)?.ok_or_else(|| ApiError::internal("a recorded sale just made"))?;
    sales::record(conn, &[fact_of(&row, c.beneficiary_key, now)], now)?;
    Ok(row)
}

/// A live (not deleted) record by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<RecordedSaleRow>> {
    recorded_sales::table
        .find(id)
        .filter(recorded_sales::deleted_at.is_null())
        .select(RecordedSaleRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces a record: its old fact is reversed and the new one recorded.
pub fn replace(
    conn: &mut DbConn,
    lao: &LaoRow,
    old: &RecordedSaleRow,
    new: &NewRecordedSale,
    now: NaiveDateTime,
) -> ApiResult<RecordedSaleRow> {
    let c = check(conn, lao, new, sales::bangkok_date(now))?;
    ensure_open(conn, lao.id, day_of(old))?;
    ensure_open(conn, lao.id, c.day)?;
    let before = beneficiary_of(conn, old)?;
    diesel::update(recorded_sales::table.find(old.id))
        .set((
            recorded_sales::producer_id.eq(c.producer_id),
            recorded_sales::producer_count.eq(c.producer_count),
            recorded_sales::product_id.eq(c.product_id),
            recorded_sales::crop_id.eq(c.crop_id),
            recorded_sales::sale_date.eq(c.date),
            recorded_sales::sale_month.eq(&c.month),
            recorded_sales::channel.eq(new.channel),
            recorded_sales::sales_count.eq(new.sales_count),
            recorded_sales::revenue_satang.eq(new.revenue_satang),
            recorded_sales::post_url.eq(new.post_url.as_deref().map(str::trim)),
            recorded_sales::note.eq(new.note.as_deref().map(str::trim)),
            recorded_sales::updated_at.eq(now),
        ))
        .execute(conn)?;
    let row = find(conn, old.id)?.ok_or_else(|| ApiError::not_found(RECORDED_SALE))?;
    let reversal = reversal_of(old, before, now);
    sales::record(
        conn,
        &[reversal, fact_of(&row, c.beneficiary_key, now)],
        now,
    )?;
    Ok(row)
}

/// Deletes a record: its fact is reversed; the row stays, marked deleted, for the history.
pub fn delete(conn: &mut DbConn, old: &RecordedSaleRow, now: NaiveDateTime) -> ApiResult<()> {
    ensure_open(conn, old.lao_id, day_of(old))?;
    let before = beneficiary_of(conn, old)?;
    diesel::update(recorded_sales::table.find(old.id))
        .set((
            recorded_sales::deleted_at.eq(Some(now)),
            recorded_sales::updated_at.eq(now),
        ))
        .execute(conn)?;
    sales::record(conn, &[reversal_of(old, before, now)], now)?;
    Ok(())
}

/// An LAO's live records, newest month first: at most `limit`, skipping `offset`.
pub fn list(
    conn: &mut DbConn,
    lao_id: i64,
    month: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<RecordedSaleRow>> {
    let mut q = recorded_sales::table
        .filter(recorded_sales::lao_id.eq(lao_id))
        .filter(recorded_sales::deleted_at.is_null())
        .order((recorded_sales::sale_month.desc(), recorded_sales::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(RecordedSaleRow::as_select())
        .into_boxed();
    if let Some(m) = month {
        q = q.filter(recorded_sales::sale_month.eq(m.to_string()));
    }
    q.load(conn)
}

/// The columns of a recorded-sales file: Thai headers as LAO staff write them, or the API's
/// field names. Order does not matter; unknown columns are refused.
const COLUMNS: &[(&str, &str)] = &[
    ("วันที่", "date"),
    ("เดือน", "month"),
    ("รหัสผู้ผลิต", "producer_id"),
    ("จำนวนผู้ผลิต", "producer_count"),
    ("รหัสสินค้า", "product_id"),
    ("ช่องทาง", "channel"),
    ("จำนวนครั้งที่ขาย", "sales_count"),
    ("รายรับ (บาท)", "revenue_baht"),
    ("ลิงก์", "post_url"),
    ("หมายเหตุ", "note"),
];

/// The most rows one file may hold.
pub const MAX_IMPORT_ROWS: usize = 5000;

/// `1,234.50` baht → 123450 satang; `None` for anything else (more than two decimals too).
pub fn baht_to_satang(text: &str) -> Option<i64> {
    let t: String = text.trim().chars().filter(|c| *c != ',').collect();
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// A day as Thai staff write it: `2026-06-14`, or `14/6/2569` (Buddhist Era) or `14/6/2026`.
fn parse_day(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(d);
    }
    let mut parts = t.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    let y: i32 = y.trim().parse().ok()?;
    let y = if y > 2400 { y - 543 } else { y };
    NaiveDate::from_ymd_opt(y, m.trim().parse().ok()?, d.trim().parse().ok()?)
}

/// A month: `2026-06`, or `6/2569` / `6/2026`.
fn parse_month(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() == 7 && NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").is_ok() {
        return Some(t.to_string());
    }
    let (m, y) = t.split_once('/')?;
    let y: i32 = y.trim().parse().ok()?;
    let y = if y > 2400 { y - 543 } else { y };
    let m: u32 = m.trim().parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, 1).map(|d| d.format("%Y-%m").to_string())
}

/// A channel by its code or the name people write (`Facebook`, `ไลน์`, `โทรศัพท์`…).
fn parse_channel(text: &str) -> Option<SaleChannel> {
    let t = text.trim().to_lowercase();
    let by_name = match t.as_str() {
        "เฟซบุ๊ก" | "เฟสบุ๊ค" | "fb" => Some(SaleChannel::Facebook),
        "ติ๊กต็อก" | "tik tok" => Some(SaleChannel::Tiktok),
        "ไลน์" => Some(SaleChannel::Line),
        "ยูทูบ" => Some(SaleChannel::Youtube),
        "อินสตาแกรม" | "ig" => Some(SaleChannel::Instagram),
        "ช้อปปี้" => Some(SaleChannel::Shopee),
        "ลาซาด้า" => Some(SaleChannel::Lazada),
        "โทรศัพท์" | "โทร" => Some(SaleChannel::Phone),
        "อื่น ๆ" | "อื่นๆ" => Some(SaleChannel::Other),
        _ => None,
    };
    by_name
        .or_else(|| t.parse::<SaleChannel>().ok())
        .filter(|c| c.is_recordable())
}

/// Imports a file of recorded sales for an LAO (UTF-8 or Windows-874 CSV, Thai headers), all or
/// nothing: every bad cell is reported as `line N: column` (the header is line 1) with the
/// reason, and nothing is recorded unless every row is right. Returns the records and the
/// encoding read.
pub fn import_csv(
    conn: &mut DbConn,
    lao: &LaoRow,
    bytes: &[u8],
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<(Vec<RecordedSaleRow>, &'static str)> {
    let (text, encoding) = crate::spreadsheet::decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| ApiError::invalid_field("file", "invalid_csv"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut fields: Vec<&'static str> = Vec::new();
    let mut errors = Vec::new();
    for h in &headers {
        match COLUMNS.iter().find(|(th, en)| th == h || en == h) {
            Some((_, en)) => fields.push(en),
            None => {
                errors.push(FieldError::new(format!("line 1: {h}"), "unknown_column"));
                fields.push("");
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let today = sales::bangkok_date(now);
    let mut rows: Vec<(usize, NewRecordedSale)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if rows.len() >= MAX_IMPORT_ROWS {
            return Err(ApiError::validation(vec![
                FieldError::new("file", "too_many").with("max", MAX_IMPORT_ROWS as i64),
            ]));
        }
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                errors.push(FieldError::new(format!("line {line}"), "invalid_csv"));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| -> Option<&str> {
            fields
                .iter()
                .position(|f| *f == name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|c| !c.is_empty())
        };
        let header = |name: &str| -> String {
            let i = fields.iter().position(|f| *f == name).unwrap_or(0);
            format!(
                "line {line}: {}",
                headers.get(i).cloned().unwrap_or_default()
            )
        };
        let before = errors.len();
        let mut int = |name: &str| -> Option<i64> {
            let v = cell(name)?;
            let parsed = v.replace(',', "").parse::<i64>().ok();
            if parsed.is_none() {
                errors.push(FieldError::new(header(name), "invalid_number"));
            }
            parsed
        };
        let producer_id = int("producer_id");
        let producer_count = int("producer_count");
        let product_id = int("product_id");
        let sales_count = int("sales_count");
        let date = cell("date").and_then(|v| {
            let d = parse_day(v);
            if d.is_none() {
                errors.push(FieldError::new(header("date"), "invalid_date"));
            }
            d
        });
        let month = cell("month").and_then(|v| {
            let m = parse_month(v);
            if m.is_none() {
                errors.push(FieldError::new(header("month"), "invalid_month"));
            }
            m
        });
        let channel = match cell("channel") {
            Some(v) => parse_channel(v).or_else(|| {
                errors.push(
                    FieldError::new(header("channel"), "invalid_enum").with("allowed", RECORDABLE),
                );
                None
            }),
            None => {
                errors.push(FieldError::new(header("channel"), "required"));
                None
            }
        };
        let revenue = match cell("revenue_baht") {
            Some(v) => baht_to_satang(v).or_else(|| {
                errors.push(FieldError::new(header("revenue_baht"), "invalid_amount"));
                None
            }),
            None => {
                errors.push(FieldError::new(header("revenue_baht"), "required"));
                None
            }
        };
        if sales_count.is_none() && cell("sales_count").is_none() {
            errors.push(FieldError::new(header("sales_count"), "required"));
        }
        if errors.len() > before {
            continue;
        }
        let new = NewRecordedSale {
            producer_id,
            producer_count: producer_count.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            product_id,
            date,
            month,
            channel: channel.unwrap_or(SaleChannel::Other),
            sales_count: sales_count.unwrap_or(0),
            revenue_satang: revenue.unwrap_or(0),
            post_url: cell("post_url").map(str::to_string),
            note: cell("note").map(str::to_string),
        };
        // The same checks as one record through the API, named by line and column.
        let mut row_errors: Vec<FieldError> = Vec::new();
        if let Err(e) = validator::Validate::validate(&new) {
            row_errors.extend(crate::extract::flatten_validation_errors(&e));
        }
        if row_errors.is_empty()
            && let Err(e) = check(conn, lao, &new, today)
        {
            row_errors.extend(e.field_errors().iter().cloned());
        }
        for e in row_errors {
            let column = match e.field.as_str() {
                "revenue_satang" => "revenue_baht",
                other => other,
            };
            let named = FieldError {
                field: header(column),
                ..e
            };
            errors.push(named);
        }
        rows.push((line, new));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if rows.is_empty() {
        return Err(ApiError::invalid_field("file", "required"));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (_, new) in &rows {
        out.push(create(conn, lao, new, actor, now)?);
    }
    Ok((out, encoding))
}
