//! The demo's event stream: a seeded, deterministic week of traffic for the seed
//! document's five example sources, as Firstparty JSON payloads (one per line).
//!
//! Each source has its own mix: page views and clicks on the marketing site,
//! tickets and agent assignments in the help desk, projects and exports in the web
//! app, screens and orders on mobile. Profiles are skewed (a few heavy users),
//! sessions follow profiles, context carries ip, user agent, page, library and
//! locale. A few names break the naming guideline on purpose ("form submitted",
//! "Cart-Abandoned", "Product 126"), a few payloads are invalid, and a few are
//! client retries of an earlier payload (same `message_id`).

use crate::rng::SplitMix64;
use firstlog::format_rfc3339;

use super::mix;

/// The five example sources, in creation order.
pub const SOURCE_NAMES: [&str; 5] = [
    "www Marketing Page",
    "Help Desk",
    "Web App",
    "iOS App",
    "Android App",
];

/// Share of the traffic per source (same order), in per mille.
const SOURCE_WEIGHTS: [u64; 5] = [360, 90, 300, 130, 120];

/// The demo week starts Monday 2025-03-03 00:00 UTC.
pub const WEEK_START_MS: i64 = 1_740_960_000_000;
const DAY_MS: i64 = 86_400_000;
/// Relative traffic per day of the week (weekends are quieter).
const DAY_WEIGHTS: [f64; 7] = [1.0, 1.05, 1.1, 1.0, 0.95, 0.6, 0.5];
/// Relative traffic per hour of the day (UTC).
const HOUR_WEIGHTS: [f64; 24] = [
    0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.8, 1.1, 1.4, 1.5, 1.5, 1.4, 1.5, 1.6, 1.6, 1.5, 1.3,
    1.1, 0.9, 0.8, 0.6, 0.4, 0.3,
];

/// Probability that a payload is invalid, and that it is a retry of an earlier one.
const INVALID_P: f64 = 0.004;
const RETRY_P: f64 = 0.002;
/// A write key that belongs to no source (a key rotated away long ago).
pub const STALE_WRITE_KEY: &str = "wk_rotated_away_0000000000000000";

/// Writes one JSON object field by field.
pub(super) struct Obj<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Obj { buf, first: true }
    }
    fn key(&mut self, key: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        push_str(self.buf, key);
        self.buf.push(b':');
    }
    pub(super) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_str(self.buf, value);
        self
    }
    pub(super) fn num(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(value.to_string().as_bytes());
        self
    }
    pub(super) fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(json.as_bytes());
        self
    }
    pub(super) fn obj(&mut self, key: &str) -> Obj<'_> {
        self.key(key);
        Obj::new(self.buf)
    }
    pub(super) fn end(&mut self) {
        self.buf.push(b'}');
    }
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// A 64-bit mix of a number (deterministic ids, ips, sessions).
pub(super) fn mix(x: u64) -> u64 {
    SplitMix64::new(x).next_u64()
}

pub(super) fn pick<T: Copy>(rng: &mut SplitMix64, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

/// An index in `0..n` skewed toward small numbers (heavy users first).
fn skewed(rng: &mut SplitMix64, n: u64) -> u64 {
    let u = rng.unit();
    ((n as f64) * u * u * u) as u64
}

pub(super) fn weighted(rng: &mut SplitMix64, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.unit() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// The generator. `next_line` appends payloads until `total` have been made.
pub struct Generator {
    rng: SplitMix64,
    keys: Vec<String>,
    total: u64,
    made: u64,
    seed: u64,
    /// Cumulative day weights, normalised to 1.
    day_cdf: [f64; 7],
    /// Recent valid payloads, for retries.
    recent: Vec<Vec<u8>>,
}

/// What kind of profile a source sees.
struct Who {
    profile: String,
    index: u64,
}

impl Generator {
    /// A generator of `total` payloads for the sources with these write keys
    /// (in [`SOURCE_NAMES`] order).
    pub fn new(seed: u64, keys: Vec<String>, total: u64) -> Generator {
        let sum: f64 = DAY_WEIGHTS.iter().sum();
        let mut day_cdf = [0.0; 7];
        let mut acc = 0.0;
        for (i, w) in DAY_WEIGHTS.iter().enumerate() {
            acc += w / sum;
            day_cdf[i] = acc;
        }
        Generator {
            rng: SplitMix64::new(seed),
            keys,
            total,
            made: 0,
            seed,
            day_cdf,
            recent: Vec::with_capacity(64),
        }
    }

    /// Appends the next payload (one line, no newline) to `out`; false when done.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> bool {
        if self.made >= self.total {
            return false;
        }
        let i = self.made;
        self.made += 1;
        if !self.recent.is_empty() && self.rng.chance(RETRY_P) {
            let k = self.rng.below(self.recent.len() as u64) as usize;
            out.extend_from_slice(&self.recent[k]);
            return true;
        }
        if self.rng.chance(INVALID_P) {
            self.invalid(out, i);
            return true;
        }
        let start = out.len();
        self.valid(out, i);
        if self.rng.chance(0.01) {
            if self.recent.len() < 64 {
                self.recent.push(out[start..].to_vec());
            } else {
                let k = self.rng.below(64) as usize;
                self.recent[k] = out[start..].to_vec();
            }
        }
        true
    }

    /// When the `i`-th event happened: its day follows the weekly shape, its hour
    /// the daily one.
    fn timestamp(&mut self, i: u64) -> i64 {
        let f = (i as f64 + 0.5) / self.total.max(1) as f64;
        let day = self.day_cdf.iter().position(|c| f < *c).unwrap_or(6) as i64;
        let hour = weighted(&mut self.rng, &HOUR_WEIGHTS) as i64;
        let within = self.rng.below(3_600_000) as i64;
        WEEK_START_MS + day * DAY_MS + hour * 3_600_000 + within
    }

    fn valid(&mut self, out: &mut Vec<u8>, i: u64) {
        let weights: Vec<f64> = SOURCE_WEIGHTS.iter().map(|w| *w as f64).collect();
        let source = weighted(&mut self.rng, &weights);
        let ts = self.timestamp(i);
        let who = self.who(source);
        let (name, props) = mix::event(&mut self.rng, source, who.index);
        let day = (ts - WEEK_START_MS) / DAY_MS;
        let session =
            mix(who.index ^ ((source as u64) << 40) ^ ((ts / (3 * 3_600_000)) as u64) << 20);
        let mut o = Obj::new(out);
        o.str("event", name)
            .str("write_key", &self.keys[source])
            .str("profile_id", &who.profile)
            .str("session_id", &format!("s{day}-{:012x}", session >> 16))
            .str("message_id", &format!("m-{:x}-{i}", self.seed))
            .str("timestamp", &format_rfc3339(ts))
            .raw("properties", &props);
        mix::context(&mut self.rng, &mut o, source, who.index);
        o.end();
    }

    fn who(&mut self, source: usize) -> Who {
        match source {
            // Anonymous visitors on the marketing site; some have signed up.
            0 => {
                let index = skewed(&mut self.rng, 40_000);
                let profile = if index.is_multiple_of(7) {
                    format!("user-{}", index / 7)
                } else {
                    format!("anon-{:08x}", mix(index) >> 32)
                };
                Who { profile, index }
            }
            // Customers: the same people across help desk, web and mobile.
            _ => {
                let index = skewed(&mut self.rng, 12_000);
                Who {
                    profile: format!("user-{index}"),
                    index,
                }
            }
        }
    }

    /// An invalid payload, of one of several kinds.
    fn invalid(&mut self, out: &mut Vec<u8>, i: u64) {
        let key = self.keys[self.rng.below(self.keys.len() as u64) as usize].clone();
        let kind = self.rng.below(8);
        let text = match kind {
            0 => format!(r#"{{"write_key":"{key}","properties":{{"path":"/pricing"}}}}"#),
            1 => format!(r#"{{"event":"Page Viewed","write_key":"{STALE_WRITE_KEY}"}}"#),
            2 => format!(
                r#"{{"event":"Ticket Created","write_key":"{key}","timestamp":"yesterday"}}"#
            ),
            3 => format!(
                r#"{{"event":"Order Completed","write_key":"{key}","properties":"revenue=42"}}"#
            ),
            4 => format!(r#"{{"event":"Page Viewed","write_key":"{key}","properties":{{"path":"/"#),
            5 => format!(r#"{{"event":"Button Clicked","write_key":"{key}","userId":"user-{i}"}}"#),
            6 => format!(r#"{{"event":"","write_key":"{key}"}}"#),
            _ => {
                if self.rng.chance(0.1) {
                    // An event with a 40 KB property: over the 32 KiB limit.
                    let big = "x".repeat(40_000);
                    format!(
                        r#"{{"event":"Report Exported","write_key":"{key}","properties":{{"csv":"{big}"}}}}"#
                    )
                } else {
                    format!(r#"{{"event":"Form Submitted","write_key":"{key}","profile_id":""}}"#)
                }
            }
        };
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seed: u64, n: u64) -> Vec<u8> {
        let keys = (0..5).map(|i| format!("wk_{i}")).collect();
        let mut g = Generator::new(seed, keys, n);
        let mut out = Vec::new();
        while g.next_line(&mut out) {
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn deterministic_and_mostly_valid() {
        let a = stream(7, 5000);
        assert_eq!(a, stream(7, 5000));
        assert_ne!(a, stream(8, 5000));
        let lines: Vec<&[u8]> = a.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 5000);
        let parsed = lines
            .iter()
            .filter(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok())
            .count();
        assert!(parsed > 4950 && parsed < 5000, "{parsed}");
    }
}
