//! Printable parcel labels: an HTML page per batch, one label per order, for a 100 × 150 mm
//! thermal printer (the size Thai carriers' label printers take) or four to an A4 sheet. Each
//! label carries the recipient, the sender (the producer, on behalf of the LAO), the order code
//! as a QR code (what staff scan at a pickup point), the tracking number as a Code 128 barcode
//! once known (the symbology carriers print on S10 labels), and the items. An order of several
//! boxes gets a label on each (`กล่อง 1/3` …).

use serde::Deserialize;
use utoipa::ToSchema;

use super::batches::{Parcel, items_line};
use super::model::BatchRow;
use crate::laos::model::LaoRow;

/// Page layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelFormat {
    /// One 100 × 150 mm label per page.
    #[default]
    Thermal,
    /// Four labels (105 × 148.5 mm) on each A4 sheet.
    A4,
}

fn esc(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

fn attr(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// The order code's QR as a PNG data URI.
fn qr_data_uri(code: &str) -> String {
    crate::promptpay::qr_png_data_uri(code, 6).unwrap_or_default()
}

/// A Code 128 (set B) barcode as inline SVG; `None` for text Code 128 cannot carry.
pub fn barcode_svg(number: &str) -> Option<String> {
    if !number.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let code = barcoders::sym::code128::Code128::new(format!("\u{0181}{number}")).ok()?;
    let svg = barcoders::generators::svg::SVG::new(60)
        .xmlns("http://www.w3.org/2000/svg".to_string())
        .generate(code.encode())
        .ok()?;
    // Stretch to the label's width; the bars keep their proportions horizontally.
    Some(svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"none\" ",
            attr(number)
        ),
        1,
    ))
}

/// The label of box `number` of `parcel`'s boxes.
fn label(batch: &BatchRow, lao: &LaoRow, parcel: &Parcel, number: i32) -> String {
    let order = &parcel.order;
    let (recipient, phone, address) = match &order.delivery.address {
        Some(a) => (a.recipient_name.clone(), a.phone.clone(), a.one_line_th()),
        None => (
            order.buyer.name.clone(),
            order.buyer.phone.clone(),
            order
                .delivery
                .pickup_point
                .as_ref()
                .map(|p| format!("รับที่ {} {}", p.name, p.address))
                .unwrap_or_default(),
        ),
    };
    let lao_address = [lao.address.as_deref(), lao.postal_code.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let sender_lao = if lao_address.is_empty() {
        lao.full_name_th()
    } else {
        format!("{} {lao_address}", lao.full_name_th())
    };
    let tracking = match parcel.shipment.tracking_number.as_deref() {
        Some(number) => {
            let bars = barcode_svg(number).unwrap_or_default();
            format!(
                "<figure class=\"barcode\" data-tracking=\"{}\">{bars}<figcaption>{}</figcaption></figure>",
                attr(number),
                esc(number)
            )
        }
        None => "<p class=\"pending\">เลขพัสดุ: รอบันทึก</p>".to_string(),
    };
    let ship_by = parcel
        .ship_by
        .map(|d| format!("<p class=\"fresh\">สินค้าสด ส่งภายใน {d}</p>"))
        .unwrap_or_default();
    format!(
        r#"<section class="label" data-order-code="{code_attr}">
<header><strong>{carrier}</strong> · ส่ง {date} · รอบ #{batch_id} · กล่อง {number}/{parcels}</header>
<div class="to"><h2>ผู้รับ</h2><p class="name">{recipient}</p><p>โทร {phone}</p><p class="address">{address}</p></div>
<div class="from"><h2>ผู้ส่ง</h2><p>{sender} โทร {sender_phone}</p><p>ในนาม {sender_lao}</p></div>
<div class="codes"><figure class="qr"><img src="{qr}" alt="คิวอาร์โค้ดรหัสคำสั่งซื้อ {code}" data-code="{code_attr}" width="120" height="120"><figcaption>{code}</figcaption></figure>{tracking}</div>
<div class="items"><h2>สินค้า</h2><p>{items}</p>{ship_by}</div>
</section>"#,
        code_attr = attr(&order.code),
        code = esc(&order.code),
        carrier = esc(batch.carrier.name_th()),
        date = batch.dispatch_date,
        batch_id = batch.id,
        parcels = parcel.shipment.parcels,
        recipient = esc(&recipient),
        phone = esc(&crate::spreadsheet::national_phone(&phone)),
        address = esc(&address),
        sender = esc(&parcel.sender_name),
        sender_phone = esc(&crate::spreadsheet::national_phone(&parcel.sender_phone)),
        sender_lao = esc(&sender_lao),
        qr = qr_data_uri(&order.code),
        items = esc(&items_line(parcel)),
    )
}

const STYLE: &str = r#"
* { box-sizing: border-box; }
body { margin: 0; font-family: "Sarabun", "Noto Sans Thai", "Tahoma", sans-serif; color: #000; }
.label { width: 100mm; height: 150mm; padding: 4mm; overflow: hidden; display: flex; flex-direction: column; gap: 2mm; border: 0.2mm dashed #999; }
.label header { font-size: 9pt; border-bottom: 0.4mm solid #000; padding-bottom: 1mm; }
.label h2 { font-size: 8pt; margin: 0; text-transform: uppercase; }
.label p { margin: 0; font-size: 9pt; }
.to .name { font-size: 14pt; font-weight: bold; }
.to .address { font-size: 11pt; }
.from { border-top: 0.2mm solid #000; padding-top: 1mm; }
.codes { display: flex; gap: 3mm; align-items: center; }
.codes figure { margin: 0; text-align: center; font-size: 9pt; }
.qr img { width: 28mm; height: 28mm; image-rendering: pixelated; }
.barcode { flex: 1; } /* Code 128 wants a quiet zone of 10 modules each side: the padding. */
.barcode svg { width: 100%; height: 16mm; padding: 0 4mm; background: #fff; }
.items { border-top: 0.2mm solid #000; padding-top: 1mm; flex: 1; }
.fresh { font-weight: bold; }
.pending { font-size: 9pt; }
"#;

/// The label page of a batch.
pub fn page(batch: &BatchRow, lao: &LaoRow, parcels: &[Parcel], format: LabelFormat) -> String {
    // One label per box: a parcel of three boxes gets three labels, 1/3 to 3/3.
    let labels: Vec<String> = parcels
        .iter()
        .flat_map(|p| (1..=p.shipment.parcels.max(1)).map(move |n| label(batch, lao, p, n)))
        .collect();
    let (page_css, body) = match format {
        LabelFormat::Thermal => (
            "@page { size: 100mm 150mm; margin: 0; } .label { page-break-after: always; border: 0; }",
            labels.join("\n"),
        ),
        LabelFormat::A4 => (
            "@page { size: A4; margin: 0; } .sheet { width: 210mm; height: 297mm; display: grid; grid-template-columns: 105mm 105mm; grid-template-rows: 148.5mm 148.5mm; page-break-after: always; } .label { width: 105mm; height: 148.5mm; }",
            labels
                .chunks(4)
                .map(|four| format!("<div class=\"sheet\">{}</div>", four.join("\n")))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    format!(
        "<!doctype html>\n<html lang=\"th\"><head><meta charset=\"utf-8\"><title>ใบปะหน้าพัสดุ รอบส่ง #{id} ({date})</title><style>{STYLE}{page_css}</style></head><body>\n{body}\n</body></html>\n",
        id = batch.id,
        date = batch.dispatch_date,
    )
}
