//! Thai and English text: language negotiation, message templates, Thai months and Buddhist-Era years.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};
use serde::Serialize;

/// The language of a response, chosen from `Accept-Language` (English when nothing matches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Th,
}

impl Lang {
    /// Picks Thai or English from an `Accept-Language` value, honouring q-values.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(value) = accept_language else {
            return Lang::default();
        };
        let mut best: Option<(f32, Lang)> = None;
        for (position, part) in value.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("th") => Lang::Th,
                Some("en") => Lang::En,
                _ => continue,
            };
            // Earlier entries win ties, as the header lists preferences in order.
            let q = q - position as f32 * 1e-4;
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    pub fn from_request(req: &HttpRequest) -> Lang {
        Lang::negotiate(
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }

    /// The BCP 47 tag for `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Th => "th",
        }
    }

    /// Chooses between an English and a Thai text.
    pub fn pick<'a>(self, en: &'a str, th: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Th => th,
        }
    }
}

impl FromRequest for Lang {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Lang::from_request(req)))
    }
}

/// A text in both languages.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub en: &'static str,
    pub th: &'static str,
}

impl Text {
    pub fn get(self, lang: Lang) -> &'static str {
        lang.pick(self.en, self.th)
    }
}

/// Replaces `{name}` in a template with the matching parameter; strings are inserted without quotes.
pub fn render(template: &str, params: &[(String, serde_json::Value)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match params.iter().find(|(k, _)| k == name) {
                    Some((_, serde_json::Value::String(s))) => out.push_str(s),
                    Some((_, other)) => out.push_str(&other.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Words a Thai problem text may carry in Latin letters: names and formats that Thai writes
/// this way too. Everything else English in a Thai text is a missing translation
/// (see [`untranslated_words`]).
pub const LATIN_NAMES_IN_THAI: &[&str] = &[
    "JSON",
    "URL",
    "UUID",
    "ASCII",
    "HTTP",
    "LINE",
    "Idempotency-Key",
    "Facebook",
    "TikTok",
    "YouTube",
];

/// Writes `text` as a code span (`` `text` ``): how problem texts in both languages mark a field
/// name, a value to send verbatim, a header or a method and path.
pub fn code_span(text: &str) -> String {
    format!("`{text}`")
}

/// Values to send verbatim as a list of code spans: `` `pickup`, `delivery` ``.
pub fn code_list<I, S>(values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    values
        .into_iter()
        .map(|v| code_span(v.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The words of `text` that stand outside code spans and outside paths, URLs and media types
/// (whitespace-separated pieces holding a `/`), split at anything but letters, digits, `_` and `-`.
fn prose_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    // Even pieces lie outside backticks; an unmatched backtick leaves the rest outside.
    let pieces: Vec<&str> = text.split('`').collect();
    let balanced = pieces.len() % 2 == 1;
    for (i, piece) in pieces.iter().enumerate() {
        let inside = i % 2 == 1 && (balanced || i + 1 < pieces.len());
        if inside {
            continue;
        }
        for token in piece.split_whitespace().filter(|t| !t.contains('/')) {
            words.extend(
                token
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .filter(|w| !w.is_empty()),
            );
        }
    }
    words
}

/// English left in a Thai text: words with a run of three or more ASCII letters, other than
/// code spans, paths, URLs, media types and [`LATIN_NAMES_IN_THAI`]. Tests hold every Thai
/// problem text to an empty answer.
pub fn untranslated_words(thai: &str) -> Vec<String> {
    prose_words(thai)
        .into_iter()
        .filter(|w| !LATIN_NAMES_IN_THAI.contains(w))
        .filter(|w| {
            w.split(|c: char| !c.is_ascii_alphabetic())
                .any(|run| run.len() >= 3)
        })
        .map(str::to_string)
        .collect()
}

/// Identifiers (`pending_payment`) standing in an English text where a label belongs: words of
/// lower-case letters joined by `_`, outside code spans, paths and media types.
pub fn bare_identifiers(english: &str) -> Vec<String> {
    prose_words(english)
        .into_iter()
        .flat_map(|w| w.split('-'))
        .filter(|w| {
            let parts: Vec<&str> = w.split('_').collect();
            parts.len() > 1
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        })
        .map(str::to_string)
        .collect()
}

/// Thai month names, January first.
pub const THAI_MONTHS: [&str; 12] = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
];

/// Abbreviated Thai month names, January first.
pub const THAI_MONTHS_SHORT: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];

/// English month names, January first.
pub const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The Buddhist-Era year of a Common-Era year (2026 → 2569).
/// A Bangkok date and time for people, in both languages: "15 Dec 2026, 09:00" and
/// "15 ธ.ค. 2569 เวลา 09:00 น." (Buddhist Era).
pub fn date_time_both(at: chrono::DateTime<chrono::FixedOffset>) -> (String, String) {
    use chrono::{Datelike, Timelike};
    let month = at.month0() as usize;
    let en = format!(
        "{} {} {}, {:02}:{:02}",
        at.day(),
        &ENGLISH_MONTHS[month][..3],
        at.year(),
        at.hour(),
        at.minute()
    );
    let th = format!(
        "{} {} {} เวลา {:02}:{:02} น.",
        at.day(),
        THAI_MONTHS_SHORT[month],
        buddhist_year(at.year()),
        at.hour(),
        at.minute()
    );
    (en, th)
}

pub fn buddhist_year(ce_year: i32) -> i32 {
    ce_year + 543
}

/// The Thai fiscal year (B.E.) a date falls in: 1 October to 30 September, named by the B.E.
/// year it ends in (Budget Procedures Act B.E. 2561): 2025-10-01 and 2026-09-30 are both 2569.
pub fn fiscal_year(day: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let ends = if day.month() >= 10 {
        day.year() + 1
    } else {
        day.year()
    };
    buddhist_year(ends)
}

/// The Thai name of a month numbered 1–12.
pub fn thai_month(month: u32) -> &'static str {
    THAI_MONTHS[((month.clamp(1, 12)) - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn negotiates_by_quality_and_order() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("th")), Lang::Th);
        assert_eq!(Lang::negotiate(Some("th-TH,th;q=0.9,en;q=0.8")), Lang::Th);
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9,th;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr, th;q=0.5")), Lang::Th);
        assert_eq!(Lang::negotiate(Some("th;q=0, en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(Some("th, en")), Lang::Th);
    }

    #[test]
    fn renders_templates() {
        let params = vec![
            ("n".to_string(), json!(3)),
            ("name".to_string(), json!("ลำไย")),
        ];
        assert_eq!(render("{n} kg of {name}", &params), "3 kg of ลำไย");
        assert_eq!(render("{missing} {", &params), "{missing} {");
    }

    #[test]
    fn thai_calendar_labels() {
        assert_eq!(buddhist_year(2026), 2569);
        assert_eq!(thai_month(6), "มิถุนายน");
        assert_eq!(thai_month(12), "ธันวาคม");
    }

    #[test]
    fn finds_english_left_in_thai_texts() {
        assert!(untranslated_words("รูปแบบ JSON ไม่ถูกต้อง (บรรทัด 1 ตำแหน่ง 5)").is_empty());
        assert!(untranslated_words("ต้องเป็น `true` หรือ `false`").is_empty());
        assert!(untranslated_words("กรุณาส่งเนื้อหาคำขอเป็น application/json").is_empty());
        assert!(untranslated_words("ดูได้ที่ /docs หรือ https://example.org/a").is_empty());
        assert!(
            untranslated_words("ส่วนหัว Idempotency-Key (UUID) เวลา 2026-07-01T09:00:00+07:00")
                .is_empty()
        );
        assert_eq!(
            untranslated_words("รายการในสถานะ pending_payment: expected value"),
            vec!["pending_payment", "expected", "value"]
        );
        assert_eq!(untranslated_words("เลข e-wallet"), vec!["e-wallet"]);
        // An unmatched backtick does not hide the rest.
        assert_eq!(untranslated_words("ค่า `abc"), vec!["abc"]);
        assert_eq!(
            untranslated_words("json"),
            vec!["json"],
            "names keep their case"
        );
    }

    #[test]
    fn finds_identifiers_standing_for_labels_in_english() {
        assert_eq!(
            bare_identifiers("Something that is pending_payment cannot become handed_over."),
            vec!["pending_payment", "handed_over"]
        );
        assert!(bare_identifiers("A LAO with this `dla_code` already exists.").is_empty());
        assert!(bare_identifiers("No endpoint answers GET /v1/no_such_thing.").is_empty());
        assert!(
            bare_identifiers("Send application/x-www-form-urlencoded; see RFC_1234.").is_empty()
        );
        assert_eq!(code_list(["pickup", "delivery"]), "`pickup`, `delivery`");
    }
}
