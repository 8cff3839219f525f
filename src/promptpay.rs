//! PromptPay QR payloads (EMVCo merchant-presented mode) and their QR images.
//!
//! To let a buyer pay a producer: [`payload`] builds the "Thai QR" text for the producer's
//! [`PromptPayId`] and the order total in satang, then [`qr_svg`] or [`qr_png`] draws it.
//! [`parse_payload`] reads a payload back and checks its CRC, for tests and for support staff
//! looking at a customer's QR.
//!
//! A payload is a list of fields, each `tag (2 digits) + length (2 digits) + value`:
//!
//! | tag | value |
//! |-----|-------|
//! | 00  | payload format, `01` |
//! | 01  | `11` static (the payer types the amount) or `12` dynamic (one payment, amount set) |
//! | 29  | PromptPay credit transfer: `00` AID `A000000677010111`, then `01` mobile (`0066` + 9 digits), `02` citizen/tax id (13 digits) or `03` e-wallet id (15 digits) |
//! | 58  | country, `TH` |
//! | 53  | currency, `764` (baht) |
//! | 54  | amount in baht with two decimals (`4.22`), only with an amount |
//! | 62  | additional data, only with a reference: `05` reference label, the order code (`7KQ3-XPMA`) |
//! | 63  | CRC-16/CCITT-FALSE of everything before it, including `6304`, 4 upper-case hex digits |
//!
//! Matching a transfer to its order: a PromptPay credit transfer (tag 29) carries no reference
//! to the payee that any published source guarantees, so the order code in tag 62 is a courtesy
//! for the payer's screen and for support staff, not something the producer can rely on. What
//! the producer does see is the amount and the time: [`orders_matching_transfer`] lists the open
//! orders a transfer can pay (`GET /v1/producers/{id}/transfer-matches`). The reasoning and sources are
//! in `docs/promptpay.md`.

use chrono::{DateTime, Duration, Utc};
use crc::{CRC_16_IBM_3740, Crc};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, Luma};
use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode};

use crate::thai_ids::{PromptPayId, PromptPayKind};

/// The application id of a PromptPay credit transfer (tag 29, sub-tag 00).
const PROMPTPAY_AID: &str = "A000000677010111";

/// ISO 4217 numeric code of the baht.
const CURRENCY_THB: &str = "764";

const COUNTRY_TH: &str = "TH";

/// The largest amount a payload may carry: ฿9,999,999.99, far above any pre-order.
pub const MAX_AMOUNT_SATANG: i64 = 999_999_999;

/// The one rule on what an order or a hold may come to: one PromptPay payment must carry it.
/// `total` is `None` when computing it overflowed. Refuses with 422 `order_total_too_large`.
pub fn ensure_payable(total: Option<i64>) -> crate::error::ApiResult<i64> {
    match total {
        Some(total) if total <= MAX_AMOUNT_SATANG => Ok(total),
        _ => Err(
            crate::error::ApiError::new(crate::error::ErrorKind::OrderTotalTooLarge)
                .with(
                    "total",
                    total.map_or_else(|| "more than 92,233,720,368,547,758".to_string(), baht),
                )
                .with("max", baht(MAX_AMOUNT_SATANG))
                .extra("total_satang", total)
                .extra("max_satang", MAX_AMOUNT_SATANG),
        ),
    }
}

/// Satang as baht with thousands separators, for people: 999999999 → `9,999,999.99`.
pub fn baht(satang: i64) -> String {
    let whole = (satang / 100).unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if satang < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", (satang % 100).abs())
}

/// EMVCo caps a merchant-presented payload at 512 characters.
const MAX_PAYLOAD_LEN: usize = 512;

/// Tag 62, the EMVCo "Additional Data Field Template".
const ADDITIONAL_DATA_TAG: &str = "62";

/// Sub-tag 05 of tag 62, "Reference Label": "any value defined by the merchant or acquirer in
/// order to identify the transaction" (EMVCo MPM). Sub-tags 07 and 08 are bill-payment fields in
/// the Thai QR standard; 05 is open to any payload.
const REFERENCE_LABEL_SUB_TAG: &str = "05";

/// EMVCo: the values of tag 62's sub-tags 01 to 08 are at most 25 characters.
pub const MAX_REFERENCE_LEN: usize = 25;

/// EMVCo: `***` in a tag 62 sub-tag asks the payer's app to prompt for the value; it is not a
/// reference.
const PROMPT_THE_PAYER: &str = "***";

/// Largest module size [`qr_png`] draws, so a caller cannot ask for a huge image.
pub const MAX_MODULE_PX: u32 = 32;

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection.
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// Why a payload or its QR image could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptPayError {
    #[error("the amount must be positive, got {0} satang")]
    AmountNotPositive(i64),
    #[error("the amount {0} satang is above the ceiling of {MAX_AMOUNT_SATANG} satang")]
    AmountTooLarge(i64),
    #[error("the {} PromptPay id does not have the shape of one", .0.as_str())]
    MalformedTarget(PromptPayKind),
    #[error(
        "the reference {0:?} must be 1 to {MAX_REFERENCE_LEN} printable ASCII characters and not ***"
    )]
    InvalidReference(String),
    #[error("cannot draw the QR code: {0}")]
    Qr(#[from] QrError),
    #[error("cannot encode the QR image as PNG: {0}")]
    Png(String),
}

/// Why a text is not a valid PromptPay payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePayloadError {
    #[error("the payload is empty, longer than 512 characters or not plain ASCII")]
    NotAPayload,
    #[error("the payload does not end with a CRC field (6304 and four hex digits)")]
    MissingCrc,
    #[error("CRC mismatch: the payload says {found}, its content gives {computed}")]
    CrcMismatch { found: String, computed: String },
    #[error("the fields cannot be read from character {at} on")]
    Malformed { at: usize },
    #[error("field {0} is missing")]
    MissingField(&'static str),
    #[error("field {0} has an unexpected value")]
    InvalidField(&'static str),
    #[error("not a PromptPay credit transfer (no tag 29 with AID {PROMPTPAY_AID})")]
    NotPromptPayTransfer,
}

/// Tag 01: whether the QR is for one payment of a set amount or can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointOfInitiation {
    /// `11`: no amount in the QR, the payer types it; the QR can be printed and reused.
    Static,
    /// `12`: one payment with the amount in the QR.
    Dynamic,
}

/// What [`parse_payload`] read from a payload whose CRC is right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPayload {
    pub point_of_initiation: PointOfInitiation,
    /// Who gets paid. Built from the QR as is: it has the right shape but may not pass
    /// [`PromptPayId::parse`] (a QR from elsewhere can carry any digits).
    pub target: PromptPayId,
    pub amount_satang: Option<i64>,
    /// Tag 53, `764` for baht.
    pub currency: String,
    /// Tag 58, `TH`.
    pub country: String,
    /// Tag 62 sub-tag 05, the reference label (our payloads put the order code there). `None`
    /// without one, and for `***`, which asks the payer's app to prompt for it.
    pub reference: Option<String>,
}

/// The PromptPay "Thai QR" payload that pays `target`, for `amount_satang` (฿4.22 = 422) or,
/// with `None`, a reusable QR where the payer types the amount.
///
/// The id is encoded as long as it has the right shape (digits and length); whether it is a
/// real mobile number or has a valid check digit is [`PromptPayId::parse`]'s job, at the edge.
/// Amounts must be from 1 satang to [`MAX_AMOUNT_SATANG`].
pub fn payload(target: &PromptPayId, amount_satang: Option<i64>) -> Result<String, PromptPayError> {
    payload_with_reference(target, amount_satang, None)
}

/// [`payload`] with a reference, e.g. the order code `7KQ3-XPMA`, in tag 62 sub-tag 05
/// ("Reference Label", EMVCo MPM; optional in a Thai QR credit transfer). Without a reference
/// the payload is byte for byte what [`payload`] gives.
///
/// The reference must be 1 to [`MAX_REFERENCE_LEN`] characters from printable ASCII (`0x20` to
/// `0x7E`, EMVCo's "ans" format) and not `***`; otherwise
/// [`PromptPayError::InvalidReference`]. Whether a payer's bank app shows it, or passes it on
/// to the payee, is up to the app: see `docs/promptpay.md`.
pub fn payload_with_reference(
    target: &PromptPayId,
    amount_satang: Option<i64>,
    reference: Option<&str>,
) -> Result<String, PromptPayError> {
    let amount = amount_satang.map(format_amount).transpose()?;
    let additional_data = reference.map(additional_data).transpose()?;
    let mut out = String::with_capacity(128);
    push_field(&mut out, "00", "01");
    push_field(&mut out, "01", if amount.is_some() { "12" } else { "11" });
    push_field(&mut out, "29", &merchant_account(target)?);
    push_field(&mut out, "58", COUNTRY_TH);
    push_field(&mut out, "53", CURRENCY_THB);
    if let Some(amount) = &amount {
        push_field(&mut out, "54", amount);
    }
    if let Some(additional_data) = &additional_data {
        push_field(&mut out, ADDITIONAL_DATA_TAG, additional_data);
    }
    out.push_str("6304");
    let crc = CRC16.checksum(out.as_bytes());
    out.push_str(&format!("{crc:04X}"));
    Ok(out)
}

/// Tag 62's value: the reference under sub-tag 05.
fn additional_data(reference: &str) -> Result<String, PromptPayError> {
    let printable = reference.bytes().all(|b| (0x20..=0x7E).contains(&b));
    if reference.is_empty()
        || reference.len() > MAX_REFERENCE_LEN
        || !printable
        || reference == PROMPT_THE_PAYER
    {
        return Err(PromptPayError::InvalidReference(reference.to_string()));
    }
    let mut data = String::with_capacity(4 + reference.len());
    push_field(&mut data, REFERENCE_LABEL_SUB_TAG, reference);
    Ok(data)
}

/// Appends one `tag + length + value` field; every value we write is under 100 characters.
fn push_field(out: &mut String, tag: &str, value: &str) {
    out.push_str(tag);
    out.push_str(&format!("{:02}", value.len()));
    out.push_str(value);
}

/// Tag 29's value: the PromptPay AID, then the id under the sub-tag of its kind.
fn merchant_account(target: &PromptPayId) -> Result<String, PromptPayError> {
    let digits = target.normalized();
    let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
    let sub_tag = match target {
        PromptPayId::Mobile(_) if all_digits && digits.len() == 10 && digits.starts_with('0') => {
            "01"
        }
        PromptPayId::NationalId(_) if all_digits && digits.len() == 13 => "02",
        PromptPayId::EWallet(_) if all_digits && digits.len() == 15 => "03",
        _ => return Err(PromptPayError::MalformedTarget(target.kind())),
    };
    let mut account = String::with_capacity(40);
    push_field(&mut account, "00", PROMPTPAY_AID);
    push_field(&mut account, sub_tag, &target.proxy_value());
    Ok(account)
}

/// Satang as baht with two decimals, the way tag 54 wants it: 422 → `4.22`, 100 → `1.00`.
fn format_amount(satang: i64) -> Result<String, PromptPayError> {
    if satang <= 0 {
        return Err(PromptPayError::AmountNotPositive(satang));
    }
    if satang > MAX_AMOUNT_SATANG {
        return Err(PromptPayError::AmountTooLarge(satang));
    }
    Ok(format!("{}.{:02}", satang / 100, satang % 100))
}

/// Tag 54 back to satang; other generators also write `50` or `50.5`.
fn parse_amount(text: &str) -> Option<i64> {
    let (baht, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if baht.is_empty() || baht.len() > 10 || fraction.len() > 2 {
        return None;
    }
    if !all_digits(baht) || !all_digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return None;
    }
    let baht: i64 = baht.parse().ok()?;
    let satang = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    baht.checked_mul(100)?.checked_add(satang)
}

/// Splits `data` into its `(tag, value)` fields; `offset` places errors within the payload.
fn read_fields(data: &str, offset: usize) -> Result<Vec<(&str, &str)>, ParsePayloadError> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let malformed = ParsePayloadError::Malformed { at: offset + at };
        let header = data.get(at..at + 4).ok_or(malformed.clone())?;
        if !header.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed);
        }
        let (tag, len) = header.split_at(2);
        let len: usize = len.parse().map_err(|_| malformed.clone())?;
        let value = data.get(at + 4..at + 4 + len).ok_or(malformed.clone())?;
        // A repeated tag would make the payload mean two things; refuse it.
        if fields.iter().any(|(seen, _)| *seen == tag) {
            return Err(malformed);
        }
        fields.push((tag, value));
        at += 4 + len;
    }
    Ok(fields)
}

fn field<'a>(fields: &[(&str, &'a str)], tag: &str) -> Option<&'a str> {
    fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
}

/// Reads a PromptPay payload back: checks the CRC first, then the fields this module writes.
/// Fields it does not know (a merchant name, a reference) are ignored.
pub fn parse_payload(payload: &str) -> Result<ParsedPayload, ParsePayloadError> {
    let payload = payload.trim();
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_LEN || !payload.is_ascii() {
        return Err(ParsePayloadError::NotAPayload);
    }
    let body_len = payload
        .len()
        .checked_sub(4)
        .ok_or(ParsePayloadError::MissingCrc)?;
    let (body, found) = payload.split_at(body_len);
    if !body.ends_with("6304") || !found.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParsePayloadError::MissingCrc);
    }
    let computed = format!("{:04X}", CRC16.checksum(body.as_bytes()));
    if !found.eq_ignore_ascii_case(&computed) {
        return Err(ParsePayloadError::CrcMismatch {
            found: found.to_string(),
            computed,
        });
    }

    let fields = read_fields(payload, 0)?;
    // The 6304 we checked must be a field of its own, not the inside of another value.
    if fields.last().map(|(tag, _)| *tag) != Some("63") {
        return Err(ParsePayloadError::MissingCrc);
    }
    if field(&fields, "00").ok_or(ParsePayloadError::MissingField("00"))? != "01" {
        return Err(ParsePayloadError::InvalidField("00"));
    }
    let point_of_initiation = match field(&fields, "01") {
        Some("11") => PointOfInitiation::Static,
        Some("12") => PointOfInitiation::Dynamic,
        Some(_) => return Err(ParsePayloadError::InvalidField("01")),
        None => return Err(ParsePayloadError::MissingField("01")),
    };
    let account = field(&fields, "29").ok_or(ParsePayloadError::NotPromptPayTransfer)?;
    // `account` is a slice of `payload`; its offset places errors inside it.
    let account_offset = account.as_ptr() as usize - payload.as_ptr() as usize;
    let target = read_target(&read_fields(account, account_offset)?)?;
    let amount_satang = match field(&fields, "54") {
        Some(text) => Some(
            parse_amount(text)
                .filter(|satang| *satang > 0)
                .ok_or(ParsePayloadError::InvalidField("54"))?,
        ),
        None => None,
    };
    let currency = field(&fields, "53").ok_or(ParsePayloadError::MissingField("53"))?;
    let country = field(&fields, "58").ok_or(ParsePayloadError::MissingField("58"))?;
    let reference = match field(&fields, ADDITIONAL_DATA_TAG) {
        Some(data) => {
            let data_offset = data.as_ptr() as usize - payload.as_ptr() as usize;
            read_reference(&read_fields(data, data_offset)?)?
        }
        None => None,
    };
    Ok(ParsedPayload {
        point_of_initiation,
        target,
        amount_satang,
        currency: currency.to_string(),
        country: country.to_string(),
        reference,
    })
}

/// The reference label inside tag 62; other sub-tags (a terminal label, a bill number from
/// another generator) are left alone.
fn read_reference(data: &[(&str, &str)]) -> Result<Option<String>, ParsePayloadError> {
    match field(data, REFERENCE_LABEL_SUB_TAG) {
        // EMVCo: a sub-tag present is never empty.
        Some("") => Err(ParsePayloadError::InvalidField("62")),
        Some(PROMPT_THE_PAYER) | None => Ok(None),
        Some(reference) => Ok(Some(reference.to_string())),
    }
}

/// The PromptPay id inside tag 29, from its sub-fields.
fn read_target(account: &[(&str, &str)]) -> Result<PromptPayId, ParsePayloadError> {
    if field(account, "00") != Some(PROMPTPAY_AID) {
        return Err(ParsePayloadError::NotPromptPayTransfer);
    }
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    let ids: Vec<PromptPayId> = account
        .iter()
        .filter_map(|(tag, value)| match *tag {
            "01" => Some(
                value
                    .strip_prefix("0066")
                    .filter(|national| digits(national, 9))
                    .map(|national| PromptPayId::Mobile(format!("0{national}"))),
            ),
            "02" => Some(digits(value, 13).then(|| PromptPayId::NationalId(value.to_string()))),
            "03" => Some(digits(value, 15).then(|| PromptPayId::EWallet(value.to_string()))),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or(ParsePayloadError::InvalidField("29"))?;
    match <[PromptPayId; 1]>::try_from(ids) {
        Ok([id]) => Ok(id),
        Err(_) => Err(ParsePayloadError::InvalidField("29")),
    }
}

/// An unpaid order of one producer, as [`orders_matching_transfer`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    /// The order code, `7KQ3-XPMA`.
    pub code: String,
    /// What the buyer is asked to pay, in satang.
    pub amount_satang: i64,
    /// When the order was placed (its QR cannot have been paid before).
    pub placed_at: DateTime<Utc>,
}

/// Transfer times are often shown to the minute, and clocks drift: an order placed up to this
/// long after the time a producer reads off a transfer may still be the one it paid.
pub const TRANSFER_TIME_SLACK: Duration = Duration::minutes(2);

/// The open orders a PromptPay transfer of `amount_satang`, received at `received_at`, can pay:
/// those asking exactly that amount that were placed before it (within
/// [`TRANSFER_TIME_SLACK`]), oldest first.
///
/// One order: the transfer is that order's payment. Several: the amount alone does not tell
/// them apart, and the producer asks the buyers (or looks at the slip the buyer sends). None:
/// the transfer is not for an open order at this amount (a partial payment, a typo, a payment
/// for an order that has expired).
pub fn orders_matching_transfer(
    open_orders: &[OpenOrder],
    amount_satang: i64,
    received_at: DateTime<Utc>,
) -> Vec<&OpenOrder> {
    let latest_placement = received_at + TRANSFER_TIME_SLACK;
    let mut matching: Vec<&OpenOrder> = open_orders
        .iter()
        .filter(|order| order.amount_satang == amount_satang && order.placed_at <= latest_placement)
        .collect();
    matching.sort_by(|a, b| (a.placed_at, &a.code).cmp(&(b.placed_at, &b.code)));
    matching
}

/// The QR code of `payload`, error-correction level M (survives a crease or a smudge, still
/// small enough for a phone screen).
fn qr_code(payload: &str) -> Result<QrCode, PromptPayError> {
    Ok(QrCode::with_error_correction_level(
        payload.as_bytes(),
        EcLevel::M,
    )?)
}

/// The QR code of `payload` as an SVG document (`<svg …>…</svg>`), black on white with the
/// standard 4-module quiet zone: scales to any size on a web page or an invoice.
pub fn qr_svg(payload: &str) -> Result<String, PromptPayError> {
    let svg = qr_code(payload)?
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(8, 8)
        .build();
    // Without the XML declaration the same text works as a file and inline in HTML.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The QR code of `payload` as an 8-bit greyscale PNG, `module_px` pixels per module (clamped
/// to 1..=[`MAX_MODULE_PX`]) with the standard 4-module quiet zone. The same input always gives
/// the same bytes.
pub fn qr_png(payload: &str, module_px: u32) -> Result<Vec<u8>, PromptPayError> {
    let px = module_px.clamp(1, MAX_MODULE_PX);
    let image = qr_code(payload)?
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(px, px)
        .build();
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::L8,
        )
        .map_err(|e| PromptPayError::Png(e.to_string()))?;
    Ok(png)
}

/// [`qr_png`] as a `data:image/png;base64,…` URI, for an `<img>` in a page or a JSON answer.
pub fn qr_png_data_uri(payload: &str, module_px: u32) -> Result<String, PromptPayError> {
    use base64::Engine;
    let png = qr_png(payload, module_px)?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `shared/data/vectors/promptpay.csv`, for when the file is not there.
    const PROMPTPAY_VECTORS: &str = "\
target,amount,payload
0801234567,,00020101021129370016A000000677010111011300668012345675802TH530376463046197
+66-89-123-4567,,00020101021129370016A000000677010111011300668912345675802TH5303764630429C1
1111111111111,,00020101021129370016A000000677010111021311111111111115802TH530376463047B5A
0123456789012,,00020101021129370016A000000677010111021301234567890125802TH530376463040CBD
000-000-0000,4.22,00020101021229370016A000000677010111011300660000000005802TH530376454044.226304E469
";

    struct Vector {
        target: String,
        amount: String,
        payload: String,
    }

    fn vectors() -> Vec<Vector> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/vectors/promptpay.csv"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|_| PROMPTPAY_VECTORS.into());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<Vector> = reader
            .records()
            .map(|record| {
                let record = record.expect("a well-formed vector row");
                Vector {
                    target: record[0].to_string(),
                    amount: record[1].to_string(),
                    payload: record[2].to_string(),
                }
            })
            .collect();
        assert!(!rows.is_empty(), "no PromptPay vectors");
        rows
    }

    /// The vectors' targets as ids. Some are not ids a producer could register (1111111111111
    /// fails the check digit, 000-000-0000 is no mobile number), so those are built by shape.
    fn vector_target(raw: &str) -> PromptPayId {
        if let Some(id) = PromptPayId::parse(raw) {
            return id;
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        match digits.len() {
            10 => PromptPayId::Mobile(digits),
            13 => PromptPayId::NationalId(digits),
            15 => PromptPayId::EWallet(digits),
            _ => panic!("vector target {raw} has no PromptPay shape"),
        }
    }

    /// The vectors' amounts (`4.22`) in satang, computed without our own parser.
    fn vector_amount(raw: &str) -> Option<i64> {
        if raw.is_empty() {
            return None;
        }
        let (baht, fraction) = raw.split_once('.').expect("amounts have two decimals");
        assert_eq!(fraction.len(), 2, "{raw}");
        Some(baht.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap())
    }

    #[test]
    fn every_vector_gives_its_payload() {
        for v in vectors() {
            let target = vector_target(&v.target);
            let amount = vector_amount(&v.amount);
            assert_eq!(
                payload(&target, amount).as_deref(),
                Ok(v.payload.as_str()),
                "target {} amount {}",
                v.target,
                v.amount
            );
        }
    }

    #[test]
    fn every_vector_parses_back() {
        for v in vectors() {
            let parsed = parse_payload(&v.payload).unwrap_or_else(|e| panic!("{}: {e}", v.target));
            assert_eq!(parsed.target, vector_target(&v.target), "{}", v.target);
            assert_eq!(parsed.amount_satang, vector_amount(&v.amount));
            let expected = if v.amount.is_empty() {
                PointOfInitiation::Static
            } else {
                PointOfInitiation::Dynamic
            };
            assert_eq!(parsed.point_of_initiation, expected);
            assert_eq!(parsed.currency, "764");
            assert_eq!(parsed.country, "TH");
            assert_eq!(parsed.reference, None);
        }
    }

    #[test]
    fn crc_is_ccitt_false() {
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
    }

    #[test]
    fn amounts_are_baht_with_two_decimals() {
        for (satang, text) in [
            (1, "0.01"),
            (10, "0.10"),
            (100, "1.00"),
            (422, "4.22"),
            (123_456, "1234.56"),
            (MAX_AMOUNT_SATANG, "9999999.99"),
        ] {
            assert_eq!(format_amount(satang).as_deref(), Ok(text), "{satang}");
            assert_eq!(parse_amount(text), Some(satang), "{text}");
        }
        assert_eq!(parse_amount("50"), Some(5000));
        assert_eq!(parse_amount("50.5"), Some(5050));
        for bad in [
            "",
            ".50",
            "50.",
            "5.123",
            "-1.00",
            "1,000.00",
            "1e3",
            "12345678901.00",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_amounts_out_of_range() {
        let id = PromptPayId::parse("0812345678").unwrap();
        assert_eq!(
            payload(&id, Some(0)),
            Err(PromptPayError::AmountNotPositive(0))
        );
        assert_eq!(
            payload(&id, Some(-422)),
            Err(PromptPayError::AmountNotPositive(-422))
        );
        assert_eq!(
            payload(&id, Some(MAX_AMOUNT_SATANG + 1)),
            Err(PromptPayError::AmountTooLarge(MAX_AMOUNT_SATANG + 1))
        );
        assert!(payload(&id, Some(MAX_AMOUNT_SATANG)).is_ok());
    }

    #[test]
    fn refuses_ids_without_the_right_shape() {
        for id in [
            PromptPayId::Mobile("812345678".into()),
            PromptPayId::Mobile("08123456789".into()),
            PromptPayId::Mobile("08a2345678".into()),
            PromptPayId::NationalId("111111111111".into()),
            PromptPayId::EWallet("1234567890123".into()),
        ] {
            assert_eq!(
                payload(&id, None),
                Err(PromptPayError::MalformedTarget(id.kind())),
                "{id:?}"
            );
        }
    }

    #[test]
    fn payloads_round_trip_for_every_kind() {
        for (raw, amount) in [
            ("081-234-5678", Some(1)),
            ("+66 91 234 5678", None),
            ("1-1111-11111-11-9", Some(123_456)),
            ("0107536000102", Some(MAX_AMOUNT_SATANG)),
            ("123456789012345", Some(5000)),
            ("123456789012345", None),
        ] {
            let id = PromptPayId::parse(raw).unwrap();
            let text = payload(&id, amount).unwrap();
            let parsed = parse_payload(&text).unwrap();
            assert_eq!(parsed.target, id, "{raw}");
            assert_eq!(parsed.amount_satang, amount, "{raw}");
        }
        let wallet = payload(&PromptPayId::parse("123456789012345").unwrap(), None).unwrap();
        assert!(wallet.contains("29390016A00000067701011103151234567890123455802TH"));
    }

    #[test]
    fn parse_refuses_a_corrupted_crc() {
        let good = "00020101021129370016A000000677010111011300668012345675802TH530376463046197";
        let bad_crc = good.replace("6197", "6198");
        assert_eq!(
            parse_payload(&bad_crc),
            Err(ParsePayloadError::CrcMismatch {
                found: "6198".into(),
                computed: "6197".into(),
            })
        );
        // One digit of the mobile number changed, CRC left as it was.
        let bad_body = good.replace("0066801234567", "0066801234568");
        assert!(matches!(
            parse_payload(&bad_body),
            Err(ParsePayloadError::CrcMismatch { .. })
        ));
        // A CRC in lower-case hex and white space around a pasted payload are fine.
        let with_hex_letters =
            "00020101021129370016A000000677010111011300668912345675802TH5303764630429C1";
        let pasted = format!("  {}\n", with_hex_letters.replace("29C1", "29c1"));
        assert!(parse_payload(&pasted).is_ok());
    }

    /// `body` (everything before the CRC value, ending in `6304`) with its CRC appended.
    fn with_crc(body: &str) -> String {
        format!("{body}{:04X}", CRC16.checksum(body.as_bytes()))
    }

    #[test]
    fn parse_refuses_what_is_not_a_promptpay_payload() {
        assert_eq!(parse_payload(""), Err(ParsePayloadError::NotAPayload));
        assert_eq!(
            parse_payload("พร้อมเพย์"),
            Err(ParsePayloadError::NotAPayload)
        );
        assert_eq!(parse_payload("hello"), Err(ParsePayloadError::MissingCrc));
        // A bill payment (tag 30) is not a transfer to a PromptPay id.
        let bill = with_crc("000201010211300400005802TH53037646304");
        assert_eq!(
            parse_payload(&bill),
            Err(ParsePayloadError::NotPromptPayTransfer)
        );
        // Tag 01 claims 99 characters; the payload ends long before.
        let overrun = with_crc("0002010199116304");
        assert_eq!(
            parse_payload(&overrun),
            Err(ParsePayloadError::Malformed { at: 6 })
        );
        // Two ids in one tag 29.
        let two_ids = with_crc(
            "00020101021129540016A0000006770101110113006680123456702131111111111119\
             5802TH53037646304",
        );
        assert_eq!(
            parse_payload(&two_ids),
            Err(ParsePayloadError::InvalidField("29"))
        );
        // Tag 01 twice: a payload must not say two things.
        let repeated = with_crc(
            "00020101021101021229370016A000000677010111011300668012345675802TH53037646304",
        );
        assert_eq!(
            parse_payload(&repeated),
            Err(ParsePayloadError::Malformed { at: 12 })
        );
        // Amount zero.
        let zero = with_crc(
            "00020101021229370016A000000677010111011300668012345675802TH530376454040.006304",
        );
        assert_eq!(
            parse_payload(&zero),
            Err(ParsePayloadError::InvalidField("54"))
        );
    }

    #[test]
    fn a_reference_goes_in_tag_62_sub_tag_05() {
        let id = PromptPayId::parse("0812345678").unwrap();
        // Written out by hand from the EMVCo layout: 62, length 13, then 05, length 09, the code.
        let expected = with_crc(
            "00020101021229370016A000000677010111011300668123456785802TH5303764\
             5406500.00621305097KQ3-XPMA6304",
        );
        assert_eq!(
            payload_with_reference(&id, Some(50_000), Some("7KQ3-XPMA")).as_deref(),
            Ok(expected.as_str())
        );
        // Without a reference nothing changes: `every_vector_gives_its_payload` pins that,
        // since `payload` is `payload_with_reference` with `None`.
    }

    #[test]
    fn payloads_quoted_in_docs_promptpay_md() {
        // CRCs computed by promptparse's `withCrcTag`, not by us.
        let id = PromptPayId::parse("081-234-5678").unwrap();
        assert_eq!(
            payload_with_reference(&id, Some(100), Some("7KQ3-XPMA")).unwrap(),
            "00020101021229370016A000000677010111011300668123456785802TH530376454041.00\
             621305097KQ3-XPMA6304E336"
        );
        assert_eq!(
            payload(&id, Some(100)).unwrap(),
            "00020101021229370016A000000677010111011300668123456785802TH530376454041.006304DA34"
        );
    }

    #[test]
    fn references_round_trip_for_every_kind() {
        for (raw, amount, reference) in [
            ("081-234-5678", Some(1), "7KQ3-XPMA"),
            ("1-1111-11111-11-9", None, "ABCD-2345"),
            ("123456789012345", Some(MAX_AMOUNT_SATANG), "A"),
            ("0107536000102", Some(123_456), "order 7KQ3-XPMA / lot #12"),
        ] {
            let id = PromptPayId::parse(raw).unwrap();
            let text = payload_with_reference(&id, amount, Some(reference)).unwrap();
            let parsed = parse_payload(&text).unwrap();
            assert_eq!(parsed.target, id, "{raw}");
            assert_eq!(parsed.amount_satang, amount, "{raw}");
            assert_eq!(parsed.reference.as_deref(), Some(reference), "{raw}");
        }
    }

    #[test]
    fn refuses_references_emvco_does_not_allow() {
        let id = PromptPayId::parse("0812345678").unwrap();
        let longest = "Z".repeat(MAX_REFERENCE_LEN);
        assert!(payload_with_reference(&id, Some(100), Some(&longest)).is_ok());
        for bad in [
            String::new(),
            "Z".repeat(MAX_REFERENCE_LEN + 1),
            "ข้าวหอม".to_string(),
            "7KQ3\nXPMA".to_string(),
            "tab\there".to_string(),
            "***".to_string(),
        ] {
            assert_eq!(
                payload_with_reference(&id, Some(100), Some(&bad)),
                Err(PromptPayError::InvalidReference(bad.clone())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_longest_payload_stays_far_under_512_characters() {
        let wallet = PromptPayId::parse("123456789012345").unwrap();
        let longest = payload_with_reference(
            &wallet,
            Some(MAX_AMOUNT_SATANG),
            Some(&"~".repeat(MAX_REFERENCE_LEN)),
        )
        .unwrap();
        assert_eq!(longest.len(), 123);
        assert!(parse_payload(&longest).is_ok());
        // And it still fits the QR versions a phone reads easily.
        assert!(qr_png(&longest, 1).is_ok());
    }

    #[test]
    fn parse_reads_tag_62_from_other_generators() {
        let base = "00020101021229370016A000000677010111011300668123456785802TH53037645406500.00";
        // A terminal label only (bill-payment "ref3" style): no reference.
        let terminal = with_crc(&format!("{base}62070703SCB6304"));
        assert_eq!(parse_payload(&terminal).unwrap().reference, None);
        // A bill number, then a reference label.
        let both = with_crc(&format!("{base}6223010612345605097KQ3-XPMA6304"));
        assert_eq!(
            parse_payload(&both).unwrap().reference.as_deref(),
            Some("7KQ3-XPMA")
        );
        // `***` asks the payer's app to prompt: not a reference.
        let prompt = with_crc(&format!("{base}62070503***6304"));
        assert_eq!(parse_payload(&prompt).unwrap().reference, None);
        // An empty reference label breaks EMVCo's rule that a present sub-tag has a value.
        let empty = with_crc(&format!("{base}620405006304"));
        assert_eq!(
            parse_payload(&empty),
            Err(ParsePayloadError::InvalidField("62"))
        );
        // Tag 62 whose sub-field claims more than there is.
        let overrun = with_crc(&format!("{base}62060509KQ6304"));
        assert_eq!(
            parse_payload(&overrun),
            Err(ParsePayloadError::Malformed { at: base.len() + 4 })
        );
    }

    fn open_order(code: &str, amount_satang: i64, placed: &str) -> OpenOrder {
        OpenOrder {
            code: code.to_string(),
            amount_satang,
            placed_at: DateTime::parse_from_rfc3339(placed).unwrap().to_utc(),
        }
    }

    fn codes(orders: Vec<&OpenOrder>) -> Vec<&str> {
        orders.into_iter().map(|o| o.code.as_str()).collect()
    }

    #[test]
    fn a_transfer_matches_the_open_orders_of_its_amount_placed_before_it() {
        let open = [
            open_order("BBBB-2222", 45_000, "2026-06-01T10:05:00+07:00"),
            open_order("AAAA-1111", 45_000, "2026-06-01T09:00:00+07:00"),
            open_order("CCCC-3333", 45_001, "2026-06-01T09:30:00+07:00"),
            open_order("DDDD-4444", 45_000, "2026-06-01T11:00:00+07:00"),
        ];
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        // Two orders ask ฿450.00 and were placed before 10:30: ambiguous, oldest first.
        assert_eq!(
            codes(orders_matching_transfer(
                &open,
                45_000,
                at("2026-06-01T10:30:00+07:00")
            )),
            ["AAAA-1111", "BBBB-2222"]
        );
        // At 09:45 only the first existed.
        assert_eq!(
            codes(orders_matching_transfer(
                &open,
                45_000,
                at("2026-06-01T09:45:00+07:00")
            )),
            ["AAAA-1111"]
        );
        // The bank shows 10:04 for a transfer made right after the 10:05 order: within the slack.
        assert_eq!(
            codes(orders_matching_transfer(
                &open,
                45_000,
                at("2026-06-01T10:04:00+07:00")
            )),
            ["AAAA-1111", "BBBB-2222"]
        );
        // One satang decides.
        assert_eq!(
            codes(orders_matching_transfer(
                &open,
                45_001,
                at("2026-06-01T12:00:00+07:00")
            )),
            ["CCCC-3333"]
        );
        assert!(
            orders_matching_transfer(&open, 44_999, at("2026-06-01T12:00:00+07:00")).is_empty()
        );
    }

    #[test]
    fn qr_images_are_deterministic_png_and_svg() {
        let text = payload(&PromptPayId::parse("0812345678").unwrap(), Some(422)).unwrap();
        let png = qr_png(&text, 4).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(png, qr_png(&text, 4).unwrap());
        let svg = qr_svg(&text).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg, qr_svg(&text).unwrap());
        // A module size of 0 is clamped to 1 pixel rather than giving an empty image.
        assert!(qr_png(&text, 0).unwrap().starts_with(b"\x89PNG"));
        assert_eq!(
            qr_svg(&"9".repeat(8000)),
            Err(PromptPayError::Qr(QrError::DataTooLong))
        );
    }

    #[test]
    fn qr_png_decodes_back_to_its_payload() {
        for (raw, amount) in [
            ("0812345678", None),
            ("0812345678", Some(422)),
            ("1-1111-11111-11-9", Some(123_456)),
            ("123456789012345", Some(MAX_AMOUNT_SATANG)),
        ] {
            let text = payload(&PromptPayId::parse(raw).unwrap(), amount).unwrap();
            for px in [1, 3, 8] {
                let png = qr_png(&text, px).unwrap();
                let grid = qr_reader::modules_from_png(&png, px).unwrap();
                assert_eq!(
                    qr_reader::read(&grid).as_deref(),
                    Ok(text.as_str()),
                    "{raw} {px}px"
                );
            }
        }
    }

    /// Just enough of a QR decoder to read our own PNGs back (versions 1 to 6, level M, an
    /// undamaged picture, no error correction), so the test needs no new dependency.
    /// Layout and tables from ISO/IEC 18004.
    mod qr_reader {
        use image::ImageFormat;

        /// The dark/light modules of the symbol, without the 4-module quiet zone, which must
        /// be all white.
        pub fn modules_from_png(png: &[u8], px: u32) -> Result<Vec<Vec<bool>>, String> {
            let image = image::load_from_memory_with_format(png, ImageFormat::Png)
                .map_err(|e| e.to_string())?
                .to_luma8();
            if image.width() != image.height() || image.width() % px != 0 {
                return Err(format!("odd size {}x{}", image.width(), image.height()));
            }
            let quiet = 4 * px;
            for (x, y, pixel) in image.enumerate_pixels() {
                let inside = (quiet..image.width() - quiet).contains(&x)
                    && (quiet..image.height() - quiet).contains(&y);
                if !inside && pixel.0[0] != 255 {
                    return Err(format!("quiet zone not white at {x},{y}"));
                }
            }
            let n = image.width() / px - 8;
            Ok((0..n)
                .map(|y| {
                    (0..n)
                        .map(|x| {
                            image
                                .get_pixel((x + 4) * px + px / 2, (y + 4) * px + px / 2)
                                .0[0]
                                < 128
                        })
                        .collect()
                })
                .collect())
        }

        /// The text in a byte/alphanumeric/numeric-mode QR symbol.
        pub fn read(grid: &[Vec<bool>]) -> Result<String, String> {
            let n = grid.len();
            if n < 21 || !(n - 17).is_multiple_of(4) || grid.iter().any(|row| row.len() != n) {
                return Err(format!("not a QR symbol: {n} modules"));
            }
            let version = (n - 17) / 4;
            // (data codewords per block, blocks) at level M.
            let (per_block, blocks) = match version {
                1 => (16, 1),
                2 => (28, 1),
                3 => (44, 1),
                4 => (32, 2),
                5 => (43, 2),
                6 => (27, 4),
                _ => return Err(format!("version {version} is beyond this reader")),
            };
            let mask = read_format(grid)?;
            let dark = |x: usize, y: usize| grid[y][x] ^ masked(mask, x, y);

            // Data modules in placement order: two-column strips from the right, zigzagging.
            let mut bits = Vec::new();
            let mut col = n - 1;
            let mut upward = true;
            loop {
                if col == 6 {
                    col -= 1;
                }
                for k in 0..n {
                    let y = if upward { n - 1 - k } else { k };
                    for x in [col, col - 1] {
                        if !is_function(n, version, x, y) {
                            bits.push(dark(x, y));
                        }
                    }
                }
                upward = !upward;
                if col < 2 {
                    break;
                }
                col -= 2;
            }
            let codewords: Vec<u8> = bits
                .chunks_exact(8)
                .map(|byte| byte.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
                .collect();
            // Blocks are interleaved codeword by codeword; all blocks have the same size here.
            let mut data = Vec::with_capacity(per_block * blocks);
            for block in 0..blocks {
                for k in 0..per_block {
                    data.push(codewords[k * blocks + block]);
                }
            }
            decode_segments(&data)
        }

        /// The mask pattern from the format information next to the top-left finder.
        fn read_format(grid: &[Vec<bool>]) -> Result<u32, String> {
            const COORDS: [(usize, usize); 15] = [
                (0, 8),
                (1, 8),
                (2, 8),
                (3, 8),
                (4, 8),
                (5, 8),
                (7, 8),
                (8, 8),
                (8, 7),
                (8, 5),
                (8, 4),
                (8, 3),
                (8, 2),
                (8, 1),
                (8, 0),
            ];
            let read = COORDS
                .iter()
                .fold(0u32, |acc, &(x, y)| (acc << 1) | u32::from(grid[y][x]));
            // Level M is 00 in the two top bits; try each mask's BCH(15,5) code word.
            (0..8)
                .find(|&mask| format_word(mask) == read)
                .ok_or_else(|| format!("format information {read:015b} is not level M"))
        }

        fn format_word(mask: u32) -> u32 {
            let data = mask << 10;
            let mut rem = data;
            for i in (10..15).rev() {
                if rem & (1 << i) != 0 {
                    rem ^= 0x537 << (i - 10);
                }
            }
            (data | rem) ^ 0x5412
        }

        fn masked(mask: u32, x: usize, y: usize) -> bool {
            let (i, j) = (y, x);
            match mask {
                0 => (i + j) % 2 == 0,
                1 => i % 2 == 0,
                2 => j % 3 == 0,
                3 => (i + j) % 3 == 0,
                4 => (i / 2 + j / 3) % 2 == 0,
                5 => (i * j) % 2 + (i * j) % 3 == 0,
                6 => ((i * j) % 2 + (i * j) % 3) % 2 == 0,
                _ => ((i + j) % 2 + (i * j) % 3) % 2 == 0,
            }
        }

        /// Finder patterns with separators and format areas, timing lines, the alignment
        /// pattern (one, for versions 2 to 6) and the dark module are not data.
        fn is_function(n: usize, version: usize, x: usize, y: usize) -> bool {
            let near_left = x < 9;
            let near_top = y < 9;
            let corner = (near_top && (near_left || x >= n - 8)) || (near_left && y >= n - 8);
            let timing = x == 6 || y == 6;
            let c = n - 7;
            let alignment = version >= 2 && x.abs_diff(c) <= 2 && y.abs_diff(c) <= 2;
            corner || timing || alignment
        }

        struct Bits<'a> {
            data: &'a [u8],
            at: usize,
        }

        impl Bits<'_> {
            fn take(&mut self, count: usize) -> Result<u32, String> {
                let mut value = 0;
                for _ in 0..count {
                    let byte = self.data.get(self.at / 8).ok_or("ran out of data")?;
                    value = (value << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
                    self.at += 1;
                }
                Ok(value)
            }

            fn left(&self) -> usize {
                self.data.len() * 8 - self.at
            }
        }

        fn decode_segments(data: &[u8]) -> Result<String, String> {
            const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
            let mut bits = Bits { data, at: 0 };
            let mut out = Vec::new();
            while bits.left() >= 4 {
                match bits.take(4)? {
                    0 => break,
                    0b0001 => {
                        let mut count = bits.take(10)? as usize;
                        while count > 0 {
                            let digits = count.min(3);
                            let value = bits.take([0, 4, 7, 10][digits])?;
                            out.extend(format!("{value:0digits$}").bytes());
                            count -= digits;
                        }
                    }
                    0b0010 => {
                        let mut count = bits.take(9)? as usize;
                        while count >= 2 {
                            let pair = bits.take(11)? as usize;
                            out.push(ALPHANUMERIC[pair / 45]);
                            out.push(ALPHANUMERIC[pair % 45]);
                            count -= 2;
                        }
                        if count == 1 {
                            out.push(ALPHANUMERIC[bits.take(6)? as usize]);
                        }
                    }
                    0b0100 => {
                        let count = bits.take(8)?;
                        for _ in 0..count {
                            out.push(bits.take(8)? as u8);
                        }
                    }
                    mode => return Err(format!("mode {mode:04b} is beyond this reader")),
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
    }
}
