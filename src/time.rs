//! Timestamps: the clock, and RFC 3339 parsing and formatting (UTC milliseconds).

// `now_ms` and the bounds are re-exported by `firstlog::testing`; without that
// feature they are crate-internal.
#![cfg_attr(not(feature = "testing"), allow(unreachable_pub))]

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the store reads the time: when events are received, segments created
/// and sealed, and what retention finds old. The system clock by default; tests set
/// their own (`firstlog::testing::ManualClock`) to age a store without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch, now.
    fn now_ms(&self) -> i64;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// A clock that stands still until moved (tests of time-based behaviour).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct ManualClock {
    ms: std::sync::atomic::AtomicI64,
}

#[cfg(any(test, feature = "testing"))]
impl ManualClock {
    /// A clock showing `ms` (ms since the Unix epoch).
    pub fn new(ms: i64) -> Self {
        ManualClock {
            ms: std::sync::atomic::AtomicI64::new(ms),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ms.fetch_add(by, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sets the clock to `ms`.
    pub fn set(&self, ms: i64) {
        self.ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "testing"))]
impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The earliest timestamp accepted: 0001-01-01T00:00:00Z.
pub const MIN_MS: i64 = -62_135_596_800_000;
/// The latest timestamp accepted: 9999-12-31T23:59:59.999Z.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses an RFC 3339 timestamp (`2024-05-01T12:30:00Z`, `...T12:30:00.123+02:00`;
/// a space may replace the `T`) into UTC milliseconds. Digits beyond milliseconds
/// are truncated. Returns a description of the problem on failure.
pub fn parse_rfc3339(s: &str) -> Result<i64, &'static str> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let part = b.get(r).ok_or("too short")?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err("expected digits");
        }
        Ok(part.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0')))
    };
    if b.len() < 20 {
        return Err("too short for RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)");
    }
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err("not in RFC 3339 form (YYYY-MM-DDTHH:MM:SSZ)");
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err("no such date");
    }
    if h > 23 || mi > 59 || sec > 60 {
        return Err("no such time of day");
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err("expected digits after the decimal point");
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err("no such UTC offset");
            }
            let off = oh * 60 + om;
            if sign == b'+' { off } else { -off }
        }
        _ => return Err("expected Z or a UTC offset like +02:00 at the end"),
    };
    let secs =
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
    Ok(secs * 1000 + millis)
}

/// Formats UTC milliseconds as RFC 3339 with millisecond precision
/// (`2024-05-01T12:30:00.000Z`).
pub fn format_rfc3339(ms: i64) -> String {
    let ms = ms.clamp(MIN_MS, MAX_MS);
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// The UTC date of `ms` as `YYYY-MM-DD` (the export's partition names).
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.clamp(MIN_MS, MAX_MS).div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses a time as people type it: RFC 3339 (`2024-05-01T12:00:00Z`,
/// `...+02:00`), a date (`2024-05-01`, midnight UTC), or integer epoch
/// milliseconds. The error says what was wrong and what is accepted.
///
/// ```
/// assert_eq!(firstlog::parse_time("1970-01-02"), Ok(86_400_000));
/// assert_eq!(firstlog::parse_time("1000"), Ok(1000));
/// assert!(firstlog::parse_time("yesterday").is_err());
/// ```
pub fn parse_time(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|e| format!("{text:?}: not epoch milliseconds: {e}"));
    }
    let full;
    let t = if t.len() == 10 {
        full = format!("{t}T00:00:00Z");
        &full
    } else {
        t
    };
    parse_rfc3339(t).map_err(|why| {
        format!("{text:?}: {why} (use RFC 3339 like 2024-05-01T12:00:00Z, a date, or epoch ms)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for ms in [
            0,
            1,
            999,
            -1,
            1_714_566_600_123,
            MIN_MS,
            MAX_MS,
            951_782_400_000,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Ok(ms), "{ms}");
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T02:00:00+02:00"), Ok(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Ok(500));
        assert_eq!(parse_rfc3339("1970-01-01 00:00:00.123456Z"), Ok(123));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "yesterday",
            "2024-01-01T00:00:00+2:00",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
