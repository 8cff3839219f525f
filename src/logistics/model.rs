//! Logistics as stored and as shown: carriers, dispatch batches, shipments and their events.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{carrier_blackouts, dispatch_batches, shipment_events, shipments};
use crate::i18n::Text;

pub const BATCH: Text = Text {
    en: "dispatch batch",
    th: "รอบส่งพัสดุ",
};

pub const BLACKOUT: Text = Text {
    en: "carrier blackout",
    th: "ช่วงงดรับพัสดุ",
};

/// Who takes the parcels: a carrier, a local driver, or the LAO's own pickup point.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Carrier {
    /// ไปรษณีย์ไทย (EMS, registered parcels): S10 tracking numbers.
    ThailandPost,
    /// Flash Express.
    Flash,
    /// Kerry Express (KEX Express).
    Kerry,
    /// J&T Express.
    Jt,
    /// A local driver or the LAO's own vehicle: no carrier tracking.
    Local,
    /// Orders collected by buyers at the window's pickup point.
    Pickup,
}

impl Carrier {
    pub fn name_en(self) -> &'static str {
        match self {
            Carrier::ThailandPost => "Thailand Post",
            Carrier::Flash => "Flash Express",
            Carrier::Kerry => "Kerry Express",
            Carrier::Jt => "J&T Express",
            Carrier::Local => "Local delivery",
            Carrier::Pickup => "Pickup point",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            Carrier::ThailandPost => "ไปรษณีย์ไทย",
            Carrier::Flash => "แฟลช เอ็กซ์เพรส",
            Carrier::Kerry => "เคอรี่ เอ็กซ์เพรส",
            Carrier::Jt => "เจแอนด์ที เอ็กซ์เพรส",
            Carrier::Local => "รถส่งของในพื้นที่",
            Carrier::Pickup => "จุดรับสินค้า",
        }
    }

    /// Whether the batch holds pickup orders (else carrier-delivery orders).
    pub fn is_pickup(self) -> bool {
        self == Carrier::Pickup
    }

    /// Whether every order needs a tracking number before the batch is handed over: the
    /// national carriers' parcels are only traceable by it.
    pub fn needs_tracking(self) -> bool {
        matches!(
            self,
            Carrier::ThailandPost | Carrier::Flash | Carrier::Kerry | Carrier::Jt
        )
    }

    /// Whether the carrier posts signed tracking events (`POST /v1/carriers/{carrier}/events`).
    pub fn sends_events(self) -> bool {
        self != Carrier::Pickup
    }
}

crate::stored_as_text!(Carrier);

/// Where a batch stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BatchStatus {
    /// Being put together: orders, dates and tracking numbers may change.
    Open,
    /// Given to the carrier (or brought to the pickup point): its orders are shipped.
    HandedOver,
    /// Called off before handover; its orders are free again.
    Cancelled,
}

impl BatchStatus {
    pub fn label_en(self) -> &'static str {
        match self {
            BatchStatus::Open => "open",
            BatchStatus::HandedOver => "handed over",
            BatchStatus::Cancelled => "cancelled",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            BatchStatus::Open => "กำลังจัดเตรียม",
            BatchStatus::HandedOver => "ส่งมอบแล้ว",
            BatchStatus::Cancelled => "ยกเลิก",
        }
    }
}

/// Where a parcel is, normalised over carriers.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ShipmentStatus {
    /// In an open batch.
    Packed,
    /// The batch was handed to the carrier or brought to the pickup point.
    HandedOver,
    /// The carrier took it in.
    Accepted,
    InTransit,
    OutForDelivery,
    /// The carrier could not deliver this time (it will usually try again).
    FailedAttempt,
    /// Going back to the sender.
    Returned,
    Delivered,
    /// Collected by the buyer at the pickup point.
    PickedUp,
    /// A carrier event that changes nothing (a code khongdee does not map); history only.
    Info,
}

impl ShipmentStatus {
    pub fn name_th(self) -> &'static str {
        match self {
            ShipmentStatus::Packed => "แพ็กแล้ว รอส่งมอบ",
            ShipmentStatus::HandedOver => "ส่งมอบแล้ว",
            ShipmentStatus::Accepted => "ขนส่งรับพัสดุแล้ว",
            ShipmentStatus::InTransit => "อยู่ระหว่างขนส่ง",
            ShipmentStatus::OutForDelivery => "อยู่ระหว่างนำจ่าย",
            ShipmentStatus::FailedAttempt => "นำจ่ายไม่สำเร็จ",
            ShipmentStatus::Returned => "ส่งคืนผู้ส่ง",
            ShipmentStatus::Delivered => "นำจ่ายสำเร็จ",
            ShipmentStatus::PickedUp => "ผู้ซื้อรับสินค้าแล้ว",
            ShipmentStatus::Info => "ข้อมูลจากขนส่ง",
        }
    }

    /// Progress, to order events that carry the same time.
    pub fn rank(self) -> u8 {
        match self {
            ShipmentStatus::Info => 0,
            ShipmentStatus::Packed => 1,
            ShipmentStatus::HandedOver => 2,
            ShipmentStatus::Accepted => 3,
            ShipmentStatus::InTransit => 4,
            ShipmentStatus::OutForDelivery => 5,
            ShipmentStatus::FailedAttempt => 6,
            ShipmentStatus::Returned => 7,
            ShipmentStatus::Delivered => 8,
            ShipmentStatus::PickedUp => 9,
        }
    }
}

crate::stored_as_text!(BatchStatus, ShipmentStatus);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = dispatch_batches)]
pub struct BatchRow {
    pub id: i64,
    pub lao_id: i64,
    pub province_code: String,
    pub district_code: String,
    pub producer_id: Option<i64>,
    pub carrier: Carrier,
    pub dispatch_date: NaiveDate,
    pub status: BatchStatus,
    pub note: Option<String>,
    pub created_by: String,
    pub handed_over_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shipments)]
pub struct ShipmentRow {
    pub id: i64,
    pub batch_id: i64,
    pub order_id: i64,
    pub carrier: Carrier,
    pub tracking_number: Option<String>,
    pub parcels: i32,
    pub in_open_batch: bool,
    pub status: ShipmentStatus,
    pub status_occurred_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shipment_events)]
pub struct EventRow {
    pub id: i64,
    pub shipment_id: i64,
    pub carrier: Carrier,
    pub event_id: String,
    pub status_code: Option<String>,
    pub status: ShipmentStatus,
    pub occurred_at: NaiveDateTime,
    pub location: Option<String>,
    pub description: Option<String>,
    pub received_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = carrier_blackouts)]
pub struct BlackoutRow {
    pub id: i64,
    pub carrier: Carrier,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub reason: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// Days a carrier takes no fresh produce (around a holiday, a flood).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Blackout {
    pub id: i64,
    pub carrier: Carrier,
    /// Bangkok dates, both included.
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub reason: String,
    pub created_at: DateTime<FixedOffset>,
}

impl From<BlackoutRow> for Blackout {
    fn from(r: BlackoutRow) -> Self {
        Blackout {
            id: r.id,
            carrier: r.carrier,
            first_date: r.first_date,
            last_date: r.last_date,
            reason: r.reason,
            created_at: crate::clock::to_bangkok(r.created_at),
        }
    }
}
