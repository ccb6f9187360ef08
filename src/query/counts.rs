//! Local analytics from the index alone (no record is decoded): events per name,
//! events and distinct profiles per hour or day.
//!
//! Distinct profiles are counted exactly over the 64-bit profile hashes stored in
//! the index; two different profile ids with the same XXH3-64 hash would count
//! once (for a million profiles the chance of any such pair is about 3e-8).

use std::collections::{HashMap, HashSet};

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
        let mut by_hash: HashMap<u64, u64> = HashMap::new();
        self.for_each_entry(|e| *by_hash.entry(e.name_hash).or_default() += 1)?;
        let log = self.log();
        let mut out: Vec<NameCount> = by_hash
            .into_iter()
            .map(|(hash, events)| NameCount {
                name: log
                    .name_of(hash)
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
        let mut buckets: HashMap<i64, (u64, HashSet<u64>)> = HashMap::new();
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
        let mut seen = HashSet::new();
        self.for_each_entry(|e| {
            if e.profile_hash != 0 {
                seen.insert(e.profile_hash);
            }
        })?;
        Ok(seen.len() as u64)
    }
}
