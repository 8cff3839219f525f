//! Carrier manifests: a batch as the CSV a carrier's bulk-order upload takes, one profile per
//! carrier, written by the one spreadsheet writer (UTF-8 with BOM, formulas neutralised).
//!
//! # Profiles, their sources and what is assumed
//! - `flash`: Flash Express's "Order Template" import, 24 columns in its order and with its
//!   exact header texts (English, a line break, Thai; full-width brackets and the template's
//!   own spelling kept), as open-source exporters that fill the real template reproduce it.
//!   The address is one cell (house, ต., อ., จ.) beside the postal code: the template has no
//!   separate area columns. Weight in kilograms; COD `0` (khongdee orders are paid before
//!   dispatch); `Product_type` `Standard`, `Payment method` `payment by sender`.
//! - `kerry`: Kerry Express (KEX) bulk shipment template, 15 bilingual columns
//!   (`*ชื่อผู้รับ/Recipient Name` …), as checked against the real template by an open-source
//!   exporter. One address cell, postal code apart, weight in kg, COD empty.
//! - `thailand_post`: no official bulk template was found to copy; assumed columns in Thai with
//!   the area as separate Thai names (ตำบล/แขวง, อำเภอ/เขต, จังหวัด), as Thailand Post's own forms
//!   ask, and weight in **grams** (Thailand Post prices domestic parcels by the gram).
//! - `jt`: J&T Express Thailand's template was not found either; assumed columns in Thai with the
//!   area split in province, district and subdistrict (as J&T's templates elsewhere do), weight
//!   in kg.
//! - `generic`: every field khongdee has, with bilingual headers, for a local driver or a
//!   carrier not listed (and for the LAO's own records).
//!
//! Carriers' templates change: a profile is a list of columns in one function; compare it with
//! a freshly downloaded template when a carrier refuses a file.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::batches::{Parcel, items_line};
use super::model::Carrier;
use crate::spreadsheet::{Cell, SheetError, SheetWriter};

/// A manifest layout.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Deserialize,
    Serialize,
    ToSchema,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Profile {
    ThailandPost,
    Flash,
    Kerry,
    Jt,
    Generic,
}

impl Profile {
    /// The batch carrier's own profile (a local driver and pickup points: generic).
    pub fn of(carrier: Carrier) -> Profile {
        match carrier {
            Carrier::ThailandPost => Profile::ThailandPost,
            Carrier::Flash => Profile::Flash,
            Carrier::Kerry => Profile::Kerry,
            Carrier::Jt => Profile::Jt,
            Carrier::Local | Carrier::Pickup => Profile::Generic,
        }
    }

    /// The header row, in the carrier's order.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Profile::Flash => &[
                "Customer_order_number\n(เลขออเดอร์ของลูกค้า)",
                "*Consignee_name\n(ชื่อผู้รับ)",
                "*Address\n(ทิ่อยู่)",
                "*Postal_code\n(รหัสไปรษณีย์)",
                "*Phone_number\n(เบอร์โทรศัพท์)",
                "Phone_number2\n(เบอร์โทรศัพท์)",
                "Number of parcels \n（จำนวนพัสดุ）",
                "COD\n(ยอดเรียกเก็บ)",
                "Item description1(Name|Size/Weight|color|quantity)",
                "Item description2(Name|Size/Weight|color|quantity)",
                "Item description3(Name|Size/Weight|color|quantity)",
                "Item description4(Name|Size/Weight|color|quantity)",
                "Item description5(Name|Size/Weight|color|quantity)",
                "Item_type\n(ประเภทสินค้า)",
                "*Weight_kg\n(น้ำหนัก)",
                "Length\n(ยาว)",
                "Width\n(กว้าง)",
                "Height\n(สูง)",
                "Declared_value\n(มูลค่าสินค้าที่ระบุโดยลูกค้า)",
                "Box_shield",
                "Document return service\n(บริการส่งคืนเอกสาร)",
                "*Product_type         （ประเภทสินค้า）",
                "*Payment method\n（วิธีชำระเงิน）",
                "Remark\n(หมายเหตุ)",
            ],
            Profile::Kerry => &[
                "No",
                "*ชื่อผู้รับ/Recipient Name",
                "*เบอร์ผู้รับ/Mobile No.",
                "*ที่อยู่/Address",
                "*รหัสไปรษณีย์/Postal code",
                "COD Amt (Baht)",
                "ชื่อสินค้า/Product name",
                "น้ำหนัก/Weight(kg)",
                "กว้าง/Width(cm)",
                "ยาว/Length(cm)",
                "สูง/Height(cm)",
                "Remark",
                "Ref #1",
                "Ref #2",
                "Sender Ref",
            ],
            Profile::ThailandPost => &[
                "เลขอ้างอิง",
                "ชื่อผู้รับ",
                "เบอร์โทรศัพท์ผู้รับ",
                "ที่อยู่",
                "ตำบล/แขวง",
                "อำเภอ/เขต",
                "จังหวัด",
                "รหัสไปรษณีย์",
                "รายละเอียดสิ่งของ",
                "น้ำหนัก (กรัม)",
                "จำนวนชิ้น",
                "เก็บเงินปลายทาง (บาท)",
                "หมายเหตุ",
            ],
            Profile::Jt => &[
                "เลขที่คำสั่งซื้อ",
                "ชื่อผู้รับ",
                "เบอร์โทรผู้รับ",
                "ที่อยู่ผู้รับ",
                "ตำบล",
                "อำเภอ",
                "จังหวัด",
                "รหัสไปรษณีย์",
                "ชื่อสินค้า",
                "น้ำหนัก (กก.)",
                "จำนวนพัสดุ",
                "ยอดเก็บเงินปลายทาง",
                "หมายเหตุ",
            ],
            Profile::Generic => &[
                "เลขอ้างอิง / Reference",
                "ชื่อผู้รับ / Recipient",
                "โทรศัพท์ / Phone",
                "ที่อยู่ / Address line",
                "ตำบล/แขวง / Subdistrict",
                "อำเภอ/เขต / District",
                "จังหวัด / Province",
                "รหัสไปรษณีย์ / Postal code",
                "สินค้า / Items",
                "น้ำหนัก (กก.) / Weight (kg)",
                "จำนวนพัสดุ / Parcels",
                "เก็บเงินปลายทาง (บาท) / COD (baht)",
                "เลขพัสดุ / Tracking number",
                "ส่งภายใน / Ship by",
                "หมายเหตุ / Remark",
            ],
        }
    }
}

/// The fields of a parcel every profile draws on.
struct Fields {
    reference: String,
    recipient: String,
    phone: String,
    address_line: String,
    subdistrict: String,
    district: String,
    province: String,
    postal_code: String,
    /// House, ต., อ., จ. in one line (without the postal code).
    full_address: String,
    items: String,
    weight_grams: Option<i64>,
    parcels: i64,
    tracking: Option<String>,
    ship_by: Option<NaiveDate>,
    remark: String,
}

fn fields(parcel: &Parcel) -> Fields {
    let order = &parcel.order;
    let (recipient, phone) = match &order.delivery.address {
        Some(a) => (a.recipient_name.clone(), a.phone.clone()),
        None => (order.buyer.name.clone(), order.buyer.phone.clone()),
    };
    let mut remark = Vec::new();
    if let Some(by) = parcel.ship_by {
        remark.push(format!("สินค้าสด ส่งภายใน {by}"));
    }
    if let Some(note) = order.note.as_deref().filter(|n| !n.trim().is_empty()) {
        remark.push(note.trim().to_string());
    }
    let (address_line, subdistrict, district, province, postal_code, full_address) =
        match &order.delivery.address {
            Some(a) => {
                let line = a.one_line_th();
                let full = line
                    .strip_suffix(&a.postal_code)
                    .map(str::trim_end)
                    .unwrap_or(&line)
                    .to_string();
                (
                    a.address_line.clone(),
                    a.subdistrict_name_th.clone(),
                    a.district_name_th.clone(),
                    a.province_name_th.clone(),
                    a.postal_code.clone(),
                    full,
                )
            }
            None => {
                let point = order
                    .delivery
                    .pickup_point
                    .as_ref()
                    .map(|p| format!("{} {}", p.name, p.address))
                    .unwrap_or_default();
                (
                    point.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    point,
                )
            }
        };
    Fields {
        reference: order.code.clone(),
        recipient,
        phone,
        address_line,
        subdistrict,
        district,
        province,
        postal_code,
        full_address,
        items: items_line(parcel),
        weight_grams: parcel.weight_grams,
        parcels: i64::from(parcel.shipment.parcels),
        tracking: parcel.shipment.tracking_number.clone(),
        ship_by: parcel.ship_by,
        remark: remark.join(" · "),
    }
}

/// Kilograms to three decimals, without trailing zeros: `1500` g → `1.5`.
pub fn kilograms(grams: i64) -> String {
    let text = format!("{}.{:03}", grams / 1000, (grams % 1000).abs());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn kg_cell(grams: Option<i64>) -> Cell {
    grams.map_or(Cell::Empty, |g| Cell::Text(kilograms(g)))
}

/// A text cell on one line: carriers' bulk uploads read one row per line, so tabs and line
/// breaks people typed (a name, a note) become spaces.
fn text(s: &str) -> Cell {
    if s.is_empty() {
        return Cell::Empty;
    }
    let one_line: String = s
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    Cell::Text(one_line)
}

fn row(profile: Profile, n: usize, f: &Fields) -> Vec<Cell> {
    match profile {
        Profile::Flash => vec![
            text(&f.reference),
            text(&f.recipient),
            text(&f.full_address),
            text(&f.postal_code),
            Cell::phone(f.phone.clone()),
            Cell::Empty,
            Cell::Integer(f.parcels),
            Cell::Integer(0),
            text(&f.items),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            text("อื่นๆ"),
            kg_cell(f.weight_grams),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            text("Standard"),
            text("payment by sender"),
            text(&f.remark),
        ],
        Profile::Kerry => vec![
            Cell::Integer(n as i64),
            text(&f.recipient),
            Cell::phone(f.phone.clone()),
            text(&f.full_address),
            text(&f.postal_code),
            Cell::Empty,
            text(&f.items),
            kg_cell(f.weight_grams),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            text(&f.remark),
            text(&f.reference),
            Cell::Empty,
            Cell::Empty,
        ],
        Profile::ThailandPost => vec![
            text(&f.reference),
            text(&f.recipient),
            Cell::phone(f.phone.clone()),
            text(&f.address_line),
            text(&f.subdistrict),
            text(&f.district),
            text(&f.province),
            text(&f.postal_code),
            text(&f.items),
            f.weight_grams.map_or(Cell::Empty, Cell::Integer),
            Cell::Integer(f.parcels),
            Cell::Empty,
            text(&f.remark),
        ],
        Profile::Jt => vec![
            text(&f.reference),
            text(&f.recipient),
            Cell::phone(f.phone.clone()),
            text(&f.address_line),
            text(&f.subdistrict),
            text(&f.district),
            text(&f.province),
            text(&f.postal_code),
            text(&f.items),
            kg_cell(f.weight_grams),
            Cell::Integer(f.parcels),
            Cell::Empty,
            text(&f.remark),
        ],
        Profile::Generic => vec![
            text(&f.reference),
            text(&f.recipient),
            Cell::phone(f.phone.clone()),
            text(&f.address_line),
            text(&f.subdistrict),
            text(&f.district),
            text(&f.province),
            text(&f.postal_code),
            text(&f.items),
            kg_cell(f.weight_grams),
            Cell::Integer(f.parcels),
            Cell::Empty,
            f.tracking.as_deref().map_or(Cell::Empty, text),
            f.ship_by.map_or(Cell::Empty, Cell::Date),
            text(&f.remark),
        ],
    }
}

/// The manifest file of a batch.
pub fn write(profile: Profile, parcels: &[Parcel]) -> Result<Vec<u8>, SheetError> {
    let mut sheet = SheetWriter::new(profile.headers().iter().copied());
    for (i, parcel) in parcels.iter().enumerate() {
        sheet.row(row(profile, i + 1, &fields(parcel)))?;
    }
    sheet.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn kilograms_read_as_people_write_them() {
        assert_eq!(kilograms(1500), "1.5");
        assert_eq!(kilograms(5000), "5");
        assert_eq!(kilograms(250), "0.25");
        assert_eq!(kilograms(1), "0.001");
    }

    #[test]
    fn every_profile_has_its_columns() {
        for profile in Profile::iter() {
            let n = profile.headers().len();
            assert!(n >= 13, "{profile}: {n}");
        }
        assert_eq!(Profile::Flash.headers().len(), 24);
        assert_eq!(Profile::Kerry.headers().len(), 15);
    }
}
