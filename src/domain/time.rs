//! Instants, stored as UTC microseconds and shown in China Standard Time.
//!
//! Entries carry their instant inside the hashed encoding, so it must be an
//! exact integer (no float seconds, no textual time zones). Programme dates
//! and settlement periods are in UTC+8 (Asia/Shanghai, no daylight saving).

use std::fmt;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// China Standard Time offset in seconds (UTC+8, no daylight saving).
const CST_OFFSET_SECONDS: i32 = 8 * 3600;

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_micros())
    }

    pub const fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// The instant in UTC+8, e.g. `2026-11-25T16:39:52.123456+08:00`.
    pub fn to_cst_rfc3339(self) -> String {
        let offset = FixedOffset::east_opt(CST_OFFSET_SECONDS).expect("UTC+8 is a valid offset");
        match DateTime::<Utc>::from_timestamp_micros(self.0) {
            Some(utc) => offset
                .from_utc_datetime(&utc.naive_utc())
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            None => format!("@{}us", self.0),
        }
    }
}

impl Timestamp {
    /// The calendar date of this instant in UTC+8 (programme days, fiscal
    /// years and settlement periods are counted in it).
    pub fn cst_date(self) -> chrono::NaiveDate {
        let offset = FixedOffset::east_opt(CST_OFFSET_SECONDS).expect("UTC+8 is a valid offset");
        let utc = DateTime::<Utc>::from_timestamp_micros(self.0).unwrap_or_default();
        offset.from_utc_datetime(&utc.naive_utc()).date_naive()
    }

    /// The first instant of `date` in UTC+8.
    pub fn cst_midnight(date: chrono::NaiveDate) -> Timestamp {
        let utc_seconds = date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp()
            - i64::from(CST_OFFSET_SECONDS);
        Timestamp(utc_seconds * 1_000_000)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_cst_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_instants_in_china_standard_time() {
        // 2026-12-31T16:00:00Z is midnight starting 2027-01-01 in UTC+8.
        let instant = Timestamp::from_micros(1_798_732_800_000_000);
        assert_eq!(instant.to_cst_rfc3339(), "2027-01-01T00:00:00.000000+08:00");
    }

    #[test]
    fn dates_turn_at_midnight_in_china_standard_time() {
        // 15:59:59.999999Z is still 2026-12-31 in UTC+8; 16:00Z is 2027-01-01.
        let last = Timestamp::from_micros(1_798_732_800_000_000 - 1);
        let first = Timestamp::from_micros(1_798_732_800_000_000);
        assert_eq!(last.cst_date().to_string(), "2026-12-31");
        assert_eq!(first.cst_date().to_string(), "2027-01-01");
    }

    #[test]
    fn now_is_after_2026() {
        assert!(Timestamp::now() > Timestamp::from_micros(1_767_225_600_000_000));
    }
}
