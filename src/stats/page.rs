//! The report an officer prints: one HTML page in Thai, A4, with the programme's table for an
//! area and a period, the reporting coverage against the target, and a bar chart (inline SVG)
//! of sales and revenue by the groups of the table. No scripts, no outside resources: it prints
//! and saves as it is.

use super::feed::{RowView, SalesReport};
use super::reports::Coverage;

/// Text for HTML content and attribute values.
fn esc(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// `1,234,567` for people.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `1,234.50` baht for people.
fn baht(satang: i64) -> String {
    let text = crate::spreadsheet::baht(satang);
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let whole: i64 = whole.parse().unwrap_or(0);
    let sign = if satang < 0 && whole == 0 { "-" } else { "" };
    format!("{sign}{}.{frac}", thousands(whole))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// The bar chart: revenue (and sales) of each row, longest first, at most 30 rows.
fn chart(rows: &[&RowView]) -> String {
    let mut rows: Vec<&&RowView> = rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.figures.revenue_satang));
    rows.truncate(30);
    let max_revenue = rows
        .iter()
        .map(|r| r.figures.revenue_satang)
        .max()
        .unwrap_or(0)
        .max(1);
    let max_sales = rows
        .iter()
        .map(|r| r.figures.sales)
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h) = (220.0, 420.0, 22.0);
    let height = row_h * rows.len() as f64 + 30.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"chart-title\">\
         <title id=\"chart-title\">รายรับและจำนวนครั้งที่ขายได้ของแต่ละพื้นที่</title>",
        w = label_w + bar_w + 120.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let revenue = r.figures.revenue_satang.max(0) as f64 / max_revenue as f64 * bar_w;
        let sales = r.figures.sales.max(0) as f64 / max_sales as f64 * bar_w;
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"11\">{name}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{revenue:.1}\" height=\"9\" fill=\"#2e7d32\"><title>รายรับ {rb} บาท</title></rect>\
             <rect x=\"{label_w}\" y=\"{y2}\" width=\"{sales:.1}\" height=\"6\" fill=\"#f9a825\"><title>ขายได้ {s} ครั้ง</title></rect>\
             <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"10\">{rb} บาท · {s} ครั้ง</text>",
            lx = label_w - 6.0,
            ty = y + 10.0,
            name = esc(&r.name_th),
            y2 = y + 10.0,
            rb = baht(r.figures.revenue_satang),
            s = thousands(r.figures.sales),
            tx = label_w + revenue.max(sales) + 6.0,
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{label_w}\" y=\"12\" font-size=\"10\"><tspan fill=\"#2e7d32\">■ รายรับ</tspan> <tspan fill=\"#f9a825\">■ จำนวนครั้งที่ขายได้</tspan></text></svg>"
    ));
    svg
}

/// The page for a report and, where the period lies in one fiscal year, its coverage.
pub fn render(report: &SalesReport, coverage: Option<&Coverage>) -> String {
    let title = format!(
        "รายงานผลการดำเนินงานตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา {}",
        report.name_th
    );
    let mut html = format!(
        "<!doctype html><html lang=\"th\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>\
         @page {{ size: A4; margin: 15mm; }}\
         body {{ font-family: 'Sarabun', 'TH Sarabun New', 'Noto Sans Thai', 'Leelawadee UI', sans-serif; font-size: 11pt; color: #111; max-width: 190mm; margin: 0 auto; }}\
         h1 {{ font-size: 15pt; margin: 0 0 2mm; }} h2 {{ font-size: 12pt; margin: 6mm 0 2mm; }}\
         table {{ width: 100%; border-collapse: collapse; }} th, td {{ border: 1px solid #999; padding: 1.2mm 2mm; }}\
         th {{ background: #e8f5e9; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}\
         tfoot td {{ font-weight: bold; background: #f5f5f5; }} .meta {{ color: #444; }}\
         .ok {{ color: #1b5e20; }} .short {{ color: #b71c1c; }} tr {{ page-break-inside: avoid; }}\
         </style></head><body><main>\
         <h1>{t}</h1><p class=\"meta\">ช่วงเวลา {p} · ข้อมูลจากระบบ khongdee</p>",
        t = esc(&title),
        p = esc(&report.period.label_th),
    );
    if let Some(c) = coverage {
        let class = |ok: bool| if ok { "ok" } else { "short" };
        html.push_str(&format!(
            "<h2>การรายงานของ อปท. ปีงบประมาณ {fy} (ณ {asof})</h2>\
             <p>อปท. ทั้งหมด {n} แห่ง · ส่งรายงานแล้ว {s} แห่ง (<span class=\"{sc}\">{sp}</span>) · \
             รับรองแล้ว {a} แห่ง (<span class=\"{ac}\">{ap}</span>) · เป้าหมาย {tp} ภายใน {due}</p>",
            fy = c.fiscal_year,
            asof = esc(&super::periods::thai_date(c.as_of)),
            n = thousands(c.laos),
            s = thousands(c.submitted),
            sc = class(c.submitted_meets_target),
            sp = percent(c.submitted_share),
            a = thousands(c.accepted),
            ac = class(c.accepted_meets_target),
            ap = percent(c.accepted_share),
            tp = percent(c.target_share),
            due = esc(&super::periods::thai_date(c.target_due)),
        ));
    }
    let rows: Vec<&RowView> = report.rows.iter().collect();
    let by_lao = rows.iter().any(|r| r.lao_id.is_some());
    html.push_str("<h2>ผลการดำเนินงาน</h2><table><thead><tr>");
    if by_lao {
        html.push_str("<th scope=\"col\">อำเภอ</th><th scope=\"col\">อปท.</th>");
    } else {
        html.push_str("<th scope=\"col\">พื้นที่</th>");
    }
    html.push_str(
        "<th scope=\"col\">ลิงก์เนื้อหา</th><th scope=\"col\">จำนวนครั้งที่ขายได้ผ่านออนไลน์</th>\
         <th scope=\"col\">รายรับ (บาท)</th><th scope=\"col\">จำนวนคนที่ได้รับประโยชน์</th></tr></thead><tbody>",
    );
    for r in &rows {
        html.push_str("<tr>");
        if by_lao {
            html.push_str(&format!(
                "<td>{}</td><td>{}</td>",
                esc(r.district_name_th.as_deref().unwrap_or("")),
                esc(&r.name_th)
            ));
        } else {
            html.push_str(&format!("<td>{}</td>", esc(&r.name_th)));
        }
        html.push_str(&format!(
            "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            thousands(r.figures.content_links.unwrap_or(0)),
            thousands(r.figures.sales),
            baht(r.figures.revenue_satang),
            thousands(r.figures.beneficiaries),
        ));
    }
    let t = &report.total;
    html.push_str(&format!(
        "</tbody><tfoot><tr><td{span}>รวม</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></tfoot></table>",
        thousands(t.content_links.unwrap_or(0)),
        thousands(t.sales),
        baht(t.revenue_satang),
        thousands(t.beneficiaries),
        span = if by_lao { " colspan=\"2\"" } else { "" },
    ));
    html.push_str("<h2>รายรับและจำนวนครั้งที่ขายได้</h2>");
    html.push_str(&chart(&rows));
    if let Some(c) = coverage.filter(|c| !c.not_reported.is_empty()) {
        html.push_str(&format!(
            "<h2>อปท. ที่ยังไม่ส่งรายงาน ({} แห่ง)</h2><ul>",
            thousands(c.not_reported.len() as i64)
        ));
        for u in c.not_reported.iter().take(500) {
            html.push_str(&format!(
                "<li>{} (อำเภอ{})</li>",
                esc(&u.name_th),
                esc(&u.district_name_th)
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str(
        "<p class=\"meta\">จำนวนคนที่ได้รับประโยชน์ นับผู้ผลิตที่ขายได้แต่ละคนครั้งเดียว · \
         รายรับไม่รวมค่าจัดส่ง · การคืนเงินหักในเดือนที่คืน</p></main></body></html>",
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_thai_officers_write_them() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(baht(123456789), "1,234,567.89");
        assert_eq!(baht(-50), "-0.50");
        assert_eq!(
            esc("<b>\"อบต.\"</b>"),
            "&lt;b&gt;&quot;อบต.&quot;&lt;/b&gt;"
        );
    }
}
