//! Tracking numbers and statuses: which numbers a carrier issues, where the public can follow
//! them, and what a carrier's status code means.
//!
//! Sources: the UPU S10 standard (item identifiers: two service letters, an 8-digit serial, a
//! check digit, the ISO country code) as Thailand Post uses it; Thailand Post's e-Tracking API
//! status codes (as the open-source `thailandpost-track` and `thailandpost-sdk-go` clients list
//! them). The other carriers publish no number format, so their numbers are checked by a
//! general pattern only. Tracking pages are the ones the carriers link from their sites;
//! Kerry's (now KEX) page takes no number in its address, so the number is shown to copy.

use super::model::{Carrier, ShipmentStatus};

/// Why a tracking number was refused: the field error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingError {
    /// Not two letters, nine digits and two letters (`EF582568151TH`).
    S10Format,
    /// An S10 number of another country's post: Thailand Post's own end in `TH`.
    S10Country,
    /// The ninth digit is not the S10 check digit of the eight before it.
    S10CheckDigit,
    /// Not 8–20 letters and digits with at least one digit.
    Format,
    /// Longer than 40 characters (local deliveries).
    Length,
    /// Nothing but spaces (local deliveries).
    Blank,
    /// Control characters (a line break, a tab) in a local delivery's note.
    Control,
}

impl TrackingError {
    pub fn code(self) -> &'static str {
        match self {
            TrackingError::S10Format => "invalid_s10_format",
            TrackingError::S10Country => "invalid_s10_country",
            TrackingError::S10CheckDigit => "invalid_s10_check_digit",
            TrackingError::Format => "invalid_tracking_format",
            TrackingError::Length => "too_long",
            TrackingError::Blank => "blank",
            TrackingError::Control => "control_characters",
        }
    }
}

/// The S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, then 11 − (sum mod 11),
/// where 10 becomes 0 and 11 becomes 5 (UPU S10, §5). `None` unless `serial` is 8 ASCII digits.
pub fn s10_check_digit(serial: &str) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    if serial.len() != 8 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = serial
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c as u8,
    })
}

/// Checks an S10 identifier such as `EF582568151TH` (already upper-case, no spaces), of any
/// country.
pub fn check_s10(number: &str) -> Result<(), TrackingError> {
    let b = number.as_bytes();
    let shaped = b.len() == 13
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..11].iter().all(u8::is_ascii_digit)
        && b[11..].iter().all(u8::is_ascii_uppercase);
    if !shaped {
        return Err(TrackingError::S10Format);
    }
    match s10_check_digit(&number[2..10]) {
        Some(check) if check == b[10] - b'0' => Ok(()),
        _ => Err(TrackingError::S10CheckDigit),
    }
}

/// A tracking number as typed (spaces, hyphens, lower case) in the form the carrier prints,
/// checked for the carrier: S10 ending in `TH` for Thailand Post, 8–20 letters and digits (one
/// digit at least) for Flash, Kerry and J&T, 1–40 characters without control characters for a
/// local driver.
pub fn normalize(carrier: Carrier, raw: &str) -> Result<String, TrackingError> {
    if carrier == Carrier::Local || carrier == Carrier::Pickup {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TrackingError::Blank);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TrackingError::Control);
        }
        if trimmed.chars().count() > 40 {
            return Err(TrackingError::Length);
        }
        return Ok(trimmed.to_string());
    }
    let number: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    if carrier == Carrier::ThailandPost {
        check_s10(&number)?;
        // Parcels a Thai producer posts are Thailand Post's own: the code ends in TH.
        if !number.ends_with("TH") {
            return Err(TrackingError::S10Country);
        }
        return Ok(number);
    }
    let general = (8..=20).contains(&number.len())
        && number
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && number.bytes().any(|b| b.is_ascii_digit());
    if general {
        Ok(number)
    } else {
        Err(TrackingError::Format)
    }
}

/// The carrier's public tracking page for a number.
pub fn tracking_url(carrier: Carrier, number: &str) -> Option<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(number.as_bytes()).collect();
    match carrier {
        Carrier::ThailandPost => Some(format!(
            "https://track.thailandpost.co.th/?trackNumber={encoded}"
        )),
        Carrier::Flash => Some(format!(
            "https://www.flashexpress.co.th/fle/tracking?se={encoded}"
        )),
        // KEX's page takes an opaque token, not the number: the number is shown to paste.
        Carrier::Kerry => Some("https://th.kex-express.com/th/track/".to_string()),
        Carrier::Jt => Some(format!(
            "https://www.jtexpress.co.th/service/track?billcode={encoded}"
        )),
        Carrier::Local | Carrier::Pickup => None,
    }
}

/// Thailand Post's e-Tracking status code as a normalised status: 101–104 accepted (104: the
/// sender withdrew it, kept as accepted), 201, 202 and 204–220 in transit, 203 returned to
/// sender, 301–304 out for delivery, 401–402 failed attempt, 501 delivered; other codes (901,
/// the seller's COD transfer) are history only.
pub fn thailand_post_status(code: &str) -> ShipmentStatus {
    match code.trim().parse::<u16>() {
        Ok(101..=104) => ShipmentStatus::Accepted,
        Ok(203) => ShipmentStatus::Returned,
        Ok(201..=220) => ShipmentStatus::InTransit,
        Ok(301..=304) => ShipmentStatus::OutForDelivery,
        Ok(401 | 402) => ShipmentStatus::FailedAttempt,
        Ok(501) => ShipmentStatus::Delivered,
        _ => ShipmentStatus::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared vectors (`../shared/data/vectors/s10_tracking.csv`) are read by the API
    /// tests; these are the standard's own kinds of case.
    #[test]
    fn s10_check_digits() {
        assert_eq!(s10_check_digit("21705062"), Some(0)); // 10 → 0
        assert_eq!(s10_check_digit("85294218"), Some(2));
        assert_eq!(s10_check_digit("58256815"), Some(1));
        assert_eq!(s10_check_digit("1234567"), None);
        assert_eq!(s10_check_digit("1234567a"), None);
        // 11 → 5: a weighted sum divisible by 11.
        assert_eq!(s10_check_digit("00000000"), Some(5));
        assert_eq!(check_s10("EF582568151TH"), Ok(()));
        assert_eq!(
            check_s10("EF582568152TH"),
            Err(TrackingError::S10CheckDigit)
        );
        assert_eq!(check_s10("EF58256815TH"), Err(TrackingError::S10Format));
    }

    #[test]
    fn numbers_are_normalised_per_carrier() {
        assert_eq!(
            normalize(Carrier::ThailandPost, " ef 5825-6815-1 th "),
            Ok("EF582568151TH".into())
        );
        assert_eq!(
            normalize(Carrier::Flash, "th0112abcd1a"),
            Ok("TH0112ABCD1A".into())
        );
        assert_eq!(
            normalize(Carrier::Kerry, "ABCDEFGHIJ"),
            Err(TrackingError::Format)
        );
        assert_eq!(normalize(Carrier::Jt, "8200"), Err(TrackingError::Format));
        assert_eq!(
            normalize(Carrier::Local, " รถนายสมชาย เที่ยว 2 "),
            Ok("รถนายสมชาย เที่ยว 2".into())
        );
        assert_eq!(normalize(Carrier::Local, "  "), Err(TrackingError::Blank));
        assert_eq!(
            normalize(Carrier::Local, "a\nb"),
            Err(TrackingError::Control)
        );
        assert_eq!(
            normalize(Carrier::Local, &"ก".repeat(41)),
            Err(TrackingError::Length)
        );
        // A valid S10 number of another country's post is not Thailand Post's.
        assert_eq!(
            normalize(Carrier::ThailandPost, "RR123456785CN"),
            Err(TrackingError::S10Country)
        );
    }

    #[test]
    fn thailand_post_codes_map_as_the_issue_lists() {
        use ShipmentStatus::*;
        for (code, status) in [
            ("101", Accepted),
            ("103", Accepted),
            ("201", InTransit),
            ("204", InTransit),
            ("207", InTransit),
            ("203", Returned),
            ("301", OutForDelivery),
            ("302", OutForDelivery),
            ("401", FailedAttempt),
            ("501", Delivered),
            ("901", Info),
            ("abc", Info),
        ] {
            assert_eq!(thailand_post_status(code), status, "{code}");
        }
    }
}
