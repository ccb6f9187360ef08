//! The application's own events, generated deterministically, and the code a
//! firstlog user writes around them.
//!
//! This is what an application that tracks analytics events has *before* it
//! picks a storage engine: its own struct ([`AppEvent`]), serde-friendly, and the
//! JSON its clients send (the Firstparty payload). Every engine of the
//! comparison starts from the same `Vec<AppEvent>` and does its own encoding.
//!
//! The generator ports the logic of firstlog's old `src/workload.rs` draw for
//! draw (same [`SplitMix64`], same seed, same order of draws), so the stream has
//! the same distribution as the one the earlier benchmarks used:
//!
//! - [`SOURCES`] (16) sources with a Zipf-like skew: source `k` has weight
//!   `1/(k+1)` (29.6 % for source 0, 7.4 % for source 3, 1.9 % for source 15);
//! - 100,000 profiles (`prof_000042`);
//! - 20 Title-Case event names ([`EVENT_NAMES`]), `"Page Viewed"` half the time;
//! - a clock advancing 25 ms per event on average, 2 % of the events up to an
//!   hour late;
//! - 3 to 8 properties (urls, paths, titles, referrers, emails, amounts,
//!   quantities, durations, booleans, plans, button texts; page views always
//!   carry url, path and title), and a context (ip, user agent, library name and
//!   version, locale);
//! - about 480 bytes per event as a Firstparty JSON payload ([`firstparty_json`]).
//!
//! The workload sets no `session_id` and no `message_id` (as the old one): the
//! fields exist because applications have them, and every path carries them.
//!
//! This file depends only on std, serde (derive), serde_json and firstlog's
//! public API: firstlog's own criterion benches include it with
//! `#[path = "compare/src/workload.rs"] mod workload;`.

#![allow(dead_code, reason = "each includer uses a different subset")]

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// The application's types.

/// One analytics event as the application holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppEvent {
    /// The source (website, app...) that sent it: the index of its write key.
    pub source: u16,
    /// The event name (`"Page Viewed"`).
    pub name: String,
    /// The profile it happened to.
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The client's id for the event (for retries).
    pub message_id: Option<String>,
    /// When it happened, ms since the Unix epoch.
    pub timestamp_ms: i64,
    /// Custom properties, in the order the client sent them.
    pub properties: Vec<(String, Prop)>,
    pub context: AppContext,
}

/// A property value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Prop {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Where the event came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppContext {
    pub ip: String,
    pub user_agent: String,
    pub library_name: String,
    pub library_version: String,
    pub locale: String,
}

// ---------------------------------------------------------------------------
// The generator.

/// Sources of the benchmark workload.
pub const SOURCES: usize = 16;
/// The seed of the benchmark workload.
pub const DEFAULT_SEED: u64 = 0x5EED_F1C5_7106;
/// Profiles `prof_000000` to `prof_099999`.
pub const PROFILES: u64 = 100_000;
/// The clock of the first event: 2024-05-01T00:00:00Z.
pub const START_MS: i64 = 1_714_521_600_000;
const MEAN_GAP_MS: u64 = 25;
const LATE_FRACTION: f64 = 0.02;
const LATE_MS_MAX: u64 = 3_600_000;
const PAGE_VIEWED_SHARE: f64 = 0.5;

/// The 20 event names, `"Page Viewed"` first.
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

/// The share of the events that go to source `k` of `sources` (weight `1/(k+1)`).
pub fn share(sources: usize, k: usize) -> f64 {
    if k >= sources {
        return 0.0;
    }
    let total: f64 = (0..sources).map(|i| 1.0 / (i + 1) as f64).sum();
    (1.0 / (k + 1) as f64) / total
}

/// SplitMix64, the generator's only source of randomness (the algorithm of
/// firstlog's `rng` module).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The deterministic generator: an iterator of `events` [`AppEvent`]s over
/// `sources` sources.
#[derive(Clone, Debug)]
pub struct Workload {
    rng: SplitMix64,
    events: u64,
    produced: u64,
    clock_ms: i64,
    /// Cumulative source weights scaled to `u64`, for one draw per event.
    source_cdf: Vec<u64>,
    kinds: Vec<Kind>,
}

impl Workload {
    /// `events` events over `sources` sources (at least 1, at most 65,536).
    pub fn new(seed: u64, events: u64, sources: usize) -> Workload {
        assert!(
            (1..=usize::from(u16::MAX) + 1).contains(&sources),
            "1 to 65536 sources"
        );
        let total: f64 = (0..sources).map(|k| 1.0 / (k + 1) as f64).sum();
        let mut acc = 0.0;
        let mut source_cdf: Vec<u64> = (0..sources)
            .map(|k| {
                acc += (1.0 / (k + 1) as f64) / total;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        if let Some(last) = source_cdf.last_mut() {
            *last = u64::MAX;
        }
        Workload {
            rng: SplitMix64::new(seed),
            events,
            produced: 0,
            clock_ms: START_MS,
            source_cdf,
            kinds: Vec::with_capacity(KINDS.len()),
        }
    }

    /// The benchmark workload: [`DEFAULT_SEED`], [`SOURCES`] sources.
    pub fn standard(events: u64) -> Workload {
        Workload::new(DEFAULT_SEED, events, SOURCES)
    }

    fn generate(&mut self) -> AppEvent {
        let gap = self.rng.below(MEAN_GAP_MS * 2 + 1);
        self.clock_ms += gap as i64;
        let timestamp_ms = if self.rng.chance(LATE_FRACTION) {
            self.clock_ms - (1 + self.rng.below(LATE_MS_MAX)) as i64
        } else {
            self.clock_ms
        };
        let draw = self.rng.next_u64();
        let source = self
            .source_cdf
            .partition_point(|&c| c < draw)
            .min(self.source_cdf.len() - 1);
        let name = if self.rng.chance(PAGE_VIEWED_SHARE) {
            EVENT_NAMES[0]
        } else {
            EVENT_NAMES[1 + self.rng.below(EVENT_NAMES.len() as u64 - 1) as usize]
        };
        let profile = self.rng.below(PROFILES);
        let properties = self.properties(name == EVENT_NAMES[0], profile);
        let context = self.context();
        AppEvent {
            source: source as u16,
            name: name.to_owned(),
            user_id: Some(format!("prof_{profile:06}")),
            session_id: None,
            message_id: None,
            timestamp_ms,
            properties,
            context,
        }
    }

    /// 3 to 8 distinct properties; page views always carry url, path and title.
    fn properties(&mut self, page_view: bool, profile: u64) -> Vec<(String, Prop)> {
        let count = 3 + self.rng.below(6) as usize;
        let mut kinds = std::mem::take(&mut self.kinds);
        kinds.clear();
        kinds.extend_from_slice(&KINDS);
        // KINDS starts with Url, Path, Title.
        let fixed = if page_view { 3 } else { 0 };
        // A partial Fisher-Yates shuffle of the rest picks the others.
        for i in fixed..count {
            let j = i + self.rng.below((kinds.len() - i) as u64) as usize;
            kinds.swap(i, j);
        }
        let page = PAGES[self.rng.below(PAGES.len() as u64) as usize];
        let mut props = Vec::with_capacity(count);
        for &kind in &kinds[..count] {
            let value = match kind {
                Kind::Url => {
                    let mut url = format!("https://example.com{}", page.0);
                    if self.rng.chance(0.25) {
                        url.push_str("?utm_source=");
                        url.push_str(UTM[self.rng.below(UTM.len() as u64) as usize]);
                    }
                    Prop::Text(url)
                }
                Kind::Path => Prop::Text(page.0.to_owned()),
                Kind::Title => Prop::Text(page.1.to_owned()),
                Kind::Referrer => {
                    Prop::Text(REFERRERS[self.rng.below(REFERRERS.len() as u64) as usize].into())
                }
                Kind::Email => {
                    let first = FIRST_NAMES[(profile % FIRST_NAMES.len() as u64) as usize];
                    let domain = DOMAINS[(profile % DOMAINS.len() as u64) as usize];
                    Prop::Text(format!("{first}.{profile}@{domain}"))
                }
                Kind::Amount => Prop::Float((self.rng.below(50_000) + 99) as f64 / 100.0),
                Kind::Quantity => Prop::Int(1 + self.rng.below(5) as i64),
                Kind::DurationMs => Prop::Int(self.rng.below(120_000) as i64),
                Kind::LoggedIn => Prop::Bool(self.rng.chance(0.4)),
                Kind::FirstVisit => Prop::Bool(self.rng.chance(0.2)),
                Kind::Plan => Prop::Text(PLANS[self.rng.below(PLANS.len() as u64) as usize].into()),
                Kind::ButtonText => {
                    Prop::Text(BUTTONS[self.rng.below(BUTTONS.len() as u64) as usize].into())
                }
            };
            props.push((kind.key().to_owned(), value));
        }
        self.kinds = kinds;
        props
    }

    fn context(&mut self) -> AppContext {
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
        let (library_name, library_version) = LIBRARIES[usize::from(agent.starts_with("Example"))];
        AppContext {
            ip,
            user_agent: agent.to_owned(),
            library_name: library_name.to_owned(),
            library_version: library_version.to_owned(),
            locale: locale.to_owned(),
        }
    }
}

impl Iterator for Workload {
    type Item = AppEvent;

    fn next(&mut self) -> Option<AppEvent> {
        if self.produced >= self.events {
            return None;
        }
        self.produced += 1;
        Some(self.generate())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.events - self.produced).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

// ---------------------------------------------------------------------------
// JSON: the Firstparty payload a client sends, and the application's JSON
// columns (properties, context) as natural JSON objects.

/// The properties as a JSON object (`{"url": "...", "amount": 12.5, ...}`).
pub struct PropsJson<'a>(pub &'a [(String, Prop)]);

impl Serialize for PropsJson<'_> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            match value {
                Prop::Text(t) => map.serialize_entry(key, t)?,
                Prop::Int(n) => map.serialize_entry(key, n)?,
                Prop::Float(f) => map.serialize_entry(key, f)?,
                Prop::Bool(b) => map.serialize_entry(key, b)?,
            }
        }
        map.end()
    }
}

/// Properties parsed from a JSON object of strings, numbers and booleans
/// (integers become [`Prop::Int`], other numbers [`Prop::Float`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropsFromJson(pub Vec<(String, Prop)>);

impl<'de> Deserialize<'de> for PropsFromJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PropValue(Prop);
        impl<'de> Deserialize<'de> for PropValue {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = PropValue;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a string, number or boolean")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<PropValue, E> {
                        Ok(PropValue(Prop::Text(v.to_owned())))
                    }
                    fn visit_string<E: de::Error>(self, v: String) -> Result<PropValue, E> {
                        Ok(PropValue(Prop::Text(v)))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropValue, E> {
                        Ok(PropValue(Prop::Int(v)))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropValue, E> {
                        i64::try_from(v)
                            .map(|n| PropValue(Prop::Int(n)))
                            .map_err(|_| E::custom("integer out of range"))
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropValue, E> {
                        Ok(PropValue(Prop::Float(v)))
                    }
                    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PropValue, E> {
                        Ok(PropValue(Prop::Bool(v)))
                    }
                }
                d.deserialize_any(V)
            }
        }
        struct M;
        impl<'de> Visitor<'de> for M {
            type Value = PropsFromJson;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of properties")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropsFromJson, A::Error> {
                let mut props = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((key, PropValue(value))) = map.next_entry::<String, PropValue>()? {
                    props.push((key, value));
                }
                Ok(PropsFromJson(props))
            }
        }
        d.deserialize_map(M)
    }
}

/// The context as a JSON object:
/// `{"ip", "user_agent", "library": {"name", "version"}, "locale"}`.
#[derive(Serialize)]
pub struct ContextJson<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub library: LibraryJson<'a>,
    pub locale: &'a str,
}

#[derive(Serialize)]
pub struct LibraryJson<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

impl<'a> ContextJson<'a> {
    pub fn new(c: &'a AppContext) -> Self {
        ContextJson {
            ip: &c.ip,
            user_agent: &c.user_agent,
            library: LibraryJson {
                name: &c.library_name,
                version: &c.library_version,
            },
            locale: &c.locale,
        }
    }
}

/// The context parsed back from [`ContextJson`]'s shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContextFromJson(pub AppContext);

impl<'de> Deserialize<'de> for ContextFromJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Library {
            name: String,
            version: String,
        }
        #[derive(Deserialize)]
        struct Context {
            ip: String,
            user_agent: String,
            library: Library,
            locale: String,
        }
        let c = Context::deserialize(d)?;
        Ok(ContextFromJson(AppContext {
            ip: c.ip,
            user_agent: c.user_agent,
            library_name: c.library.name,
            library_version: c.library.version,
            locale: c.locale,
        }))
    }
}

#[derive(Serialize)]
struct Payload<'a> {
    event: &'a str,
    write_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    timestamp: i64,
    properties: PropsJson<'a>,
    context: ContextJson<'a>,
}

/// Appends `event` to `out` as one Firstparty payload:
/// `{"event", "write_key", "profile_id", "session_id", "message_id",
/// "timestamp" (epoch ms), "properties": {...}, "context": {...}}`, the ids only
/// when set.
pub fn firstparty_json(event: &AppEvent, write_key: &str, out: &mut Vec<u8>) {
    let payload = Payload {
        event: &event.name,
        write_key,
        profile_id: event.user_id.as_deref(),
        session_id: event.session_id.as_deref(),
        message_id: event.message_id.as_deref(),
        timestamp: event.timestamp_ms,
        properties: PropsJson(&event.properties),
        context: ContextJson::new(&event.context),
    };
    // Writing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &payload);
}

/// Appends `events` to `out` as a batch request: a JSON array of payloads, the
/// write key of each event being `keys[event.source]`.
pub fn firstparty_batch_json(events: &[AppEvent], keys: &[String], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        firstparty_json(event, &keys[usize::from(event.source)], out);
    }
    out.push(b']');
}

/// A Firstparty payload parsed into the application's struct (what a server
/// without firstlog does with a request body); `source` is resolved by the
/// caller from `write_key`.
#[derive(Deserialize)]
pub struct ParsedPayload {
    pub event: String,
    pub write_key: String,
    #[serde(default)]
    pub profile_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    pub timestamp: i64,
    #[serde(default)]
    pub properties: PropsFromJson,
    #[serde(default)]
    pub context: ContextFromJson,
}

impl ParsedPayload {
    pub fn into_app_event(self, source: u16) -> AppEvent {
        AppEvent {
            source,
            name: self.event,
            user_id: self.profile_id,
            session_id: self.session_id,
            message_id: self.message_id,
            timestamp_ms: self.timestamp,
            properties: self.properties.0,
            context: self.context.0,
        }
    }
}

// ---------------------------------------------------------------------------
// firstlog: the conversions a firstlog user writes.

fn prop_value(value: &Prop) -> firstlog::Value {
    match value {
        Prop::Text(t) => firstlog::Value::String(t.clone()),
        Prop::Int(n) => firstlog::Value::Int(*n),
        Prop::Float(f) => firstlog::Value::Float(*f),
        Prop::Bool(b) => firstlog::Value::Bool(*b),
    }
}

/// The event as firstlog's typed input, for the source behind `write_key`.
/// Adds an application event to a firstlog `EventBatch`, borrowing its strings
/// (the fastest typed path: no `NewEvent`, nothing allocated per event).
pub fn add_to_batch<'a>(
    batch: &mut firstlog::EventBatch<'a>,
    event: &'a AppEvent,
    write_key: &'a str,
) {
    let mut e = batch.event(&event.name, write_key);
    e.timestamp_ms(event.timestamp_ms);
    if let Some(id) = &event.user_id {
        e.profile(id);
    }
    if let Some(id) = &event.session_id {
        e.session(id);
    }
    if let Some(id) = &event.message_id {
        e.message_id(id);
    }
    for (name, value) in &event.properties {
        match value {
            Prop::Text(s) => e.property(name, s),
            Prop::Int(n) => e.property(name, *n),
            Prop::Float(f) => e.property(name, *f),
            Prop::Bool(b) => e.property(name, *b),
        };
    }
    let c = &event.context;
    let library = [
        ("name", c.library_name.as_str()),
        ("version", c.library_version.as_str()),
    ];
    e.context("ip", &c.ip)
        .context("user_agent", &c.user_agent)
        .context("library", library)
        .context("locale", &c.locale);
}

pub fn to_new_event(event: &AppEvent, write_key: &str) -> firstlog::NewEvent {
    let mut e = firstlog::NewEvent::new(event.name.as_str(), write_key);
    if let Some(id) = &event.user_id {
        e = e.profile(id.as_str());
    }
    if let Some(id) = &event.session_id {
        e = e.session(id.as_str());
    }
    if let Some(id) = &event.message_id {
        e = e.message_id(id.as_str());
    }
    e = e.timestamp_ms(event.timestamp_ms);
    for (key, value) in &event.properties {
        e = e.property(key.as_str(), prop_value(value));
    }
    let c = &event.context;
    let mut library = firstlog::Map::new();
    library.insert("name", c.library_name.as_str());
    library.insert("version", c.library_version.as_str());
    e.context_field("ip", c.ip.as_str())
        .context_field("user_agent", c.user_agent.as_str())
        .context_field("library", library)
        .context_field("locale", c.locale.as_str())
}

fn prop_from<S: AsRef<str>>(value: &firstlog::Value<S>) -> Prop {
    match value {
        firstlog::Value::String(s) => Prop::Text(s.as_ref().to_owned()),
        firstlog::Value::Int(n) => Prop::Int(*n),
        firstlog::Value::UInt(n) => Prop::Int(*n as i64),
        firstlog::Value::Float(f) => Prop::Float(*f),
        firstlog::Value::Bool(b) => Prop::Bool(*b),
        // The application never sends these; keep something visible.
        other => Prop::Text(other.type_name().to_owned()),
    }
}

fn text<S: AsRef<str>>(map: &firstlog::Map<S>, key: &str) -> String {
    map.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A stored event (owned) back as the application's struct; `source` is the
/// application's index of the source queried.
pub fn from_stored(event: &firstlog::Event, source: u16) -> AppEvent {
    let ids = [event.profile_id(), event.session_id(), event.message_id()];
    from_parts(
        event.name(),
        ids,
        event.timestamp(),
        event.properties(),
        event.context(),
        source,
    )
}

/// A stored event read in place ([`firstlog::EventRef`]: its objects decoded
/// here, strings borrowed until copied into the struct).
pub fn from_ref(event: &firstlog::EventRef<'_>, source: u16) -> firstlog::Result<AppEvent> {
    let ids = [event.profile_id(), event.session_id(), event.message_id()];
    let (properties, context) = (event.properties()?, event.context()?);
    Ok(from_parts(
        event.name(),
        ids,
        event.timestamp(),
        &properties,
        &context,
        source,
    ))
}

fn from_parts<S: AsRef<str>>(
    name: &str,
    [user_id, session_id, message_id]: [Option<&str>; 3],
    timestamp_ms: i64,
    properties: &firstlog::Map<S>,
    context: &firstlog::Map<S>,
    source: u16,
) -> AppEvent {
    let own = |s: Option<&str>| s.map(str::to_owned);
    let library = context.get("library").and_then(|v| v.as_object());
    AppEvent {
        source,
        name: name.to_owned(),
        user_id: own(user_id),
        session_id: own(session_id),
        message_id: own(message_id),
        timestamp_ms,
        properties: properties
            .iter()
            .map(|(k, v)| (k.to_owned(), prop_from(v)))
            .collect(),
        context: AppContext {
            ip: text(context, "ip"),
            user_agent: text(context, "user_agent"),
            library_name: library.map(|l| text(l, "name")).unwrap_or_default(),
            library_version: library.map(|l| text(l, "version")).unwrap_or_default(),
            locale: text(context, "locale"),
        },
    }
}

// ---------------------------------------------------------------------------
// The generator's tables.

/// The kinds of properties an event may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
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
const KINDS: [Kind; 12] = [
    Kind::Url,
    Kind::Path,
    Kind::Title,
    Kind::Referrer,
    Kind::Email,
    Kind::Amount,
    Kind::Quantity,
    Kind::DurationMs,
    Kind::LoggedIn,
    Kind::FirstVisit,
    Kind::Plan,
    Kind::ButtonText,
];

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Path => "path",
            Kind::Title => "title",
            Kind::Referrer => "referrer",
            Kind::Email => "email",
            Kind::Amount => "amount",
            Kind::Quantity => "quantity",
            Kind::DurationMs => "duration_ms",
            Kind::LoggedIn => "logged_in",
            Kind::FirstVisit => "first_visit",
            Kind::Plan => "plan",
            Kind::ButtonText => "button_text",
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

/// The collector libraries (name, version): the website's and the mobile apps'.
const LIBRARIES: [(&str, &str); 2] = [("firstparty.js", "2.4.1"), ("firstparty-mobile", "1.8.0")];

/// User agents as they are sent today: browsers, and the mobile apps (whose
/// agents start with `Example`).
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
