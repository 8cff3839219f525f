//! Parsed values checked once at the edge, then trusted: Thai phone numbers and the like.

use serde::Serialize;

/// A Thai phone number in E.164 form (`+66812345678`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts the ways Thai numbers are written: `081 234 5678`, `081-234-5678`,
    /// `+66 81 234 5678`, `0066812345678`, `02 123 4567` (Bangkok landline).
    /// Mobile numbers have 9 digits after the leading 0 and start with 6, 8 or 9;
    /// landlines have 8 digits after the 0 and start with 2, 3, 4, 5 or 7.
    pub fn parse(raw: &str) -> Option<PhoneNumber> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return None;
        }
        let plus = trimmed.starts_with('+');
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                '+' if i == 0 => {}
                _ => return None,
            }
        }
        let national = if plus {
            digits.strip_prefix("66")?.to_string()
        } else if let Some(rest) = digits.strip_prefix("0066") {
            rest.to_string()
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest.to_string()
        } else {
            return None;
        };
        // A trunk 0 kept after the country code ("+66 081…") is a common slip; accept it.
        let national = national.strip_prefix('0').unwrap_or(&national).to_string();
        let first = national.chars().next()?;
        let valid = match first {
            '6' | '8' | '9' => national.len() == 9,
            '2' | '3' | '4' | '5' | '7' => national.len() == 8,
            _ => false,
        };
        valid.then(|| PhoneNumber(format!("+66{national}")))
    }

    /// `+66812345678`
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The national form with its trunk 0: `0812345678`.
    pub fn national(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    pub fn is_mobile(&self) -> bool {
        matches!(self.0.as_bytes().get(3), Some(b'6' | b'8' | b'9'))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A `validator` custom check for optional phone fields.
pub fn thai_phone(value: &str) -> Result<(), validator::ValidationError> {
    PhoneNumber::parse(value)
        .map(|_| ())
        .ok_or_else(|| validator::ValidationError::new("invalid_phone"))
}

/// Whether a string is an http(s) URL with a host, for links and origins.
pub fn is_http_url(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !value.chars().any(char::is_whitespace) && value.len() <= 2048
}

/// A `validator` custom check for http(s) URLs.
pub fn http_url(value: &str) -> Result<(), validator::ValidationError> {
    if is_http_url(value) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_url"))
    }
}

/// A `validator` check that a string is made of ASCII digits only.
pub fn digits(value: &str) -> Result<(), validator::ValidationError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_digits_only"))
    }
}

/// A `validator` check that a string is not only white space.
/// Text on one line without control characters (NUL, tabs, line breaks): alt texts, labels.
pub fn one_line(value: &str) -> Result<(), validator::ValidationError> {
    if value.chars().any(char::is_control) {
        Err(validator::ValidationError::new("control_characters"))
    } else {
        Ok(())
    }
}

/// The years a time or date of ours may fall in, read in Bangkok time: 2000 to 9999. RFC 3339
/// writes a year in four digits (a later one would be echoed as `+10000-…`, which no client
/// reads), SQLite compares stored times as text (a fifth digit breaks the order and the read
/// back), and nothing sold by pre-order happened before 2000. Field code `year_out_of_range`.
pub const CALENDAR_YEARS: std::ops::RangeInclusive<i32> = 2000..=9999;

/// A time within [`CALENDAR_YEARS`] (in Bangkok time and, so, in UTC).
pub fn calendar_time(
    value: &chrono::DateTime<chrono::FixedOffset>,
) -> Result<(), validator::ValidationError> {
    use chrono::Datelike;
    let utc_year = value.naive_utc().year();
    let bangkok_year = value.with_timezone(&crate::clock::bangkok()).year();
    if CALENDAR_YEARS.contains(&utc_year) && CALENDAR_YEARS.contains(&bangkok_year) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("year_out_of_range"))
    }
}

/// A date within [`CALENDAR_YEARS`].
pub fn calendar_date(value: &chrono::NaiveDate) -> Result<(), validator::ValidationError> {
    use chrono::Datelike;
    if CALENDAR_YEARS.contains(&value.year()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("year_out_of_range"))
    }
}

pub fn not_blank(value: &str) -> Result<(), validator::ValidationError> {
    if value.trim().is_empty() {
        Err(validator::ValidationError::new("blank"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thai_phone_numbers() {
        for raw in [
            "0812345678",
            "081-234-5678",
            "081 234 5678",
            "+66 81 234 5678",
            "+66812345678",
            "0066812345678",
            "+66 081 234 5678",
            "(081) 234-5678",
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).unwrap().e164(),
                "+66812345678",
                "{raw}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("02 123 4567").unwrap().e164(),
            "+6621234567"
        );
        assert_eq!(
            PhoneNumber::parse("055-531-234").unwrap().e164(),
            "+6655531234"
        );
        assert_eq!(
            PhoneNumber::parse("0812345678").unwrap().national(),
            "0812345678"
        );
        assert!(PhoneNumber::parse("0812345678").unwrap().is_mobile());
        for bad in [
            "",
            "12345",
            "081234567",
            "08123456789",
            "+1 415 555 0100",
            "0112345678",
            "08a2345678",
            "081 234 5678 ext 2",
        ] {
            assert!(PhoneNumber::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn checks_urls() {
        assert!(is_http_url("https://www.maesotcity.go.th/"));
        assert!(is_http_url("http://localhost:3000"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https://a b"));
        assert!(!is_http_url("javascript:alert(1)"));
    }
}
