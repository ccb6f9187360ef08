//! Local analytics from the index alone (no record is decoded): events per name,
//! events and distinct profiles per hour or day.
//!
//! Distinct profiles are counted exactly over the 64-bit profile hashes stored in
//! the index; two different profile ids with the same XXH3-64 hash would count
//! once (for a million profiles the chance of any such pair is about 3e-8).

use std::collections::{HashMap, HashSet};

/// Hash maps and sets of the counts: keys are already hashes or bucket
/// numbers, so a fast, randomly seeded hash instead of SipHash (which took
/// most of a count's time).
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = HashSet<K, foldhash::fast::RandomState>;

use serde::Serialize;

use super::Query;
use crate::error::Result;

/// Time buckets for [`Query::count_by_bucket`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Hours (UTC).
    Hour,
    /// Days (UTC).
    Day,
}

impl Bucket {
    /// The bucket width in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }
}

/// Events of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameCount {
    /// The event name (`#<hash>` if the name is unknown, which cannot happen for
    /// records written by this version).
    pub name: String,
    /// The number of events.
    pub events: u64,
}

/// Events in one time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketCount {
    /// The bucket's start (ms since the Unix epoch, UTC).
    pub start_ms: i64,
    /// The number of events.
    pub events: u64,
    /// The number of distinct profiles among them (events without a profile are
    /// not counted here).
    pub profiles: u64,
}

impl Query<'_> {
    /// Matching events per event name, most frequent first (ties by name).
    pub fn count_by_name(&self) -> Result<Vec<NameCount>> {
        let mut by_hash: Map<u64, u64> = Map::default();
        self.for_each_entry(|e| *by_hash.entry(e.name_hash).or_default() += 1)?;
        let log = self.log();
        let mut out: Vec<NameCount> = by_hash
            .into_iter()
            .map(|(hash, events)| NameCount {
                name: log
                    .names()
                    .get(hash)
                    .map_or_else(|| format!("#{hash:016x}"), |n| n.to_string()),
                events,
            })
            .collect();
        out.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Matching events and distinct profiles per time bucket, oldest first.
    pub fn count_by_bucket(&self, bucket: Bucket) -> Result<Vec<BucketCount>> {
        let width = bucket.millis();
        let mut buckets: Map<i64, (u64, Set<u64>)> = Map::default();
        self.for_each_entry(|e| {
            let start = e.timestamp_ms.div_euclid(width) * width;
            let slot = buckets.entry(start).or_default();
            slot.0 += 1;
            if e.profile_hash != 0 {
                slot.1.insert(e.profile_hash);
            }
        })?;
        let mut out: Vec<BucketCount> = buckets
            .into_iter()
            .map(|(start_ms, (events, profiles))| BucketCount {
                start_ms,
                events,
                profiles: profiles.len() as u64,
            })
            .collect();
        out.sort_by_key(|b| b.start_ms);
        Ok(out)
    }

    /// The number of distinct profiles among the matching events.
    pub fn distinct_profiles(&self) -> Result<u64> {
        let mut seen = Set::default();
        self.for_each_entry(|e| {
            if e.profile_hash != 0 {
                seen.insert(e.profile_hash);
            }
        })?;
        Ok(seen.len() as u64)
    }
}

/// What [`Query::counts`] groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CountBy {
    /// Event name.
    Name,
    /// Hour (UTC).
    Hour,
    /// Day (UTC).
    Day,
}

impl std::str::FromStr for CountBy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<CountBy, String> {
        match s {
            "name" => Ok(CountBy::Name),
            "hour" => Ok(CountBy::Hour),
            "day" => Ok(CountBy::Day),
            other => Err(format!("{other:?}: must be name, hour or day")),
        }
    }
}

/// The counts of a query's events: totals, and one group per event name or time
/// bucket. From the index alone. Serializes as the body of `GET
/// /v1/sources/{id}/counts`; `firstlog counts` prints the same groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// The source.
    pub source_id: u32,
    /// What the groups are.
    pub by: CountBy,
    /// Matching events.
    pub events: u64,
    /// Distinct profiles among them.
    pub profiles: u64,
    /// The groups: by name most frequent first; by time oldest first.
    pub groups: Vec<CountGroup>,
}

/// One group of [`Counts`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountGroup {
    /// The event name (groups by name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The bucket's start, ms since the Unix epoch (groups by time; serialized
    /// as RFC 3339 `start`).
    #[serde(
        rename = "start",
        skip_serializing_if = "Option::is_none",
        serialize_with = "start_rfc3339"
    )]
    pub start_ms: Option<i64>,
    /// Events in the group.
    pub events: u64,
    /// Distinct profiles among them.
    pub profiles: u64,
}

fn start_rfc3339<S: serde::Serializer>(
    ms: &Option<i64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&crate::time::format_rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

/// Events and distinct profiles of one group, being counted.
#[derive(Default)]
struct Tally {
    events: u64,
    profiles: Set<u64>,
}

impl Tally {
    fn add(&mut self, profile_hash: u64) {
        self.events += 1;
        if profile_hash != 0 {
            self.profiles.insert(profile_hash);
        }
    }
}

impl Query<'_> {
    /// Totals and groups by name, hour or day, in one pass over the index.
    pub fn counts(&self, by: CountBy) -> Result<Counts> {
        let mut total = Tally::default();
        let mut groups: Map<u64, Tally> = Map::default();
        let key = |e: &crate::index::IndexEntry| match by {
            CountBy::Name => e.name_hash,
            CountBy::Hour => e.timestamp_ms.div_euclid(Bucket::Hour.millis()) as u64,
            CountBy::Day => e.timestamp_ms.div_euclid(Bucket::Day.millis()) as u64,
        };
        self.for_each_entry(|e| {
            total.add(e.profile_hash);
            groups.entry(key(e)).or_default().add(e.profile_hash);
        })?;
        let names = self.log().names();
        let mut out: Vec<CountGroup> = groups
            .into_iter()
            .map(|(k, t)| {
                let (name, start_ms) = match by {
                    CountBy::Name => (
                        Some(
                            names
                                .get(k)
                                .map_or_else(|| format!("#{k:016x}"), |n| n.to_string()),
                        ),
                        None,
                    ),
                    CountBy::Hour => (None, Some(k as i64 * Bucket::Hour.millis())),
                    CountBy::Day => (None, Some(k as i64 * Bucket::Day.millis())),
                };
                CountGroup {
                    name,
                    start_ms,
                    events: t.events,
                    profiles: t.profiles.len() as u64,
                }
            })
            .collect();
        match by {
            CountBy::Name => {
                out.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)))
            }
            CountBy::Hour | CountBy::Day => out.sort_by_key(|g| g.start_ms),
        }
        Ok(Counts {
            source_id: self.source_id(),
            by,
            events: total.events,
            profiles: total.profiles.len() as u64,
            groups: out,
        })
    }
}
