//! Thai identifiers: citizen ids (13 digits with a check digit) and PromptPay ids.
//!
//! Both are parsed once at the edge ([`CitizenId::parse`], [`PromptPayId::parse`]) and trusted
//! after that. Neither prints its full value through `Debug`: these are personal data and must
//! not end up in logs by accident.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::validate::PhoneNumber;

/// Longest input we look at; anything longer is not an id, however it is punctuated.
const MAX_RAW_LEN: usize = 40;

/// The digits of `raw` once spaces and dashes are dropped, or `None` if anything else is in it.
fn digits_without_separators(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_RAW_LEN {
        return None;
    }
    let mut digits = String::with_capacity(16);
    for c in trimmed.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// Whether `digits` is 13 ASCII digits whose last one is the mod-11 check digit of the first 12:
/// `sum(d[i] * (13 - i)) for i in 0..12`, check = `(11 - sum % 11) % 10`.
///
/// The Revenue Department applies the same rule to every 13-digit taxpayer id: citizen ids,
/// juristic person ids from the Department of Business Development (which start with 0) and the
/// ids it issues itself.
fn has_valid_check_digit(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if bytes.len() != 13 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..12]
        .iter()
        .zip((2..=13u32).rev())
        .map(|(b, weight)| u32::from(b - b'0') * weight)
        .sum();
    let check = (11 - sum % 11) % 10;
    u32::from(bytes[12] - b'0') == check
}

/// The last `n` characters of `s` (all of it when shorter), never panicking on odd input.
fn last_chars(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    s.get(start..).unwrap_or("")
}

/// A 13-digit Thai citizen id (เลขประจำตัวประชาชน) with a valid check digit.
///
/// `Debug` and `Display` show only the last four digits (`*********1119`); call
/// [`CitizenId::expose_digits`] where the full id is really needed. To count distinct people
/// without keeping their ids, store [`CitizenId::beneficiary_hash`] instead.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CitizenId(String);

impl CitizenId {
    /// Accepts the 13 digits bare or grouped with spaces or dashes (`1-1111-11111-11-9`,
    /// `1 1111 11111 11 9`). The check digit must match, and the id must not start with 0: no
    /// citizen id is issued with a leading 0 (13-digit numbers starting with 0 are juristic
    /// persons' tax ids, see [`PromptPayId::NationalId`]).
    pub fn parse(raw: &str) -> Option<CitizenId> {
        let digits = digits_without_separators(raw)?;
        let valid = has_valid_check_digit(&digits) && !digits.starts_with('0');
        valid.then_some(CitizenId(digits))
    }

    /// The 13 digits, unredacted. Named so that every use stands out in review.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    /// A stable, keyed fingerprint of this id for counting distinct beneficiaries without
    /// storing who they are: HMAC-SHA256 keyed with `pepper` over
    /// `"khongdee:citizen-id:v1:" + digits`, as 64 lower-case hex digits.
    ///
    /// Why a keyed hash with a secret pepper: there are fewer than 10^12 valid citizen ids, so
    /// anyone holding a plain SHA-256 (or a hash with a salt stored next to it) can recover the
    /// id by trying them all in hours. Per-row random salts would also make the same person
    /// hash differently on every row, so distinct people could no longer be counted. A pepper
    /// kept out of the database (configuration or a secret store) keeps the hashes
    /// equal for equal ids and useless without the key. The pepper must be a long random
    /// secret (32 bytes or more); changing it changes every hash, hence the `v1` in the
    /// message.
    pub fn beneficiary_hash(&self, pepper: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(pepper).expect("HMAC takes keys of any length");
        mac.update(b"khongdee:citizen-id:v1:");
        mac.update(self.0.as_bytes());
        let tag = mac.finalize().into_bytes();
        tag.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// `*********1119`: safe for logs and screens.
    pub fn redacted(&self) -> String {
        format!("*********{}", last_chars(&self.0, 4))
    }
}

impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({})", self.redacted())
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A `validator` custom check for citizen id fields.
pub fn citizen_id(value: &str) -> Result<(), validator::ValidationError> {
    CitizenId::parse(value)
        .map(|_| ())
        .ok_or_else(|| validator::ValidationError::new("invalid_citizen_id"))
}

/// What kind of PromptPay id a producer gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PromptPayKind {
    Mobile,
    NationalId,
    EWallet,
}

impl PromptPayKind {
    /// The prefix of the stored form: `mobile`, `national_id`, `ewallet`.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptPayKind::Mobile => "mobile",
            PromptPayKind::NationalId => "national_id",
            PromptPayKind::EWallet => "ewallet",
        }
    }
}

/// Where a producer is paid through PromptPay (พร้อมเพย์).
///
/// Build one with [`PromptPayId::parse`] from what a producer typed, or with `FromStr` from its
/// stored form ([`PromptPayId::to_stored`]). The variants hold the canonical digits shown in
/// their docs. They are public so that [`crate::promptpay::payload`] can be fed any id of the
/// right shape (the public QR test vectors use ids that `parse` rightly refuses), so code that
/// builds a variant by hand skips the checks `parse` makes.
///
/// `Debug` shows only [`PromptPayId::masked`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PromptPayId {
    /// A Thai mobile number in national form with its trunk 0: `0812345678` (10 digits, 06, 08
    /// or 09). The QR carries it as `0066812345678` ([`PromptPayId::proxy_value`]).
    Mobile(String),
    /// 13 digits: a citizen id or a 13-digit tax id, `1111111111119`. Juristic persons' tax ids
    /// start with 0 and use the same mod-11 check digit as citizen ids, so any 13 digits with a
    /// valid check digit are accepted, whatever the first digit.
    NationalId(String),
    /// A 15-digit e-wallet id, `123456789012345`. It has no check digit we know of.
    EWallet(String),
}

impl PromptPayId {
    /// Accepts the ways producers write their PromptPay id:
    /// - a mobile number: `081-234-5678`, `0812345678`, `+66 81 234 5678`, `0066812345678`
    ///   (the same forms [`PhoneNumber::parse`] takes, mobile numbers only);
    /// - a 13-digit citizen or tax id, bare or grouped: `1-1111-11111-11-9`;
    /// - a 15-digit e-wallet id, with optional spaces or dashes.
    ///
    /// 13 digits starting with `0066` are read as a mobile number in international form, never
    /// as a tax id (no juristic id starts with 00).
    pub fn parse(raw: &str) -> Option<PromptPayId> {
        if let Some(phone) = PhoneNumber::parse(raw) {
            return phone
                .is_mobile()
                .then(|| PromptPayId::Mobile(phone.national()));
        }
        let digits = digits_without_separators(raw)?;
        match digits.len() {
            13 if digits.starts_with("0066") => None,
            13 if has_valid_check_digit(&digits) => Some(PromptPayId::NationalId(digits)),
            15 => Some(PromptPayId::EWallet(digits)),
            _ => None,
        }
    }

    pub fn kind(&self) -> PromptPayKind {
        match self {
            PromptPayId::Mobile(_) => PromptPayKind::Mobile,
            PromptPayId::NationalId(_) => PromptPayKind::NationalId,
            PromptPayId::EWallet(_) => PromptPayKind::EWallet,
        }
    }

    /// The canonical digits, without separators: `0812345678`, `1111111111119`,
    /// `123456789012345`.
    pub fn normalized(&self) -> &str {
        match self {
            PromptPayId::Mobile(d) | PromptPayId::NationalId(d) | PromptPayId::EWallet(d) => d,
        }
    }

    /// The value PromptPay itself uses, as it goes into a QR code: a mobile number becomes
    /// `0066` + its 9 national digits (`0066812345678`); the other kinds are their digits.
    pub fn proxy_value(&self) -> String {
        match self {
            PromptPayId::Mobile(d) => format!("0066{}", d.strip_prefix('0').unwrap_or(d)),
            PromptPayId::NationalId(d) | PromptPayId::EWallet(d) => d.clone(),
        }
    }

    /// The one form we store in the database: `kind:digits`, e.g. `mobile:0812345678`,
    /// `national_id:1111111111119`, `ewallet:123456789012345`. `FromStr` reads it back.
    pub fn to_stored(&self) -> String {
        format!("{}:{}", self.kind().as_str(), self.normalized())
    }

    /// For showing buyers whom they pay without revealing the id: `xxx-xxx-5678`,
    /// `x-xxxx-xxxxx-11-9`, `xxxxxxxxxxx2345`.
    pub fn masked(&self) -> String {
        match self {
            PromptPayId::Mobile(d) => format!("xxx-xxx-{}", last_chars(d, 4)),
            PromptPayId::NationalId(d) => {
                let tail = last_chars(d, 3);
                let split = tail.char_indices().last().map_or(0, |(i, _)| i);
                let (group, check) = tail.split_at(split);
                format!("x-xxxx-xxxxx-{group}-{check}")
            }
            PromptPayId::EWallet(d) => format!("xxxxxxxxxxx{}", last_chars(d, 4)),
        }
    }
}

impl fmt::Debug for PromptPayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PromptPayId::{:?}({})", self.kind(), self.masked())
    }
}

/// A stored PromptPay id that is not `kind:digits` in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a stored PromptPay id (expected mobile:…, national_id:… or ewallet:… in canonical form)"
)]
pub struct InvalidStoredPromptPayId;

impl FromStr for PromptPayId {
    type Err = InvalidStoredPromptPayId;

    /// Reads [`PromptPayId::to_stored`] back, strictly: the kind must match what the digits
    /// parse as, and the digits must already be canonical.
    fn from_str(stored: &str) -> Result<Self, Self::Err> {
        let (kind, digits) = stored.split_once(':').ok_or(InvalidStoredPromptPayId)?;
        let id = PromptPayId::parse(digits).ok_or(InvalidStoredPromptPayId)?;
        if id.kind().as_str() == kind && id.normalized() == digits {
            Ok(id)
        } else {
            Err(InvalidStoredPromptPayId)
        }
    }
}

/// A `validator` custom check for PromptPay id fields.
pub fn promptpay_id(value: &str) -> Result<(), validator::ValidationError> {
    PromptPayId::parse(value)
        .map(|_| ())
        .ok_or_else(|| validator::ValidationError::new("invalid_promptpay_id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `shared/data/vectors/citizen_id.csv`, for when the file is not there.
    const CITIZEN_ID_VECTORS: &str = "citizen_id,valid\n1111111111119,true\n1111111111111,false\n";

    fn citizen_id_vectors() -> Vec<(String, bool)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/vectors/citizen_id.csv"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|_| CITIZEN_ID_VECTORS.into());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<(String, bool)> = reader
            .records()
            .map(|record| {
                let record = record.expect("a well-formed vector row");
                let valid = match &record[1] {
                    "true" => true,
                    "false" => false,
                    other => panic!("valid column must be true or false, got {other}"),
                };
                (record[0].to_string(), valid)
            })
            .collect();
        assert!(!rows.is_empty(), "no citizen id vectors");
        rows
    }

    #[test]
    fn citizen_id_vectors_pass() {
        for (id, valid) in citizen_id_vectors() {
            assert_eq!(CitizenId::parse(&id).is_some(), valid, "{id}");
            assert_eq!(citizen_id(&id).is_ok(), valid, "{id}");
        }
    }

    #[test]
    fn citizen_id_accepts_grouping_and_rejects_the_rest() {
        for raw in [
            "1111111111119",
            "1-1111-11111-11-9",
            "1 1111 11111 11 9",
            " 1111111111119 ",
        ] {
            assert_eq!(
                CitizenId::parse(raw).map(|id| id.expose_digits().to_string()),
                Some("1111111111119".to_string()),
                "{raw}"
            );
        }
        for bad in [
            "",
            "111111111119",
            "11111111111190",
            "1111111111118",
            "1.1111.11111.11.9",
            "1111111111119a",
            "๑๑๑๑๑๑๑๑๑๑๑๑๙",
            // The check digit of 0107536000102 is right, but a citizen id never starts with 0.
            "0107536000102",
        ] {
            assert!(CitizenId::parse(bad).is_none(), "{bad}");
        }
        let err = citizen_id("1111111111111").unwrap_err();
        assert_eq!(err.code, "invalid_citizen_id");
    }

    #[test]
    fn check_digit_of_ten_wraps_to_zero() {
        // 100000000001: sum 13 + 2 = 15, 15 % 11 = 4, check (11 - 4) % 10 = 7.
        // When the remainder is 1, 11 - 1 = 10 must become check digit 0.
        assert!(has_valid_check_digit("1000000000017"));
        let remainder_one = (0..100u32)
            .map(|n| format!("1{n:011}"))
            .find(|prefix| {
                let sum: u32 = prefix
                    .bytes()
                    .zip((2..=13u32).rev())
                    .map(|(b, w)| u32::from(b - b'0') * w)
                    .sum();
                sum % 11 == 1
            })
            .expect("some prefix has a remainder of 1");
        assert!(has_valid_check_digit(&format!("{remainder_one}0")));
        assert!(!has_valid_check_digit(&format!("{remainder_one}1")));
    }

    #[test]
    fn citizen_id_is_redacted_in_debug_and_display() {
        let id = CitizenId::parse("1-1111-11111-11-9").unwrap();
        assert_eq!(id.to_string(), "*********1119");
        assert_eq!(format!("{id:?}"), "CitizenId(*********1119)");
        assert!(!format!("{id:?} {id}").contains("1111111111119"));
        assert_eq!(id.expose_digits(), "1111111111119");
    }

    #[test]
    fn beneficiary_hash_is_a_keyed_hmac() {
        let id = CitizenId::parse("1111111111119").unwrap();
        // Computed independently: Python's hmac.new(b"test-pepper",
        // b"khongdee:citizen-id:v1:1111111111119", hashlib.sha256).hexdigest().
        assert_eq!(
            id.beneficiary_hash(b"test-pepper"),
            "0ccad4908cc3b1c64c568a64e3cbc18311d63c44950aeada2aec4cc1a878d4b8"
        );
        let same_person = CitizenId::parse("1-1111-11111-11-9").unwrap();
        assert_eq!(
            id.beneficiary_hash(b"test-pepper"),
            same_person.beneficiary_hash(b"test-pepper")
        );
        assert_ne!(
            id.beneficiary_hash(b"test-pepper"),
            id.beneficiary_hash(b"other-pepper")
        );
        let other = CitizenId::parse("1000000000017").unwrap();
        assert_ne!(
            id.beneficiary_hash(b"test-pepper"),
            other.beneficiary_hash(b"test-pepper")
        );
    }

    #[test]
    fn parses_promptpay_mobile_numbers() {
        for raw in [
            "081-234-5678",
            "0812345678",
            "+66 81 234 5678",
            "+66-81-234-5678",
            "0066812345678",
            "081 234 5678",
        ] {
            let id = PromptPayId::parse(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!(id, PromptPayId::Mobile("0812345678".into()), "{raw}");
            assert_eq!(id.kind(), PromptPayKind::Mobile);
            assert_eq!(id.normalized(), "0812345678");
            assert_eq!(id.proxy_value(), "0066812345678");
        }
        for prefix in ["06", "08", "09"] {
            let raw = format!("{prefix}12345678");
            assert!(PromptPayId::parse(&raw).is_some(), "{raw}");
        }
        for bad in [
            "02 123 4567",
            "0712345678",
            "081234567",
            "08123456789",
            "000-000-0000",
            "0066212345678",
        ] {
            assert!(PromptPayId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parses_promptpay_national_and_tax_ids() {
        let id = PromptPayId::parse("1-1111-11111-11-9").unwrap();
        assert_eq!(id, PromptPayId::NationalId("1111111111119".into()));
        assert_eq!(id.kind(), PromptPayKind::NationalId);
        assert_eq!(id.proxy_value(), "1111111111119");
        // A company's tax id starts with 0 and is not a citizen id, yet it is a PromptPay id.
        let company = PromptPayId::parse("0-1075-36000-10-2").unwrap();
        assert_eq!(company, PromptPayId::NationalId("0107536000102".into()));
        assert!(CitizenId::parse("0107536000102").is_none());
        for bad in [
            "1111111111111",
            "0123456789012",
            "111111111111",
            "1111111111119x",
        ] {
            assert!(PromptPayId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parses_promptpay_ewallet_ids() {
        for raw in [
            "123456789012345",
            "123-4567-8901-2345",
            "123 456 789 012 345",
        ] {
            let id = PromptPayId::parse(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!(id, PromptPayId::EWallet("123456789012345".into()));
            assert_eq!(id.kind(), PromptPayKind::EWallet);
        }
        for bad in ["12345678901234", "1234567890123456", "12345678901234a"] {
            assert!(PromptPayId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn promptpay_ids_round_trip_through_the_stored_form() {
        for (raw, stored) in [
            ("081-234-5678", "mobile:0812345678"),
            ("1-1111-11111-11-9", "national_id:1111111111119"),
            ("0107536000102", "national_id:0107536000102"),
            ("123456789012345", "ewallet:123456789012345"),
        ] {
            let id = PromptPayId::parse(raw).unwrap();
            assert_eq!(id.to_stored(), stored);
            assert_eq!(stored.parse::<PromptPayId>(), Ok(id), "{stored}");
        }
        for bad in [
            "",
            "0812345678",
            "mobile:081-234-5678",
            "mobile:+66812345678",
            "national_id:0812345678",
            "mobile:1111111111119",
            "ewallet:1111111111119",
            "national_id:1111111111111",
            "phone:0812345678",
        ] {
            assert_eq!(
                bad.parse::<PromptPayId>(),
                Err(InvalidStoredPromptPayId),
                "{bad}"
            );
        }
    }

    #[test]
    fn promptpay_ids_are_masked_for_buyers_and_logs() {
        let mobile = PromptPayId::parse("0812345678").unwrap();
        assert_eq!(mobile.masked(), "xxx-xxx-5678");
        let national = PromptPayId::parse("1111111111119").unwrap();
        assert_eq!(national.masked(), "x-xxxx-xxxxx-11-9");
        let wallet = PromptPayId::parse("123456789012345").unwrap();
        assert_eq!(wallet.masked(), "xxxxxxxxxxx2345");
        assert_eq!(
            format!("{national:?}"),
            "PromptPayId::NationalId(x-xxxx-xxxxx-11-9)"
        );
        // Built by hand with odd content, masking still does not panic.
        assert_eq!(
            PromptPayId::NationalId("é".into()).masked(),
            "x-xxxx-xxxxx--é"
        );
        assert_eq!(PromptPayId::Mobile(String::new()).masked(), "xxx-xxx-");
    }

    #[test]
    fn promptpay_validator_uses_its_code() {
        assert!(promptpay_id("081-234-5678").is_ok());
        assert_eq!(
            promptpay_id("hello").unwrap_err().code,
            "invalid_promptpay_id"
        );
    }
}
