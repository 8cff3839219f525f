//! Report periods in Bangkok dates: a day, a calendar month or quarter, the Thai fiscal year (1
//! October to 30 September, named by the Buddhist-Era year it ends in: ปีงบประมาณ 2569 is 1
//! October 2025 – 30 September 2026, as the Budget Procedures Act B.E. 2561 defines it), its
//! halves, or any range of days.

use chrono::{Datelike, Duration, NaiveDate};

use crate::error::{ApiError, ApiResult, ErrorKind, FieldError};

/// 400 `invalid_parameter` for a query parameter.
fn param_error(field: FieldError) -> ApiError {
    ApiError::new(ErrorKind::InvalidParameter).field(field)
}

/// The Buddhist-Era year of a Common-Era year.
pub const BE_OFFSET: i32 = 543;

/// The earliest and latest fiscal years the API takes (B.E.).
pub const FISCAL_YEARS: std::ops::RangeInclusive<i32> = 2560..=2700;

/// A span of Bangkok dates, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// Thai fiscal year `be` (e.g. 2569): 1 Oct (be − 544) – 30 Sep (be − 543).
    pub fn fiscal_year(be: i32) -> Period {
        let ends = be - BE_OFFSET;
        Period {
            from: date(ends - 1, 10, 1),
            to: date(ends, 9, 30),
        }
    }

    /// The first half (1 Oct – 31 Mar) or the second (1 Apr – 30 Sep) of fiscal year `be`.
    pub fn fiscal_half(be: i32, half: u8) -> Period {
        let ends = be - BE_OFFSET;
        if half == 1 {
            Period {
                from: date(ends - 1, 10, 1),
                to: date(ends, 3, 31),
            }
        } else {
            Period {
                from: date(ends, 4, 1),
                to: date(ends, 9, 30),
            }
        }
    }

    /// A calendar month.
    pub fn month(year: i32, month: u32) -> Period {
        let from = date(year, month, 1);
        Period {
            from,
            to: last_of_month(from),
        }
    }

    /// A calendar quarter (1–4).
    pub fn quarter(year: i32, quarter: u32) -> Period {
        let from = date(year, (quarter - 1) * 3 + 1, 1);
        Period {
            from,
            to: last_of_month(date(year, quarter * 3, 1)),
        }
    }

    /// The fiscal year (B.E.) a Bangkok date falls in.
    pub fn fiscal_year_of(day: NaiveDate) -> i32 {
        crate::i18n::fiscal_year(day)
    }

    /// The months the period touches, as `2026-06` keys.
    pub fn months(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = date(self.from.year(), self.from.month(), 1);
        while at <= self.to {
            out.push(at.format("%Y-%m").to_string());
            at = last_of_month(at) + Duration::days(1);
        }
        out
    }

    /// "1 ต.ค. 2568 – 30 ก.ย. 2569" (Thai months, B.E. years).
    pub fn label_th(&self) -> String {
        format!("{} – {}", thai_date(self.from), thai_date(self.to))
    }
}

/// `1 ต.ค. 2568`.
pub fn thai_date(d: NaiveDate) -> String {
    format!(
        "{} {} {}",
        d.day(),
        crate::i18n::THAI_MONTHS_SHORT[d.month0() as usize],
        crate::i18n::buddhist_year(d.year())
    )
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date")
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    let (y, m) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    date(y, m, 1) - Duration::days(1)
}

/// How a request names its period: exactly one of these (none: the current fiscal year).
#[derive(Clone, Debug, Default)]
pub struct PeriodQuery {
    pub day: Option<String>,
    pub month: Option<String>,
    pub quarter: Option<String>,
    pub fiscal_year: Option<i32>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The longest `from`/`to` range, in days (ten years).
const MAX_RANGE_DAYS: i64 = 3660;

impl PeriodQuery {
    /// The period, or 400 `invalid_parameter` naming the parameter and why. `today` is Bangkok's.
    pub fn resolve(&self, today: NaiveDate) -> ApiResult<Period> {
        let given = [
            self.day.is_some(),
            self.month.is_some(),
            self.quarter.is_some(),
            self.fiscal_year.is_some(),
            self.from.is_some() || self.to.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given > 1 {
            return Err(param_error(
                FieldError::new("period", "one_of")
                    .with("other", "day, month, quarter, fiscal_year, from/to"),
            ));
        }
        let bad = |field: &str| {
            let code = match field {
                "month" => "invalid_month",
                "quarter" => "invalid_quarter",
                _ => "invalid_date",
            };
            ApiError::invalid_parameter(field, code)
        };
        if let Some(day) = &self.day {
            let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad("day"))?;
            return Ok(Period { from: d, to: d });
        }
        if let Some(month) = &self.month {
            let (y, m) = month
                .split_once('-')
                .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
                .filter(|(y, m)| {
                    (2000..=2200).contains(y) && (1..=12).contains(m) && month.len() == 7
                })
                .ok_or_else(|| bad("month"))?;
            return Ok(Period::month(y, m));
        }
        if let Some(quarter) = &self.quarter {
            let (y, q) = quarter
                .split_once("-Q")
                .and_then(|(y, q)| Some((y.parse::<i32>().ok()?, q.parse::<u32>().ok()?)))
                .filter(|(y, q)| (2000..=2200).contains(y) && (1..=4).contains(q))
                .ok_or_else(|| bad("quarter"))?;
            return Ok(Period::quarter(y, q));
        }
        if let Some(fy) = self.fiscal_year {
            if !FISCAL_YEARS.contains(&fy) {
                return Err(param_error(
                    FieldError::new(
                        "fiscal_year",
                        if fy < *FISCAL_YEARS.start() {
                            "too_small"
                        } else {
                            "too_large"
                        },
                    )
                    .with("min", *FISCAL_YEARS.start())
                    .with("max", *FISCAL_YEARS.end()),
                ));
            }
            return Ok(Period::fiscal_year(fy));
        }
        if self.from.is_some() || self.to.is_some() {
            let parse = |field: &str, v: &Option<String>| -> ApiResult<NaiveDate> {
                let v = v
                    .as_deref()
                    .ok_or_else(|| ApiError::invalid_parameter(field, "required"))?;
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad(field))
            };
            let from = parse("from", &self.from)?;
            let to = parse("to", &self.to)?;
            if to < from {
                return Err(param_error(
                    FieldError::new("to", "invalid_range").with("other", "from"),
                ));
            }
            if (to - from).num_days() > MAX_RANGE_DAYS {
                return Err(param_error(
                    FieldError::new("to", "range_too_long")
                        .with("max_days", MAX_RANGE_DAYS)
                        .with("other", "from"),
                ));
            }
            return Ok(Period { from, to });
        }
        Ok(Period::fiscal_year(Period::fiscal_year_of(today)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years_are_named_by_the_be_year_they_end_in() {
        let fy = Period::fiscal_year(2569);
        assert_eq!((fy.from, fy.to), (date(2025, 10, 1), date(2026, 9, 30)));
        assert_eq!(Period::fiscal_year_of(date(2026, 9, 30)), 2569);
        assert_eq!(Period::fiscal_year_of(date(2026, 10, 1)), 2570);
        assert_eq!(Period::fiscal_year_of(date(2025, 10, 1)), 2569);
        assert_eq!(
            Period::fiscal_half(2569, 1),
            Period {
                from: date(2025, 10, 1),
                to: date(2026, 3, 31)
            }
        );
        assert_eq!(
            Period::fiscal_half(2569, 2),
            Period {
                from: date(2026, 4, 1),
                to: date(2026, 9, 30)
            }
        );
        assert_eq!(fy.months().len(), 12);
        assert_eq!(fy.months()[0], "2025-10");
        assert_eq!(fy.label_th(), "1 ต.ค. 2568 – 30 ก.ย. 2569");
    }

    #[test]
    fn months_and_quarters_end_on_their_last_day() {
        assert_eq!(Period::month(2028, 2).to, date(2028, 2, 29));
        assert_eq!(Period::month(2026, 12).to, date(2026, 12, 31));
        assert_eq!(Period::quarter(2026, 4).from, date(2026, 10, 1));
        assert_eq!(Period::quarter(2026, 1).to, date(2026, 3, 31));
    }

    #[test]
    fn a_request_names_one_period() {
        let today = date(2026, 11, 29);
        let q = PeriodQuery::default();
        assert_eq!(q.resolve(today).unwrap(), Period::fiscal_year(2570));
        let q = PeriodQuery {
            month: Some("2026-13".into()),
            ..Default::default()
        };
        assert!(q.resolve(today).is_err());
        let q = PeriodQuery {
            month: Some("2026-06".into()),
            fiscal_year: Some(2569),
            ..Default::default()
        };
        assert!(q.resolve(today).is_err());
        let q = PeriodQuery {
            from: Some("2026-06-02".into()),
            to: Some("2026-06-01".into()),
            ..Default::default()
        };
        assert!(q.resolve(today).is_err());
        let q = PeriodQuery {
            quarter: Some("2026-Q3".into()),
            ..Default::default()
        };
        assert_eq!(q.resolve(today).unwrap(), Period::quarter(2026, 3));
    }
}
