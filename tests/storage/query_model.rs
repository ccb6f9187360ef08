//! Every query shape answers exactly what a brute-force scan of a plain `Vec` of
//! the collected events answers: random multi-segment stores (small segments, rolls,
//! singles and batches, four sources with skew, five names, profiles, timestamps
//! with late, out-of-order events, some before 1970) and random queries (since,
//! until, names, profile, after, limit, descending; `iter`, `for_each`, `count`,
//! `count_by_name`, `count_by_bucket`, `distinct_profiles`, and cursor paging),
//! before and after a reopen in the middle of the workload (clean or as after a
//! process kill).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use crate::support::store::mem_options;
use firstlog::testing::SplitMix64;
use firstlog::testing::{CrashMode, MemFs};
use firstlog::{Bucket, Event, NewEvent, Query, Source, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

const DIR: &str = "/model";
const NAMES: [&str; 5] = [
    "Page Viewed",
    "Button Clicked",
    "Form Submitted",
    "Cart Abandoned",
    "Newsletter Signup",
];
/// A name no event has.
const UNUSED_NAME: &str = "Agent Assigned";
const PROFILES: u64 = 9;
const HOUR_MS: i64 = 3_600_000;

/// An event as the model knows it.
#[derive(Clone, Debug)]
struct Spec {
    id: u64,
    source: usize,
    name: &'static str,
    profile: Option<String>,
    ts: i64,
    pad: usize,
}

#[derive(Clone, Debug)]
struct Stored {
    seq: u64,
    spec: Spec,
}

/// What was collected, in collection calls: one `Vec` per call (a batch or a
/// single), `None` for a roll.
fn workload(seed: u64, n: usize) -> Vec<Option<Vec<Spec>>> {
    let mut rng = SplitMix64::new(seed);
    let base = [1_700_000_000_000i64, -5 * 24 * HOUR_MS][rng.below(2) as usize];
    let mut clock = base;
    let mut out = Vec::new();
    let mut id = 0u64;
    while (id as usize) < n {
        if rng.chance(0.01) {
            out.push(None);
            continue;
        }
        let size = if rng.chance(0.7) {
            1
        } else {
            1 + rng.below(30) as usize
        };
        let mut call = Vec::new();
        for _ in 0..size.min(n - id as usize) {
            clock += rng.below(2 * HOUR_MS as u64) as i64 / 10;
            let late = if rng.chance(0.2) {
                rng.below(3 * 24 * HOUR_MS as u64) as i64
            } else {
                0
            };
            let source = match rng.below(100) {
                0..60 => 0,
                60..85 => 1,
                85..97 => 2,
                _ => 3,
            };
            call.push(Spec {
                id,
                source,
                name: NAMES[(rng.below(5) * rng.below(5) / 4) as usize],
                profile: (!rng.chance(0.15)).then(|| format!("profile-{}", rng.below(PROFILES))),
                ts: clock - late,
                pad: rng.below(200) as usize,
            });
            id += 1;
        }
        out.push(Some(call));
    }
    out
}

fn new_event(sources: &[Source], spec: &Spec) -> NewEvent {
    let mut e = NewEvent::new(spec.name, sources[spec.source].write_key())
        .timestamp_ms(spec.ts)
        .property("id", spec.id)
        .property("pad", "z".repeat(spec.pad));
    if let Some(p) = &spec.profile {
        e = e.profile(p.clone());
    }
    e
}

/// A query's parameters.
#[derive(Clone, Debug, Default)]
struct Shape {
    source: usize,
    since: Option<i64>,
    until: Option<i64>,
    names: Vec<&'static str>,
    profile: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
    descending: bool,
}

impl Shape {
    fn random(rng: &mut SplitMix64, model: &[Stored]) -> Shape {
        let source = rng.below(5) as usize; // 4 = a source without events
        let of_source: Vec<&Stored> = model.iter().filter(|s| s.spec.source == source).collect();
        let pick_ts = |rng: &mut SplitMix64| -> i64 {
            if !of_source.is_empty() && rng.chance(0.5) {
                // Exactly an event's timestamp: tests both bound inclusivities.
                of_source[rng.below(of_source.len() as u64) as usize]
                    .spec
                    .ts
            } else {
                let (lo, hi) = model.iter().fold((i64::MAX, i64::MIN), |(lo, hi), s| {
                    (lo.min(s.spec.ts), hi.max(s.spec.ts))
                });
                let span = (hi - lo).max(1) as u64;
                lo - HOUR_MS + rng.below(span + 2 * HOUR_MS as u64) as i64
            }
        };
        let mut shape = Shape {
            source,
            descending: rng.chance(0.4),
            ..Shape::default()
        };
        if rng.chance(0.4) {
            shape.since = Some(pick_ts(rng));
        }
        if rng.chance(0.4) {
            shape.until = Some(pick_ts(rng));
        }
        if rng.chance(0.4) {
            for _ in 0..1 + rng.below(3) {
                let name = if rng.chance(0.1) {
                    UNUSED_NAME
                } else {
                    NAMES[rng.below(5) as usize]
                };
                shape.names.push(name);
            }
        }
        if rng.chance(0.3) {
            shape.profile = Some(format!("profile-{}", rng.below(PROFILES + 1)));
        }
        if rng.chance(0.4) {
            let max = model.len() as u64;
            shape.after = Some(if !of_source.is_empty() && rng.chance(0.5) {
                of_source[rng.below(of_source.len() as u64) as usize].seq
            } else {
                rng.below(max + 3)
            });
        }
        if rng.chance(0.4) {
            shape.limit = Some(rng.below(40) as usize);
        }
        shape
    }

    fn build<'s>(&self, store: &'s Store, sources: &[Source]) -> Query<'s> {
        let mut q = store.query(sources[self.source].id());
        if let Some(t) = self.since {
            q = q.since(t);
        }
        if let Some(t) = self.until {
            q = q.until(t);
        }
        for name in &self.names {
            q = q.name(name);
        }
        if let Some(p) = &self.profile {
            q = q.profile(p);
        }
        if let Some(a) = self.after {
            q = q.after(a);
        }
        if let Some(l) = self.limit {
            q = q.limit(l);
        }
        if self.descending {
            q = q.descending();
        }
        q
    }

    /// Matches ignoring `after`, order and limit.
    fn matches(&self, s: &Stored) -> bool {
        let spec = &s.spec;
        spec.source == self.source
            && self.since.is_none_or(|t| spec.ts >= t)
            && self.until.is_none_or(|t| spec.ts < t)
            && (self.names.is_empty() || self.names.contains(&spec.name))
            && self
                .profile
                .as_ref()
                .is_none_or(|p| spec.profile.as_ref() == Some(p))
    }

    /// The brute-force answer, with `after` and order but no limit.
    fn expected_unlimited<'m>(&self, model: &'m [Stored]) -> Vec<&'m Stored> {
        let mut out: Vec<&Stored> = model
            .iter()
            .filter(|s| self.matches(s))
            .filter(|s| match (self.after, self.descending) {
                (None, _) => true,
                (Some(a), false) => s.seq > a,
                (Some(a), true) => s.seq < a,
            })
            .collect();
        if self.descending {
            out.reverse();
        }
        out
    }

    fn expected<'m>(&self, model: &'m [Stored]) -> Vec<&'m Stored> {
        let mut out = self.expected_unlimited(model);
        if let Some(l) = self.limit {
            out.truncate(l);
        }
        out
    }
}

fn check_event(e: &Event, want: &Stored, sources: &[Source], ctx: &str) {
    assert_eq!(e.seq(), want.seq, "{ctx}");
    let spec = &want.spec;
    assert_eq!(
        e.properties().get("id").and_then(|v| v.as_i64()),
        Some(spec.id as i64),
        "{ctx}"
    );
    assert_eq!(e.source(), sources[spec.source].id(), "{ctx}");
    assert_eq!(e.name(), spec.name, "{ctx}");
    assert_eq!(e.profile_id(), spec.profile.as_deref(), "{ctx}");
    assert_eq!(e.timestamp(), spec.ts, "{ctx}");
    assert_eq!(
        e.properties()
            .get("pad")
            .and_then(|v| v.as_str())
            .map(str::len),
        Some(spec.pad),
        "{ctx}"
    );
}

/// Runs one query shape every way and compares with the model.
fn check_shape(store: &Store, sources: &[Source], model: &[Stored], shape: &Shape, ctx: &str) {
    let ctx = format!("{ctx}, {shape:?}");
    let want = shape.expected(model);
    let q = shape.build(store, sources);

    // iter(): owned events, and the cursor of the last one.
    let mut iter = q.iter();
    let got: Vec<Event> = iter.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        got.iter().map(Event::seq).collect::<Vec<_>>(),
        want.iter().map(|s| s.seq).collect::<Vec<_>>(),
        "{ctx}: iter"
    );
    for (e, w) in got.iter().zip(&want) {
        check_event(e, w, sources, &ctx);
    }
    assert_eq!(iter.cursor(), want.last().map(|s| s.seq), "{ctx}: cursor");
    assert_eq!(iter.stats().decoded, want.len() as u64, "{ctx}: decoded");

    // for_each(): borrowed events, decoding exactly what it returns.
    let mut k = 0;
    let stats = q
        .for_each(|e| {
            check_event(&e.to_owned_event().unwrap(), want[k], sources, &ctx);
            k += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(k, want.len(), "{ctx}: for_each");
    assert_eq!(stats.decoded, want.len() as u64, "{ctx}: for_each decoded");

    // count(): capped by the limit.
    assert_eq!(q.count().unwrap(), want.len() as u64, "{ctx}: count");

    // Paging with after(cursor) gives the unlimited answer, in order.
    if let Some(page) = shape.limit.filter(|&l| l > 0) {
        let mut paged = Vec::new();
        let mut cursor = shape.after;
        loop {
            let mut s = shape.clone();
            s.after = cursor;
            s.limit = Some(page);
            let mut it = s.build(store, sources).iter();
            let batch: Vec<u64> = it.by_ref().map(|e| e.unwrap().seq()).collect();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= page, "{ctx}: page too long");
            cursor = it.cursor();
            paged.extend(batch);
        }
        let all: Vec<u64> = shape
            .expected_unlimited(model)
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(paged, all, "{ctx}: paging");
    }

    // Analytics (no limit): from the index alone.
    let mut s = shape.clone();
    s.limit = None;
    let q = s.build(store, sources);
    let matching = s.expected_unlimited(model);
    let mut by_name: HashMap<&str, u64> = HashMap::new();
    for m in &matching {
        *by_name.entry(m.spec.name).or_default() += 1;
    }
    let mut by_name: Vec<(String, u64)> = by_name
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect();
    by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let got: Vec<(String, u64)> = q
        .count_by_name()
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.events))
        .collect();
    assert_eq!(got, by_name, "{ctx}: count_by_name");

    for bucket in [Bucket::Hour, Bucket::Day] {
        let width = bucket.millis();
        let mut want: BTreeMap<i64, (u64, BTreeSet<&str>)> = BTreeMap::new();
        for m in &matching {
            let slot = want.entry(m.spec.ts.div_euclid(width) * width).or_default();
            slot.0 += 1;
            if let Some(p) = &m.spec.profile {
                slot.1.insert(p);
            }
        }
        let want: Vec<(i64, u64, u64)> = want
            .into_iter()
            .map(|(start, (n, p))| (start, n, p.len() as u64))
            .collect();
        let got: Vec<(i64, u64, u64)> = q
            .count_by_bucket(bucket)
            .unwrap()
            .into_iter()
            .map(|b| (b.start_ms, b.events, b.profiles))
            .collect();
        assert_eq!(got, want, "{ctx}: count_by_bucket({bucket:?})");
    }
    let profiles: BTreeSet<&str> = matching
        .iter()
        .filter_map(|m| m.spec.profile.as_deref())
        .collect();
    assert_eq!(
        q.distinct_profiles().unwrap(),
        profiles.len() as u64,
        "{ctx}: distinct_profiles"
    );
}

/// Writes the workload, reopening once in the middle, and checks random queries
/// before and after the reopen and at the end.
fn run_case(seed: u64, n: usize, reopen_at: usize, kill: bool) {
    let ctx = format!("seed {seed:#x}, n {n}, reopen at {reopen_at}, kill {kill}");
    let mut fs = MemFs::new();
    let mut store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    let sources: Vec<Source> = ["www", "Help Desk", "Web App", "iOS", "Android"]
        .iter()
        .map(|n| store.create_source(n).unwrap())
        .collect();
    let mut model: Vec<Stored> = Vec::new();
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let mut reopened = false;
    for call in workload(seed, n) {
        let Some(call) = call else {
            store.roll().unwrap();
            continue;
        };
        let seqs: Vec<u64> = if call.len() == 1 {
            vec![
                store
                    .collect(new_event(&sources, &call[0]))
                    .unwrap()
                    .seq
                    .unwrap(),
            ]
        } else {
            let events = call.iter().map(|s| new_event(&sources, s)).collect();
            store
                .collect_batch(events)
                .unwrap()
                .into_iter()
                .map(|r| r.unwrap().seq.unwrap())
                .collect()
        };
        for (seq, spec) in seqs.into_iter().zip(call) {
            assert_eq!(seq, model.len() as u64 + 1, "{ctx}");
            model.push(Stored { seq, spec });
        }
        if !reopened && model.len() >= reopen_at {
            reopened = true;
            for _ in 0..10 {
                let shape = Shape::random(&mut rng, &model);
                check_shape(
                    &store,
                    &sources,
                    &model,
                    &shape,
                    &format!("{ctx}, before reopen"),
                );
            }
            if kill {
                // As after a process kill: the files as they are, nothing closed.
                let image = fs.crash(CrashMode::KeepAll, seed);
                drop(store);
                fs = image;
            } else {
                store.close().unwrap();
                drop(store);
            }
            store = Store::open_with(DIR, mem_options(&fs)).unwrap();
            assert_eq!(store.last_seq(), model.len() as u64, "{ctx}");
            for _ in 0..10 {
                let shape = Shape::random(&mut rng, &model);
                check_shape(
                    &store,
                    &sources,
                    &model,
                    &shape,
                    &format!("{ctx}, after reopen"),
                );
            }
        }
    }
    // 1000 records of at least 104 bytes cannot fit one 64 KiB segment.
    assert!(
        store.stats().segments >= 2 || n < 1000,
        "{ctx}: {} segments",
        store.stats().segments
    );
    for _ in 0..20 {
        let shape = Shape::random(&mut rng, &model);
        check_shape(
            &store,
            &sources,
            &model,
            &shape,
            &format!("{ctx}, at the end"),
        );
    }
    // Every source, whole, both orders.
    for source in 0..sources.len() {
        for descending in [false, true] {
            let shape = Shape {
                source,
                descending,
                ..Shape::default()
            };
            check_shape(
                &store,
                &sources,
                &model,
                &shape,
                &format!("{ctx}, whole source"),
            );
        }
    }
}

proptest! {
    // A fixed seed keeps runs repeatable; PROPTEST_RNG_SEED=<u64> explores others.
    #![proptest_config(Config {
        cases: 64,
        failure_persistence: None,
        rng_seed: match Config::default().rng_seed {
            RngSeed::Random => RngSeed::Fixed(0x0F12_57C0_DE00_0004),
            chosen => chosen,
        },
        ..Config::default()
    })]

    #[test]
    fn queries_match_a_brute_force_scan(
        seed in any::<u64>(),
        n in 1usize..2000,
        reopen_fraction in 0.0f64..1.0,
        kill in any::<bool>(),
    ) {
        let reopen_at = ((n as f64 * reopen_fraction) as usize).max(1);
        run_case(seed, n, reopen_at, kill);
    }
}

#[test]
fn a_fixed_large_case() {
    // A repeatable case at the top of the size range.
    run_case(0xF1257106, 2000, 1200, true);
}

#[test]
fn unknown_source_is_an_error() {
    let fs = MemFs::new();
    let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    let q = store.query(firstlog::SourceId(77));
    assert!(matches!(
        q.iter().next(),
        Some(Err(firstlog::Error::UnknownSource { id: 77 }))
    ));
    assert!(matches!(
        q.count(),
        Err(firstlog::Error::UnknownSource { id: 77 })
    ));
}
