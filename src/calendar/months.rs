//! Months in both calendars: ISO values beside Thai names and Buddhist-Era years, and seasons
//! that may wrap past December.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::i18n::{ENGLISH_MONTHS, THAI_MONTHS, THAI_MONTHS_SHORT, buddhist_year};

/// A month of a year, labelled for Thai and English readers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"month": 6, "iso": "2026-06", "name_th": "มิถุนายน", "short_th": "มิ.ย.", "name_en": "June", "be_year": 2569, "label_th": "มิถุนายน 2569", "label_en": "June 2026"}))]
pub struct MonthLabel {
    /// 1–12.
    pub month: u32,
    /// `YYYY-MM` (Common Era).
    pub iso: String,
    pub name_th: &'static str,
    pub short_th: &'static str,
    pub name_en: &'static str,
    /// The Buddhist-Era year (CE + 543).
    pub be_year: i32,
    /// "มิถุนายน 2569"
    pub label_th: String,
    /// "June 2026"
    pub label_en: String,
}

pub fn label(year: i32, month: u32) -> MonthLabel {
    let i = (month.clamp(1, 12) - 1) as usize;
    let be = buddhist_year(year);
    MonthLabel {
        month,
        iso: format!("{year:04}-{month:02}"),
        name_th: THAI_MONTHS[i],
        short_th: THAI_MONTHS_SHORT[i],
        name_en: ENGLISH_MONTHS[i],
        be_year: be,
        label_th: format!("{} {be}", THAI_MONTHS[i]),
        label_en: format!("{} {year}", ENGLISH_MONTHS[i]),
    }
}

/// Whether month `m` lies in the season `start..=end`, which wraps past December when
/// `start > end` (November–February is 11..=2).
pub fn in_season(start: u32, end: u32, m: u32) -> bool {
    if start <= end {
        (start..=end).contains(&m)
    } else {
        m >= start || m <= end
    }
}

/// The months of a season in order, from its first month; empty unless both are 1–12 (a month
/// outside 1–12 was never reached by counting and filled memory until the process died).
pub fn season_months(start: u32, end: u32) -> Vec<u32> {
    if !(1..=12).contains(&start) || !(1..=12).contains(&end) {
        return Vec::new();
    }
    let mut months = vec![start];
    let mut m = start;
    while m != end {
        m = m % 12 + 1;
        months.push(m);
    }
    months
}

/// "มิ.ย. – ก.ย." / "Jun – Sep" (a single month stands alone).
pub fn range_label(start: u32, end: u32) -> (String, String) {
    let short_en = |m: u32| &ENGLISH_MONTHS[(m - 1) as usize][..3];
    let short_th = |m: u32| THAI_MONTHS_SHORT[(m - 1) as usize];
    if start == end {
        (short_th(start).to_string(), short_en(start).to_string())
    } else {
        (
            format!("{} – {}", short_th(start), short_th(end)),
            format!("{} – {}", short_en(start), short_en(end)),
        )
    }
}

/// A year and month, as `YYYY-MM`. Years from 2400 up are read as Buddhist Era (`2569-06`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

impl TryFrom<String> for YearMonth {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        YearMonth::parse(&value).ok_or_else(|| format!("expected YYYY-MM, got {value:?}"))
    }
}

impl YearMonth {
    /// `YYYY-MM` or `YYYY-M`, the year CE 1900–2200 or BE 2443–2743 (the query parameters'
    /// pattern in the OpenAPI document says the same).
    pub fn parse(raw: &str) -> Option<YearMonth> {
        let (y, m) = raw.split_once('-')?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if y.len() != 4 || m.is_empty() || m.len() > 2 || !digits(y) || !digits(m) {
            return None;
        }
        let mut year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        if !(1..=12).contains(&month) {
            return None;
        }
        if year >= 2400 {
            year -= 543;
        }
        (1900..=2200)
            .contains(&year)
            .then_some(YearMonth { year, month })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_seasons() {
        assert!(in_season(11, 2, 11));
        assert!(in_season(11, 2, 12));
        assert!(in_season(11, 2, 1));
        assert!(in_season(11, 2, 2));
        assert!(!in_season(11, 2, 3));
        assert!(!in_season(11, 2, 10));
        assert!(in_season(6, 9, 6) && in_season(6, 9, 9) && !in_season(6, 9, 10));
        assert!(in_season(5, 5, 5) && !in_season(5, 5, 6));
        assert_eq!(season_months(11, 2), vec![11, 12, 1, 2]);
        assert_eq!(season_months(6, 9), vec![6, 7, 8, 9]);
        assert_eq!(season_months(4, 4), vec![4]);
        assert!(season_months(11, 0).is_empty());
        assert!(season_months(0, 5).is_empty());
        assert!(season_months(3, 13).is_empty());
    }

    #[test]
    fn labels_carry_the_buddhist_era() {
        let june = label(2026, 6);
        assert_eq!(june.iso, "2026-06");
        assert_eq!(june.label_th, "มิถุนายน 2569");
        assert_eq!(june.be_year, 2569);
        assert_eq!(june.label_en, "June 2026");
        assert_eq!(
            range_label(11, 2),
            ("พ.ย. – ก.พ.".to_string(), "Nov – Feb".to_string())
        );
    }

    #[test]
    fn parses_year_months_in_either_era() {
        assert_eq!(
            YearMonth::parse("2026-06"),
            Some(YearMonth {
                year: 2026,
                month: 6
            })
        );
        assert_eq!(
            YearMonth::parse("2569-06"),
            Some(YearMonth {
                year: 2026,
                month: 6
            })
        );
        assert_eq!(
            YearMonth::parse("2026-6"),
            Some(YearMonth {
                year: 2026,
                month: 6
            })
        );
        assert_eq!(YearMonth::parse("2026-13"), None);
        assert_eq!(YearMonth::parse("June"), None);
        assert_eq!(YearMonth::parse("26-06"), None);
        assert_eq!(YearMonth::parse("2026-+6"), None);
        assert_eq!(YearMonth::parse(" 2026-06"), None);
        assert_eq!(YearMonth::parse("1899-12"), None);
        assert_eq!(YearMonth::parse("2743-12").map(|m| m.year), Some(2200));
    }
}
