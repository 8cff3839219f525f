use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{sale_fact_cursor, sale_facts, sale_monthly, sale_monthly_people};

/// Where a sale was made: through a pre-order window, or recorded by an LAO's staff.
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
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(as = SaleSource)]
pub enum Source {
    Preorder,
    Recorded,
}

impl Source {
    pub fn name_th(self) -> &'static str {
        match self {
            Source::Preorder => "สั่งจองล่วงหน้า",
            Source::Recorded => "บันทึกโดย อปท.",
        }
    }
}

/// The channel of a sale: the pre-order channels (`partner`, `embed`, `staff`) and those of sales
/// made elsewhere, which LAO staff record.
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
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SaleChannel {
    Partner,
    Embed,
    Staff,
    Facebook,
    Tiktok,
    Line,
    Youtube,
    Instagram,
    Shopee,
    Lazada,
    Phone,
    Other,
}

impl SaleChannel {
    pub fn name_th(self) -> &'static str {
        match self {
            SaleChannel::Partner => "พาร์ทเนอร์",
            SaleChannel::Embed => "ฟอร์ม อปท.",
            SaleChannel::Staff => "เจ้าหน้าที่",
            SaleChannel::Facebook => "Facebook",
            SaleChannel::Tiktok => "TikTok",
            SaleChannel::Line => "LINE",
            SaleChannel::Youtube => "YouTube",
            SaleChannel::Instagram => "Instagram",
            SaleChannel::Shopee => "Shopee",
            SaleChannel::Lazada => "Lazada",
            SaleChannel::Phone => "โทรศัพท์",
            SaleChannel::Other => "อื่น ๆ",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            SaleChannel::Partner => "Partner storefront",
            SaleChannel::Embed => "LAO website form",
            SaleChannel::Staff => "LAO staff",
            SaleChannel::Facebook => "Facebook",
            SaleChannel::Tiktok => "TikTok",
            SaleChannel::Line => "LINE",
            SaleChannel::Youtube => "YouTube",
            SaleChannel::Instagram => "Instagram",
            SaleChannel::Shopee => "Shopee",
            SaleChannel::Lazada => "Lazada",
            SaleChannel::Phone => "Phone",
            SaleChannel::Other => "Other",
        }
    }

    /// Whether LAO staff may record a sale made on this channel (the others are pre-orders').
    pub fn is_recordable(self) -> bool {
        !matches!(
            self,
            SaleChannel::Partner | SaleChannel::Embed | SaleChannel::Staff
        )
    }
}

/// A sale, or the reversal of one.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(as = SaleFactKind)]
pub enum FactKind {
    Sale,
    Reversal,
}

crate::stored_as_text!(Source, SaleChannel, FactKind);

/// A fact about to be recorded. Amounts are signed: a reversal carries the negated figures.
#[derive(Clone, Debug)]
pub struct NewFact {
    pub source: Source,
    pub kind: FactKind,
    pub order_id: Option<i64>,
    pub recorded_sale_id: Option<i64>,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub producer_id: Option<i64>,
    pub crop_id: Option<i64>,
    pub window_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub channel: SaleChannel,
    /// Online sales: 1 on the first line of an order (0 on its other lines), the count of a
    /// recorded row; negated in a reversal.
    pub sales: i64,
    /// Units in the crop's sale unit (0 for recorded sales, which do not say).
    pub units: i64,
    /// Revenue in satang, delivery fees not included.
    pub revenue_satang: i64,
    pub delivery_fee_satang: i64,
    /// The producer as a person: its citizen-id hash where known, else `producer:<id>`.
    pub beneficiary_key: Option<String>,
    /// People behind a "several producers" record, who have no key.
    pub beneficiaries_extra: i64,
    /// A keyed hash of the buyer's phone (none for recorded sales).
    pub buyer_key: Option<String>,
    /// The Bangkok date the sale counts on.
    pub sale_date: NaiveDate,
    /// When it happened (UTC).
    pub occurred_at: NaiveDateTime,
}

impl NewFact {
    /// The fact that cancels this one, dated `at` (UTC).
    pub fn reversal(&self, at: NaiveDateTime) -> NewFact {
        NewFact {
            kind: FactKind::Reversal,
            sales: -self.sales,
            units: -self.units,
            revenue_satang: -self.revenue_satang,
            delivery_fee_satang: -self.delivery_fee_satang,
            beneficiaries_extra: -self.beneficiaries_extra,
            sale_date: bangkok_date(at),
            occurred_at: at,
            ..self.clone()
        }
    }
}

/// The Bangkok (UTC+7, no daylight saving) date of a UTC time.
pub fn bangkok_date(utc: NaiveDateTime) -> NaiveDate {
    (utc + Duration::hours(7)).date()
}

/// `2026-06` for a date: the month key of the sums.
pub fn month_key(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

/// The producer as a person: its citizen-id hash where known, else `producer:<id>`.
pub fn beneficiary_key(producer_id: i64, citizen_id_hash: Option<&str>) -> String {
    citizen_id_hash
        .map(str::to_string)
        .unwrap_or_else(|| format!("producer:{producer_id}"))
}

/// Records facts (in the caller's transaction) and brings the monthly sums up to date; returns
/// their cursors, in order. Waits for any other transaction recording facts to end first.
pub fn record(conn: &mut DbConn, facts: &[NewFact], now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    if facts.is_empty() {
        return Ok(Vec::new());
    }
    let n = facts.len() as i64;
    let last: i64 = diesel::update(sale_fact_cursor::table.find(1))
        .set(sale_fact_cursor::last.eq(sale_fact_cursor::last + n))
        .returning(sale_fact_cursor::last)
        .get_result(conn)?;
    let first = last - n + 1;
    let mut cursors = Vec::with_capacity(facts.len());
    for (i, f) in facts.iter().enumerate() {
        let id = first + i as i64;
        let month = month_key(f.sale_date);
        diesel::insert_into(sale_facts::table)
            .values((
                sale_facts::id.eq(id),
                sale_facts::source.eq(f.source),
                sale_facts::kind.eq(f.kind),
                sale_facts::order_id.eq(f.order_id),
                sale_facts::recorded_sale_id.eq(f.recorded_sale_id),
                sale_facts::lao_id.eq(f.lao_id),
                sale_facts::district_code.eq(&f.district_code),
                sale_facts::province_code.eq(&f.province_code),
                sale_facts::producer_id.eq(f.producer_id),
                sale_facts::crop_id.eq(f.crop_id),
                sale_facts::window_id.eq(f.window_id),
                sale_facts::variant_id.eq(f.variant_id),
                sale_facts::channel.eq(f.channel),
                sale_facts::sales.eq(f.sales),
                sale_facts::units.eq(f.units),
                sale_facts::revenue_satang.eq(f.revenue_satang),
                sale_facts::delivery_fee_satang.eq(f.delivery_fee_satang),
                sale_facts::beneficiary_key.eq(&f.beneficiary_key),
                sale_facts::beneficiaries_extra.eq(f.beneficiaries_extra),
                sale_facts::buyer_key.eq(&f.buyer_key),
                sale_facts::sale_date.eq(f.sale_date),
                sale_facts::sale_month.eq(&month),
                sale_facts::occurred_at.eq(f.occurred_at),
                sale_facts::recorded_at.eq(now),
            ))
            .execute(conn)?;
        add_to_month(conn, f, &month)?;
        if let Some(key) = &f.beneficiary_key {
            add_person(conn, f, &month, "producer", key)?;
        }
        if let Some(key) = &f.buyer_key {
            add_person(conn, f, &month, "buyer", key)?;
        }
        cursors.push(id);
    }
    super::totals::add(conn, facts)?;
    Ok(cursors)
}

/// Adds a fact to its month's sums (update, or insert the first): safe without an upsert
/// because every writer holds the cursor row.
fn add_to_month(conn: &mut DbConn, f: &NewFact, month: &str) -> QueryResult<()> {
    use sale_monthly as m;
    let crop = f.crop_id.unwrap_or(0);
    let updated = diesel::update(
        m::table
            .filter(m::sale_month.eq(month))
            .filter(m::lao_id.eq(f.lao_id))
            .filter(m::crop_id.eq(crop))
            .filter(m::channel.eq(f.channel))
            .filter(m::source.eq(f.source)),
    )
    .set((
        m::sales.eq(m::sales + f.sales),
        m::units.eq(m::units + f.units),
        m::revenue_satang.eq(m::revenue_satang + f.revenue_satang),
        m::beneficiaries_extra.eq(m::beneficiaries_extra + f.beneficiaries_extra),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(m::table)
            .values((
                m::sale_month.eq(month),
                m::lao_id.eq(f.lao_id),
                m::district_code.eq(&f.district_code),
                m::province_code.eq(&f.province_code),
                m::crop_id.eq(crop),
                m::channel.eq(f.channel),
                m::source.eq(f.source),
                m::sales.eq(f.sales),
                m::units.eq(f.units),
                m::revenue_satang.eq(f.revenue_satang),
                m::beneficiaries_extra.eq(f.beneficiaries_extra),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn add_person(
    conn: &mut DbConn,
    f: &NewFact,
    month: &str,
    role: &str,
    key: &str,
) -> QueryResult<()> {
    use sale_monthly_people as p;
    let crop = f.crop_id.unwrap_or(0);
    let updated = diesel::update(
        p::table
            .filter(p::sale_month.eq(month))
            .filter(p::lao_id.eq(f.lao_id))
            .filter(p::crop_id.eq(crop))
            .filter(p::channel.eq(f.channel))
            .filter(p::source.eq(f.source))
            .filter(p::role.eq(role))
            .filter(p::person_key.eq(key)),
    )
    .set(p::sales.eq(p::sales + f.sales))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(p::table)
            .values((
                p::sale_month.eq(month),
                p::lao_id.eq(f.lao_id),
                p::district_code.eq(&f.district_code),
                p::province_code.eq(&f.province_code),
                p::crop_id.eq(crop),
                p::channel.eq(f.channel),
                p::source.eq(f.source),
                p::role.eq(role),
                p::person_key.eq(key),
                p::sales.eq(f.sales),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A recorded fact, as the incremental feed gives it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sale_facts)]
pub struct FactRow {
    pub id: i64,
    pub source: Source,
    pub kind: FactKind,
    pub order_id: Option<i64>,
    pub recorded_sale_id: Option<i64>,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub producer_id: Option<i64>,
    pub crop_id: Option<i64>,
    pub window_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub channel: SaleChannel,
    pub sales: i64,
    pub units: i64,
    pub revenue_satang: i64,
    pub delivery_fee_satang: i64,
    pub beneficiaries_extra: i64,
    pub sale_date: NaiveDate,
    pub occurred_at: NaiveDateTime,
}

/// Which facts: the whole country, a province (2-digit DOPA code), a district (4 digits) or one
/// LAO (its id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AreaFilter {
    National,
    Province(String),
    District(String),
    Lao(i64),
}

/// Facts after a cursor, in cursor order, for an area: at most `limit`.
pub fn facts_after(
    conn: &mut DbConn,
    area: &AreaFilter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<FactRow>> {
    let mut q = sale_facts::table
        .filter(sale_facts::id.gt(after))
        .order(sale_facts::id)
        .limit(limit)
        .select(FactRow::as_select())
        .into_boxed();
    q = match area {
        AreaFilter::National => q,
        AreaFilter::Province(code) => q.filter(sale_facts::province_code.eq(code.clone())),
        AreaFilter::District(code) => q.filter(sale_facts::district_code.eq(code.clone())),
        AreaFilter::Lao(id) => q.filter(sale_facts::lao_id.eq(*id)),
    };
    q.load(conn)
}

/// The buyer key an order's sale was counted under (its first sale fact), if it was sold: a
/// reversal must take the same key, even after the buyer's phone was erased (`privacy`).
pub fn buyer_key_of_order(conn: &mut DbConn, order_id: i64) -> QueryResult<Option<String>> {
    sale_facts::table
        .filter(sale_facts::order_id.eq(order_id))
        .filter(sale_facts::kind.eq(FactKind::Sale.to_string()))
        .order(sale_facts::id)
        .select(sale_facts::buyer_key)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// The facts of one recorded sale (for its history), in cursor order.
pub fn facts_of_recorded_sale(
    conn: &mut DbConn,
    recorded_sale_id: i64,
) -> QueryResult<Vec<FactRow>> {
    sale_facts::table
        .filter(sale_facts::recorded_sale_id.eq(recorded_sale_id))
        .order(sale_facts::id)
        .select(FactRow::as_select())
        .load(conn)
}

/// What the figures are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// One row for everything.
    All,
    Province,
    District,
    Lao,
    /// Crop id as text; `0` for sales recorded without a crop.
    Crop,
    Channel,
    Source,
    /// `2026-06`.
    Month,
}

impl Dimension {
    fn column(self) -> &'static str {
        match self {
            Dimension::All => "''",
            Dimension::Province => "province_code",
            Dimension::District => "district_code",
            Dimension::Lao => "CAST(lao_id AS TEXT)",
            Dimension::Crop => "CAST(COALESCE(crop_id, 0) AS TEXT)",
            Dimension::Channel => "channel",
            Dimension::Source => "source",
            Dimension::Month => "sale_month",
        }
    }
}

/// Which facts the figures add up: an area, Bangkok dates `from..=to`, and optionally one
/// source, channel or crop.
#[derive(Clone, Debug)]
pub struct FigureFilter {
    pub area: AreaFilter,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub source: Option<Source>,
    pub channel: Option<SaleChannel>,
    pub crop_id: Option<i64>,
}

/// The figures of one group. Net of reversals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// The group's key (see [`Dimension`]); empty for [`Dimension::All`].
    pub key: String,
    pub sales: i64,
    pub units: i64,
    pub revenue_satang: i64,
    /// Distinct producers with net sales in the group, plus the people of "several producers"
    /// records.
    pub beneficiaries: i64,
    /// Distinct buyers with net sales in the group (pre-orders only: recorded sales do not say).
    pub buyers: i64,
}

#[derive(QueryableByName)]
struct SumRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    sales: i64,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = BigInt)]
    revenue: i64,
    #[diesel(sql_type = BigInt)]
    extra: i64,
}

#[derive(QueryableByName)]
struct PeopleRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = BigInt)]
    people: i64,
}

/// Digits only (DOPA codes) or a `YYYY-MM(-DD)` key: what may be written into the SQL text.
/// The two backends write bind placeholders differently, so the few values are formatted in;
/// each is checked here first.
pub(super) fn literal(value: &str) -> String {
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "not a safe literal: {value:?}"
    );
    format!("'{value}'")
}

/// Whether `from..=to` is whole calendar months (then the monthly sums answer).
pub(super) fn whole_months(from: NaiveDate, to: NaiveDate) -> bool {
    use chrono::Datelike;
    from.day() == 1 && (to + Duration::days(1)).day() == 1 && from <= to
}

/// The figures of the facts a filter selects, grouped by a dimension, net of reversals. Reads
/// the kept totals of a month or fiscal year when they answer (see `totals`), else adds up the
/// monthly sums when the dates are whole months, else the facts; all give the same figures.
pub fn figures(
    conn: &mut DbConn,
    filter: &FigureFilter,
    by: Dimension,
) -> QueryResult<Vec<Figures>> {
    match super::totals::figures(conn, filter, by)? {
        Some(kept) => Ok(kept),
        None => figures_added_up(conn, filter, by),
    }
}

/// [`figures`] added up from the monthly sums (whole months) or the facts, never from the kept
/// totals: what the totals are checked against.
pub fn figures_added_up(
    conn: &mut DbConn,
    filter: &FigureFilter,
    by: Dimension,
) -> QueryResult<Vec<Figures>> {
    let monthly = whole_months(filter.from, filter.to);
    let mut conditions = Vec::new();
    if monthly {
        conditions.push(format!(
            "sale_month BETWEEN {} AND {}",
            literal(&month_key(filter.from)),
            literal(&month_key(filter.to))
        ));
    } else {
        conditions.push(format!(
            "sale_date BETWEEN {} AND {}",
            literal(&filter.from.to_string()),
            literal(&filter.to.to_string())
        ));
    }
    match &filter.area {
        AreaFilter::National => {}
        AreaFilter::Province(code) => conditions.push(format!("province_code = {}", literal(code))),
        AreaFilter::District(code) => conditions.push(format!("district_code = {}", literal(code))),
        AreaFilter::Lao(id) => conditions.push(format!("lao_id = {id}")),
    }
    if let Some(source) = filter.source {
        conditions.push(format!("source = {}", literal(source.into())));
    }
    if let Some(channel) = filter.channel {
        conditions.push(format!("channel = {}", literal(channel.into())));
    }
    if let Some(crop) = filter.crop_id {
        conditions.push(format!("COALESCE(crop_id, 0) = {crop}"));
    }
    let whereby = conditions.join(" AND ");
    let key = by.column();
    // PostgreSQL refuses a constant in GROUP BY: one row for everything groups by nothing.
    let (group, group_then) = if by == Dimension::All {
        (String::new(), String::new())
    } else {
        (format!("GROUP BY {key}"), format!("{key}, "))
    };
    let (sums_table, people_sql) = if monthly {
        (
            "sale_monthly",
            format!(
                "SELECT key, role, CAST(COUNT(*) AS BIGINT) AS people FROM ( \
                   SELECT {key} AS key, role, person_key FROM sale_monthly_people \
                   WHERE {whereby} GROUP BY {group_then}role, person_key HAVING SUM(sales) > 0 \
                 ) t GROUP BY key, role"
            ),
        )
    } else {
        (
            "sale_facts",
            format!(
                "SELECT key, role, CAST(COUNT(*) AS BIGINT) AS people FROM ( \
                   SELECT {key} AS key, 'producer' AS role, beneficiary_key AS person_key \
                   FROM sale_facts WHERE {whereby} AND beneficiary_key IS NOT NULL \
                   GROUP BY {group_then}beneficiary_key HAVING SUM(sales) > 0 \
                   UNION ALL \
                   SELECT {key} AS key, 'buyer' AS role, buyer_key AS person_key \
                   FROM sale_facts WHERE {whereby} AND buyer_key IS NOT NULL \
                   GROUP BY {group_then}buyer_key HAVING SUM(sales) > 0 \
                 ) t GROUP BY key, role"
            ),
        )
    };
    let sums: Vec<SumRow> = diesel::sql_query(format!(
        "SELECT CAST({key} AS TEXT) AS key, CAST(COALESCE(SUM(sales), 0) AS BIGINT) AS sales, \
                CAST(COALESCE(SUM(units), 0) AS BIGINT) AS units, \
                CAST(COALESCE(SUM(revenue_satang), 0) AS BIGINT) AS revenue, \
                CAST(COALESCE(SUM(beneficiaries_extra), 0) AS BIGINT) AS extra \
         FROM {sums_table} WHERE {whereby} {group}"
    ))
    .load(conn)?;
    let people: Vec<PeopleRow> = diesel::sql_query(people_sql).load(conn)?;
    let mut out: Vec<Figures> = sums
        .into_iter()
        .map(|s| Figures {
            key: s.key,
            sales: s.sales,
            units: s.units,
            revenue_satang: s.revenue,
            beneficiaries: s.extra,
            buyers: 0,
        })
        .collect();
    for p in people {
        let row = match out.iter_mut().find(|f| f.key == p.key) {
            Some(row) => row,
            None => {
                out.push(Figures {
                    key: p.key.clone(),
                    ..Default::default()
                });
                out.last_mut().expect("just pushed")
            }
        };
        if p.role == "producer" {
            row.beneficiaries += p.people;
        } else {
            row.buyers += p.people;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangkok_dates_and_months() {
        let utc = NaiveDate::from_ymd_opt(2026, 9, 30)
            .unwrap()
            .and_hms_opt(17, 0, 0)
            .unwrap();
        assert_eq!(
            bangkok_date(utc),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert_eq!(
            bangkok_date(utc - Duration::seconds(1)),
            NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
        );
        assert_eq!(month_key(bangkok_date(utc)), "2026-10");
    }

    #[test]
    fn whole_months_are_read_from_the_sums() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(whole_months(d(2025, 10, 1), d(2026, 9, 30)));
        assert!(whole_months(d(2026, 2, 1), d(2026, 2, 28)));
        assert!(!whole_months(d(2026, 2, 1), d(2026, 2, 27)));
        assert!(!whole_months(d(2026, 2, 2), d(2026, 2, 28)));
    }

    #[test]
    #[should_panic(expected = "not a safe literal")]
    fn only_codes_reach_the_sql_text() {
        literal("10' OR '1'='1");
    }
}
