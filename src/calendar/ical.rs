//! iCalendar (RFC 5545) feeds that calendar apps subscribe to: one all-day event per season,
//! recurring yearly unless the entry is for one year. Line folding and text escaping are the
//! `icalendar` crate's.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use icalendar::{Calendar, Component, Event, EventLike, Property};

use super::model::EntryJoined;
use crate::clock::to_bangkok;

/// The first day of a month, and the first day of the month after another (for DTEND, which
/// is exclusive).
fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

fn first_after(year: i32, month: u32) -> NaiveDate {
    if month == 12 {
        first_of(year + 1, 1)
    } else {
        first_of(year, month + 1)
    }
}

fn ics_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Text values never carry CR; line breaks become `\n` through the crate's escaping.
fn clean(text: &str) -> String {
    text.replace('\r', "")
}

/// A feed of the given entries. `title` names the calendar in the subscriber's app.
pub fn feed(title: &str, entries: &[EntryJoined]) -> String {
    // Years in which a district's crop has its own entry: the every-year event skips them.
    let overridden: HashSet<(String, i64, i32)> = entries
        .iter()
        .filter_map(|(e, ..)| e.year.map(|y| (e.district_code.clone(), e.crop_id, y)))
        .collect();

    let mut calendar = Calendar::empty();
    calendar.append_property(Property::new("VERSION", "2.0"));
    calendar.append_property(Property::new("PRODID", "-//khongdee//Harvest calendar//TH"));
    calendar.append_property(Property::new("CALSCALE", "GREGORIAN"));
    calendar.append_property(Property::new("METHOD", "PUBLISH"));
    calendar.name(&clean(title));
    calendar.append_property(Property::new("X-WR-TIMEZONE", "Asia/Bangkok"));
    calendar.append_property(
        Property::new("REFRESH-INTERVAL", "PT12H")
            .add_parameter("VALUE", "DURATION")
            .done(),
    );
    calendar.append_property(Property::new("X-PUBLISHED-TTL", "PT12H"));

    for (entry, crop, district, province) in entries {
        // Recurring events start in the year the entry was made; one-year entries in their year.
        let base_year = entry
            .year
            .unwrap_or_else(|| to_bangkok(entry.created_at).year());
        let start = first_of(base_year, entry.start());
        let end_year = if entry.end() < entry.start() {
            base_year + 1
        } else {
            base_year
        };
        let end = first_after(end_year, entry.end());
        let (season_th, season_en) = super::months::range_label(entry.start(), entry.end());

        let mut summary = format!(
            "ฤดูเก็บเกี่ยว{} · อ.{} จ.{}",
            crop.name_th, district.name_th, province.name_th
        );
        if let Some(year) = entry.year {
            summary.push_str(&format!(" (ปี {})", crate::i18n::buddhist_year(year)));
        }
        let mut description = vec![
            format!(
                "{} ที่อำเภอ{} จังหวัด{}: {season_th}",
                crop.name_th, district.name_th, province.name_th
            ),
            format!(
                "{} harvest in {}, {}: {season_en}",
                crop.name_en, district.name_en, province.name_en
            ),
        ];
        if let Some((ps, pe)) = entry.peak() {
            let (peak_th, peak_en) = super::months::range_label(ps, pe);
            description.push(format!("ช่วงผลผลิตออกมาก / peak: {peak_th} ({peak_en})"));
        }
        if let Some(amount) = entry.expected_yield {
            let unit = entry.yield_unit.as_deref().unwrap_or("");
            description.push(
                format!("ผลผลิตที่คาด / expected yield: {amount} {unit}")
                    .trim_end()
                    .to_string(),
            );
        }
        if let Some(notes) = &entry.notes {
            description.push(notes.clone());
        }
        if let Some(source) = &entry.source {
            description.push(format!("ที่มา / source: {source}"));
        }

        let updated = entry.updated_at.and_utc();
        let mut event = Event::new();
        event
            .uid(&format!("calendar-entry-{}@khongdee", entry.id))
            .timestamp(updated)
            .last_modified(updated)
            .summary(&clean(&summary))
            .description(&clean(&description.join("\n")))
            .location(&format!(
                "อำเภอ{} จังหวัด{}",
                district.name_th, province.name_th
            ))
            .categories([crop.name_th.as_str(), crop.name_en.as_str()])
            .starts(start)
            .ends(end)
            .add_property("TRANSP", "TRANSPARENT");
        if entry.year.is_none() {
            event.add_property("RRULE", "FREQ=YEARLY");
            let mut skipped: Vec<i32> = overridden
                .iter()
                .filter(|(d, c, _)| *d == entry.district_code && *c == entry.crop_id)
                .map(|(_, _, y)| *y)
                .collect();
            skipped.sort_unstable();
            for year in skipped {
                event.append_multi_property(
                    Property::new("EXDATE", ics_date(first_of(year, entry.start())))
                        .add_parameter("VALUE", "DATE")
                        .done(),
                );
            }
        }
        calendar.push(event.done());
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_boundaries() {
        assert_eq!(
            first_after(2026, 12),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(
            first_after(2026, 2),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(ics_date(first_of(2026, 6)), "20260601");
    }
}
