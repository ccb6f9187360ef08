//! A deterministic workload of analytics events, shared by the benchmarks and
//! usable by tests.
//!
//! [`Workload`] produces [`NewEvent`]s that look like what a website and a few
//! apps send to a first-party collector:
//!
//! - spread over the sources behind the given write keys (16 in the benchmarks)
//!   with a Zipf-like skew: source `k` is chosen with weight `1/(k+1)` (with 16
//!   sources: 29.6 % for source 0, 4.9 % for source 5, 1.9 % for source 15);
//! - on behalf of one of [`WorkloadConfig::profiles`] profiles (`prof_000042`);
//! - named with one of 20 Title-Case names ([`EVENT_NAMES`]), `"Page Viewed"`
//!   about half of the time;
//! - timestamped by a clock that moves forward [`WorkloadConfig::mean_gap_ms`]
//!   per event on average, with [`WorkloadConfig::late_fraction`] (2 %) of the
//!   events arriving up to [`WorkloadConfig::late_ms_max`] (an hour) late;
//! - with 3 to 8 properties (urls, titles, emails, numbers, booleans) and a
//!   context (`ip`, a realistic `user_agent`, `library`, `locale`).
//!
//! As a Firstparty JSON payload ([`event_json`]) an event is 450 to 500 bytes on
//! average. The same seed and write keys give the same events, in the same order,
//! on every machine: the only source of randomness is [`SplitMix64`].
//!
//! ```
//! use firstlog::workload::{Workload, WorkloadConfig, event_json};
//!
//! let keys: Vec<String> = (0..16).map(|k| format!("wk_demo_{k}")).collect();
//! let config = WorkloadConfig { events: 1000, ..WorkloadConfig::default() };
//! let events: Vec<_> = Workload::new(config.clone(), keys.clone())?.collect();
//! let again: Vec<_> = Workload::new(config, keys)?.collect();
//! assert_eq!(events.len(), 1000);
//! assert_eq!(events, again);
//!
//! let mut json = Vec::new();
//! event_json(&events[0], &mut json);
//! assert!(json.starts_with(b"{\"event\":"));
//! # Ok::<(), firstlog::Error>(())
//! ```
//!
//! # Storing the same bytes elsewhere
//!
//! Benchmarks that compare firstlog with other stores give those stores the
//! bytes firstlog itself writes for an event: [`encode_record`] frames an event
//! exactly as the store does (64-byte header, bincode body, CRC; without the
//! alignment padding), and [`decode_record`] checks and decodes such bytes into a
//! borrowed [`EventRef`] with the code the store's own queries use. A peer that
//! stores and decodes these bytes does the same encoding and decoding work as
//! firstlog, so the comparison measures the storage engines and nothing else.

use std::path::Path;

use crate::error::{Error, Result};
use crate::event::json::JsonMap;
use crate::event::{Event, EventRef, Map, NewEvent, Value};
use crate::record::codec::{BodyOut, encode_into};
use crate::record::{
    FLAG_END_OF_BATCH, FLAG_HAS_MESSAGE_ID, FLAG_HAS_PROFILE, HEADER_BYTES, RecordHeader, body_crc,
    finish_crc, message_hash, name_hash, profile_hash, put_crc, read_record,
};
use crate::rng::SplitMix64;
use crate::time::format_rfc3339;

/// The 20 event names of the workload, `"Page Viewed"` first. Every name follows
/// the naming guideline (Title Case, A-Z, one space between words).
pub const EVENT_NAMES: [&str; 20] = [
    "Page Viewed",
    "Button Clicked",
    "Form Submitted",
    "Link Clicked",
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
    "Coupon Applied",
    "Search Performed",
    "Video Played",
    "File Downloaded",
    "Account Created",
    "Session Started",
    "Plan Upgraded",
    "Agent Assigned",
    "Ticket Opened",
    "Ticket Closed",
    "Newsletter Subscribed",
];

/// How often `"Page Viewed"` is chosen; the other 19 names share the rest evenly.
const PAGE_VIEWED_SHARE: f64 = 0.5;

/// The most write keys (sources) a workload accepts.
pub const SOURCES_MAX: usize = 4096;

/// What to generate. `Default` is the benchmark workload: one million events,
/// 100,000 profiles, 2 % late by up to an hour.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    /// The seed: the same seed (and write keys) gives the same events.
    pub seed: u64,
    /// How many events the iterator yields.
    pub events: u64,
    /// Profiles `prof_000000` to `prof_{profiles-1}`, chosen uniformly. At least 1.
    pub profiles: u64,
    /// The clock of the first event (ms since the Unix epoch).
    pub start_ms: i64,
    /// The clock advances by 0 to `2 * mean_gap_ms` per event (uniformly).
    pub mean_gap_ms: u64,
    /// The share of events stamped earlier than the clock (0.0 to 1.0).
    pub late_fraction: f64,
    /// How late a late event is at most (ms); it is 1 to this many ms late. At least 1.
    pub late_ms_max: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            seed: 0x5EED_F1C5_7106,
            events: 1_000_000,
            profiles: 100_000,
            // 2024-05-01T00:00:00Z
            start_ms: 1_714_521_600_000,
            mean_gap_ms: 25,
            late_fraction: 0.02,
            late_ms_max: 3_600_000,
        }
    }
}

/// The share of events that go to source `k` of `sources` (weight `1/(k+1)`).
/// `share(16, 5)` is about 0.049: source 5 is the "5 % source" of the benchmarks.
pub fn share(sources: usize, k: usize) -> f64 {
    if k >= sources {
        return 0.0;
    }
    let total: f64 = (0..sources).map(|i| 1.0 / (i + 1) as f64).sum();
    (1.0 / (k + 1) as f64) / total
}

/// The deterministic event generator. Iterate it for [`NewEvent`]s, or call
/// [`next_with_source`](Self::next_with_source) to also learn which write key
/// (by position) each event uses.
#[derive(Clone, Debug)]
pub struct Workload {
    config: WorkloadConfig,
    rng: SplitMix64,
    write_keys: Vec<String>,
    /// Cumulative source weights scaled to `u64`, for one draw per event.
    source_cdf: Vec<u64>,
    produced: u64,
    clock_ms: i64,
    /// Reused by the property picker.
    kinds: Vec<Prop>,
}

impl Workload {
    /// A generator of `config.events` events over the sources of `write_keys`
    /// (the key at position `k` gets weight `1/(k+1)`).
    ///
    /// Fails with [`Error::InvalidArgument`] when there is no write key (or more
    /// than [`SOURCES_MAX`]), no profile, or a late fraction outside 0 to 1.
    pub fn new(config: WorkloadConfig, write_keys: Vec<String>) -> Result<Workload> {
        if write_keys.is_empty() || write_keys.len() > SOURCES_MAX {
            return Err(Error::argument(
                "write_keys",
                format!("between 1 and {SOURCES_MAX} write keys are needed"),
            ));
        }
        if config.profiles == 0 {
            return Err(Error::argument("profiles", "at least one profile"));
        }
        if !(0.0..=1.0).contains(&config.late_fraction) || config.late_ms_max == 0 {
            return Err(Error::argument(
                "late_fraction",
                "a share between 0 and 1, and late_ms_max of at least 1",
            ));
        }
        let weights: Vec<f64> = (0..write_keys.len())
            .map(|k| 1.0 / (k + 1) as f64)
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut source_cdf: Vec<u64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        if let Some(last) = source_cdf.last_mut() {
            *last = u64::MAX;
        }
        Ok(Workload {
            rng: SplitMix64::new(config.seed),
            clock_ms: config.start_ms,
            config,
            write_keys,
            source_cdf,
            produced: 0,
            kinds: Vec::with_capacity(PROPS.len()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    /// The write keys, by source position.
    pub fn write_keys(&self) -> &[String] {
        &self.write_keys
    }

    /// Events produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// The next event and the position of its write key in
    /// [`write_keys`](Self::write_keys); `None` after `config.events` events.
    pub fn next_with_source(&mut self) -> Option<(usize, NewEvent)> {
        if self.produced >= self.config.events {
            return None;
        }
        self.produced += 1;
        Some(self.generate())
    }

    /// Fills `out` (cleared first) with up to `n` next events; returns how many.
    pub fn fill(&mut self, out: &mut Vec<NewEvent>, n: usize) -> usize {
        out.clear();
        out.extend(self.by_ref().take(n));
        out.len()
    }

    fn pick_source(&mut self) -> usize {
        let draw = self.rng.next_u64();
        let k = self.source_cdf.partition_point(|&c| c < draw);
        k.min(self.write_keys.len() - 1)
    }

    fn generate(&mut self) -> (usize, NewEvent) {
        let cfg = &self.config;
        let gap = self
            .rng
            .below(cfg.mean_gap_ms.saturating_mul(2).saturating_add(1));
        self.clock_ms = self
            .clock_ms
            .saturating_add(i64::try_from(gap).unwrap_or(i64::MAX));
        let late = self.rng.chance(cfg.late_fraction);
        let timestamp_ms = if late {
            let by = 1 + self.rng.below(cfg.late_ms_max);
            self.clock_ms
                .saturating_sub(i64::try_from(by).unwrap_or(i64::MAX))
        } else {
            self.clock_ms
        };
        let source = self.pick_source();
        let name = if self.rng.chance(PAGE_VIEWED_SHARE) {
            EVENT_NAMES[0]
        } else {
            EVENT_NAMES[1 + self.rng.below(EVENT_NAMES.len() as u64 - 1) as usize]
        };
        let profile = self.rng.below(self.config.profiles);
        let properties = self.properties(name == EVENT_NAMES[0], profile);
        let context = self.context();
        let event = NewEvent::new(name, self.write_keys[source].as_str())
            .profile(format!("prof_{profile:06}"))
            .timestamp_ms(timestamp_ms)
            .properties(properties)
            .context(context);
        (source, event)
    }

    /// 3 to 8 distinct properties; page views always carry url, path and title.
    fn properties(&mut self, page_view: bool, profile: u64) -> Map {
        let count = 3 + self.rng.below(6) as usize;
        let mut kinds = std::mem::take(&mut self.kinds);
        kinds.clear();
        kinds.extend_from_slice(&PROPS);
        let fixed = if page_view {
            // PROPS starts with Url, Path, Title.
            3
        } else {
            0
        };
        // A partial Fisher-Yates shuffle of the rest picks the others.
        for i in fixed..count {
            let j = i + self.rng.below((kinds.len() - i) as u64) as usize;
            kinds.swap(i, j);
        }
        let page = PAGES[self.rng.below(PAGES.len() as u64) as usize];
        let mut map = Map::new();
        for &kind in &kinds[..count] {
            let value: Value = match kind {
                Prop::Url => {
                    let mut url = format!("https://example.com{}", page.0);
                    if self.rng.chance(0.25) {
                        let utm = UTM[self.rng.below(UTM.len() as u64) as usize];
                        url.push_str("?utm_source=");
                        url.push_str(utm);
                    }
                    url.into()
                }
                Prop::Path => page.0.into(),
                Prop::Title => page.1.into(),
                Prop::Referrer => REFERRERS[self.rng.below(REFERRERS.len() as u64) as usize].into(),
                Prop::Email => {
                    let first = FIRST_NAMES[(profile % FIRST_NAMES.len() as u64) as usize];
                    let domain = DOMAINS[(profile % DOMAINS.len() as u64) as usize];
                    format!("{first}.{profile}@{domain}").into()
                }
                Prop::Amount => ((self.rng.below(50_000) + 99) as f64 / 100.0).into(),
                Prop::Quantity => (1 + self.rng.below(5) as i64).into(),
                Prop::DurationMs => (self.rng.below(120_000) as i64).into(),
                Prop::LoggedIn => self.rng.chance(0.4).into(),
                Prop::FirstVisit => self.rng.chance(0.2).into(),
                Prop::Plan => PLANS[self.rng.below(PLANS.len() as u64) as usize].into(),
                Prop::ButtonText => BUTTONS[self.rng.below(BUTTONS.len() as u64) as usize].into(),
            };
            map.insert(kind.key(), value);
        }
        self.kinds = kinds;
        map
    }

    fn context(&mut self) -> Map {
        let r = self.rng.next_u64();
        let ip = format!(
            "{}.{}.{}.{}",
            1 + (r & 0xFF) % 223,
            (r >> 8) & 0xFF,
            (r >> 16) & 0xFF,
            1 + ((r >> 24) & 0xFF) % 254
        );
        let agent = USER_AGENTS[self.rng.below(USER_AGENTS.len() as u64) as usize];
        let locale = LOCALES[self.rng.below(LOCALES.len() as u64) as usize];
        let mut context = Map::new();
        context.insert("ip", ip);
        context.insert("user_agent", agent);
        context.insert(
            "library",
            LIBRARIES[usize::from(agent.starts_with("Example"))],
        );
        context.insert("locale", locale);
        context
    }
}

impl Iterator for Workload {
    type Item = NewEvent;

    fn next(&mut self) -> Option<NewEvent> {
        self.next_with_source().map(|(_, event)| event)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.config.events - self.produced).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

/// Appends `event` to `out` as a Firstparty JSON payload, the shape
/// [`Store::collect_json`](crate::Store::collect_json) accepts: `event`,
/// `write_key`, `profile_id`, `session_id` and `message_id` when set, `timestamp`
/// (RFC 3339) when set, `properties`, `context`. Collecting the payload stores the
/// same event as collecting `event` itself.
pub fn event_json(event: &NewEvent, out: &mut Vec<u8>) {
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        event: &'a str,
        write_key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        profile_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<String>,
        properties: JsonMap<'a, String>,
        context: JsonMap<'a, String>,
    }
    let payload = Payload {
        event: &event.name,
        write_key: &event.write_key,
        profile_id: event.profile_id.as_deref(),
        session_id: event.session_id.as_deref(),
        message_id: event.message_id.as_deref(),
        timestamp: event.timestamp_ms.map(format_rfc3339),
        properties: JsonMap(&event.properties),
        context: JsonMap(&event.context),
    };
    // Writing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &payload);
}

/// Appends `events` to `out` as a batch request: a JSON array of payloads (see
/// [`event_json`]), the shape [`Store::collect_batch_json`](crate::Store::collect_batch_json)
/// accepts.
pub fn batch_json(events: &[NewEvent], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        event_json(event, out);
    }
    out.push(b']');
}

/// Appends the record firstlog would store for `event` to `out`: the 64-byte
/// header (with `source`, `seq`, `received_ms`, the event's timestamp or
/// `received_ms` when it has none, and the name, profile and message hashes), the
/// bincode body, and the CRC, exactly as the store frames it, without the padding
/// to 8 bytes. Returns the record's length.
///
/// Allocates nothing once `out` has room. The event is not validated: encode only
/// events the store would accept.
pub fn encode_record(
    event: &NewEvent,
    source: u32,
    seq: u64,
    received_ms: i64,
    out: &mut Vec<u8>,
) -> Result<usize> {
    let start = out.len();
    out.resize(start + HEADER_BYTES, 0);
    let body = BodyOut {
        name: &event.name,
        profile_id: event.profile_id.as_deref(),
        session_id: event.session_id.as_deref(),
        message_id: event.message_id.as_deref(),
        properties: &event.properties,
        context: &event.context,
    };
    let body_len = match encode_into(&body, out) {
        Ok(n) => n,
        Err(e) => {
            out.truncate(start);
            return Err(Error::invalid("event", format!("cannot encode: {}", e.0)));
        }
    };
    let Ok(body_len_u32) = u32::try_from(body_len) else {
        out.truncate(start);
        return Err(Error::TooLarge {
            what: "encoded event",
            size: body_len,
            limit: u32::MAX as usize,
        });
    };
    let mut flags = FLAG_END_OF_BATCH;
    if event.profile_id.is_some() {
        flags |= FLAG_HAS_PROFILE;
    }
    if event.message_id.is_some() {
        flags |= FLAG_HAS_MESSAGE_ID;
    }
    let header = RecordHeader {
        body_len: body_len_u32,
        seq,
        source,
        flags,
        timestamp_ms: event.timestamp_ms.unwrap_or(received_ms),
        received_ms,
        name_hash: name_hash(&event.name),
        profile_hash: profile_hash(event.profile_id.as_deref()),
        message_hash: message_hash(event.message_id.as_deref()),
    };
    let crc = body_crc(&out[start + HEADER_BYTES..]);
    let record = &mut out[start..];
    header.write_to(record);
    let crc = finish_crc(crc, body_len, record);
    put_crc(record, crc);
    Ok(HEADER_BYTES + body_len)
}

/// Checks (header shape, CRC) and decodes a record made by [`encode_record`] (or
/// read from a segment) into an event borrowing every string from `bytes`: the
/// work a firstlog query does per event returned by
/// [`Query::for_each`](crate::Query::for_each).
pub fn decode_record(bytes: &[u8]) -> Result<EventRef<'_>> {
    let record =
        read_record(bytes).map_err(|p| Error::corrupt(Path::new("<record>"), 0, p.describe()))?;
    Event::decode(&record, Path::new("<record>"), 0)
}

/// The kinds of properties an event may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prop {
    Url,
    Path,
    Title,
    Referrer,
    Email,
    Amount,
    Quantity,
    DurationMs,
    LoggedIn,
    FirstVisit,
    Plan,
    ButtonText,
}

/// Every property kind; the first three are those of every page view.
const PROPS: [Prop; 12] = [
    Prop::Url,
    Prop::Path,
    Prop::Title,
    Prop::Referrer,
    Prop::Email,
    Prop::Amount,
    Prop::Quantity,
    Prop::DurationMs,
    Prop::LoggedIn,
    Prop::FirstVisit,
    Prop::Plan,
    Prop::ButtonText,
];

impl Prop {
    fn key(self) -> &'static str {
        match self {
            Prop::Url => "url",
            Prop::Path => "path",
            Prop::Title => "title",
            Prop::Referrer => "referrer",
            Prop::Email => "email",
            Prop::Amount => "amount",
            Prop::Quantity => "quantity",
            Prop::DurationMs => "duration_ms",
            Prop::LoggedIn => "logged_in",
            Prop::FirstVisit => "first_visit",
            Prop::Plan => "plan",
            Prop::ButtonText => "button_text",
        }
    }
}

/// Paths and page titles of the example site.
const PAGES: [(&str, &str); 16] = [
    ("/", "Home"),
    ("/pricing", "Pricing"),
    ("/features", "Features"),
    ("/features/rules", "Rules and Transformations"),
    ("/docs/getting-started", "Getting Started"),
    ("/docs/events", "Tracking Events"),
    ("/docs/write-keys", "Sources and Write Keys"),
    ("/blog", "Blog"),
    (
        "/blog/first-party-analytics-explained",
        "First-Party Analytics, Explained",
    ),
    (
        "/blog/why-we-built-our-own-event-store",
        "Why We Built Our Own Event Store",
    ),
    ("/customers", "Customer Stories"),
    ("/about", "About Us"),
    ("/careers", "Careers"),
    ("/contact", "Contact Sales"),
    ("/signup", "Create Your Account"),
    ("/login", "Log In"),
];

const UTM: [&str; 4] = ["newsletter", "google", "twitter", "partner"];

const REFERRERS: [&str; 6] = [
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.linkedin.com/",
    "https://t.co/",
];

const FIRST_NAMES: [&str; 8] = [
    "sally", "omar", "mei", "lukas", "amara", "diego", "priya", "jonas",
];

const DOMAINS: [&str; 5] = [
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.example.com",
    "example.io",
];

const PLANS: [&str; 4] = ["free", "pro", "team", "enterprise"];

const BUTTONS: [&str; 6] = [
    "Get Started",
    "Start Free Trial",
    "Book a Demo",
    "Add to Cart",
    "Subscribe",
    "Download",
];

const LOCALES: [&str; 8] = [
    "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "nl-NL",
];

/// The collector libraries: the website's and the mobile apps'.
const LIBRARIES: [&str; 2] = ["firstparty.js/2.4.1", "firstparty-mobile/1.8.0"];

/// User agents as they are sent today: browsers, and the sources' mobile apps
/// (whose agents start with `Example`).
const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Example/5.12.0 (iPhone; iOS 17.4.1; Scale/3.00)",
    "Example/5.12.0 (Linux; Android 14; Pixel 8)",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::json::parse_event;
    use crate::event::{Limits, check_event_name};

    fn keys(n: usize) -> Vec<String> {
        // As long as real write keys (`wk_` and 32 characters).
        (0..n)
            .map(|k| format!("wk_test_source_{k:02}_abcdefghijklmnop"))
            .collect()
    }

    fn workload(seed: u64, events: u64) -> Workload {
        let config = WorkloadConfig {
            seed,
            events,
            ..WorkloadConfig::default()
        };
        Workload::new(config, keys(16)).unwrap()
    }

    #[test]
    fn same_seed_same_events_and_json() {
        let a: Vec<_> = workload(7, 2000).collect();
        let b: Vec<_> = workload(7, 2000).collect();
        assert_eq!(a.len(), 2000);
        assert_eq!(a, b);
        let (mut ja, mut jb) = (Vec::new(), Vec::new());
        batch_json(&a, &mut ja);
        batch_json(&b, &mut jb);
        assert_eq!(ja, jb);
        let c: Vec<_> = workload(8, 2000).collect();
        let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
        assert!(same < 10, "seeds 7 and 8 gave {same} equal events");
    }

    #[test]
    fn pinned_output() {
        // Pins the generator: a change here changes every benchmark's input, so it
        // must be deliberate (update the constants and say so in BENCHMARKS.md).
        let mut w = workload(WorkloadConfig::default().seed, 1000);
        let (source, first) = w.next_with_source().unwrap();
        let mut json = Vec::new();
        event_json(&first, &mut json);
        assert_eq!(
            (source, std::str::from_utf8(&json).unwrap()),
            (2, PINNED_FIRST),
            "the workload generator changed"
        );
        let rest: Vec<_> = w.collect();
        batch_json(&rest, &mut json);
        let hash = xxhash_rust::xxh3::xxh3_64(&json);
        assert_eq!(
            hash, PINNED_HASH,
            "the workload generator changed: {hash:#x}"
        );
    }

    const PINNED_FIRST: &str = r#"{"event":"Newsletter Subscribed","write_key":"wk_test_source_02_abcdefghijklmnop","profile_id":"prof_094339","timestamp":"2024-05-01T00:00:00.010Z","properties":{"title":"About Us","url":"https://example.com/about","amount":457.66,"plan":"free","referrer":"https://www.linkedin.com/"},"context":{"ip":"151.72.66.200","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15","library":"firstparty.js/2.4.1","locale":"es-ES"}}"#;
    const PINNED_HASH: u64 = 0x824f_f8fb_30c9_b90f;

    #[test]
    fn average_json_size_is_450_to_500_bytes() {
        let mut json = Vec::new();
        let n = 20_000;
        let mut total = 0;
        let mut smallest = usize::MAX;
        let mut largest = 0;
        for event in workload(1, n) {
            json.clear();
            event_json(&event, &mut json);
            total += json.len();
            smallest = smallest.min(json.len());
            largest = largest.max(json.len());
        }
        let mean = total as f64 / n as f64;
        eprintln!("mean {mean:.1} bytes (smallest {smallest}, largest {largest})");
        assert!(
            (450.0..=500.0).contains(&mean),
            "mean {mean:.1} bytes (smallest {smallest}, largest {largest})"
        );
    }

    #[test]
    fn shape_matches_the_issue() {
        let n = 100_000u64;
        let mut per_source = [0u64; 16];
        let mut page_views = 0u64;
        let mut late = 0u64;
        let mut max_ts = i64::MIN;
        let mut names = std::collections::HashSet::new();
        let mut profiles = std::collections::HashSet::new();
        let mut w = workload(3, n);
        while let Some((source, e)) = w.next_with_source() {
            per_source[source] += 1;
            assert_eq!(e.write_key(), keys(16)[source]);
            page_views += u64::from(e.name() == "Page Viewed");
            names.insert(e.name().to_owned());
            let ts = e.timestamp_ms.unwrap();
            if ts < max_ts {
                late += 1;
                assert!(max_ts - ts <= 3_600_000 + 2 * 25, "{} ms late", max_ts - ts);
            }
            max_ts = max_ts.max(ts);
            let profile = e.profile_id.clone().unwrap();
            let id: u64 = profile.strip_prefix("prof_").unwrap().parse().unwrap();
            assert!(id < 100_000);
            profiles.insert(id);
            assert!((3..=8).contains(&e.properties.len()), "{e:?}");
            for key in ["ip", "user_agent", "library", "locale"] {
                assert!(e.context.contains_key(key), "{key} missing: {e:?}");
            }
            if e.name() == "Page Viewed" {
                for key in ["url", "path", "title"] {
                    assert!(e.properties.contains_key(key), "{key} missing: {e:?}");
                }
            }
        }
        for (k, &count) in per_source.iter().enumerate() {
            let got = count as f64 / n as f64;
            let want = share(16, k);
            assert!(
                (got - want).abs() < 0.01,
                "source {k}: {got:.4}, want {want:.4}"
            );
        }
        assert!((share(16, 5) - 0.05).abs() < 0.002);
        let pv = page_views as f64 / n as f64;
        assert!((0.48..=0.52).contains(&pv), "Page Viewed share {pv}");
        let late = late as f64 / n as f64;
        assert!((0.015..=0.025).contains(&late), "late share {late}");
        assert_eq!(names.len(), 20);
        for name in &names {
            assert!(
                check_event_name(name).is_none(),
                "{name} breaks the guideline"
            );
        }
        // 100k draws over 100k profiles reach about 1 - 1/e of them.
        assert!(
            profiles.len() > 60_000,
            "{} distinct profiles",
            profiles.len()
        );
    }

    #[test]
    fn json_parses_back_to_the_same_event() {
        let mut json = Vec::new();
        for event in workload(11, 3000) {
            json.clear();
            event_json(&event, &mut json);
            let parsed = parse_event(&json, &Limits::default(), None).unwrap();
            assert_eq!(parsed.into_new_event(), event);
        }
    }

    #[test]
    fn records_decode_to_what_the_store_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        let sources: Vec<_> = (0..16)
            .map(|k| store.create_source(&format!("source {k}")).unwrap())
            .collect();
        let keys: Vec<String> = sources.iter().map(|s| s.write_key().to_owned()).collect();
        let config = WorkloadConfig {
            events: 500,
            ..WorkloadConfig::default()
        };
        let mut w = Workload::new(config, keys).unwrap();
        let mut record = Vec::new();
        let mut expected = Vec::new();
        while let Some((k, event)) = w.next_with_source() {
            let receipt = store.collect(event.clone()).unwrap();
            let seq = receipt.seq.unwrap();
            record.clear();
            let len = encode_record(&event, sources[k].id().0, seq, 42, &mut record).unwrap();
            assert_eq!(len, record.len());
            let decoded = decode_record(&record).unwrap().to_owned_event();
            assert_eq!(decoded.seq(), seq);
            assert_eq!(decoded.received_at(), 42);
            expected.push(decoded);
        }
        for (k, source) in sources.iter().enumerate() {
            let stored: Vec<_> = store
                .query(source.id())
                .iter()
                .collect::<Result<_>>()
                .unwrap();
            let mine: Vec<_> = expected
                .iter()
                .filter(|e| e.source() == source.id())
                .collect();
            assert_eq!(stored.len(), mine.len(), "source {k}");
            for (s, m) in stored.iter().zip(mine) {
                assert_eq!(s.seq(), m.seq());
                assert_eq!(s.name(), m.name());
                assert_eq!(s.timestamp(), m.timestamp());
                assert_eq!(s.profile_id(), m.profile_id());
                assert_eq!(s.properties(), m.properties());
                assert_eq!(s.context(), m.context());
            }
        }
        // A flipped byte is caught by the CRC, as in the store.
        let last = record.len() - 1;
        record[last] ^= 1;
        assert!(decode_record(&record).unwrap_err().is_corruption());
    }

    #[test]
    fn refuses_bad_configs() {
        let ok = WorkloadConfig::default();
        assert!(Workload::new(ok.clone(), Vec::new()).is_err());
        let no_profiles = WorkloadConfig {
            profiles: 0,
            ..ok.clone()
        };
        assert!(Workload::new(no_profiles, keys(2)).is_err());
        let bad_late = WorkloadConfig {
            late_fraction: 1.5,
            ..ok
        };
        assert!(Workload::new(bad_late, keys(2)).is_err());
    }
}
