//! `firstlog query`, `counts`, `stats` and `verify` against a model: a seeded
//! stream with late (out-of-order) events is collected, then random filter
//! combinations (time as RFC 3339, dates and epoch ms; names; profile; cursor;
//! limit; order) must print exactly the model's events, and the counts its counts.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::cli::{fails, ok, run_with_input, store_with_sources};
use crate::support::ndjson;
use crate::support::store::temp;
use firstlog::format_rfc3339;
use firstlog::testing::SplitMix64;

const SEED: u64 = 0x0C0_FFEE;
const NAMES: [&str; 4] = [
    "Page Viewed",
    "Button Clicked",
    "Form Submitted",
    "Ticket Created",
];
/// 2024-05-01T00:00:00Z.
const T0: i64 = 1_714_521_600_000;
const HOUR: i64 = 3_600_000;

#[derive(Clone, Debug)]
struct Ev {
    seq: u64,
    source: u32,
    name: &'static str,
    profile: Option<String>,
    ts: i64,
}

#[derive(Default, Debug)]
struct Filter {
    since: Option<i64>,
    until: Option<i64>,
    names: Vec<&'static str>,
    profile: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
    desc: bool,
}

impl Filter {
    fn matches(&self, e: &Ev) -> bool {
        self.since.is_none_or(|s| e.ts >= s)
            && self.until.is_none_or(|u| e.ts < u)
            && (self.names.is_empty() || self.names.contains(&e.name))
            && self
                .profile
                .as_ref()
                .is_none_or(|p| e.profile.as_ref() == Some(p))
            && self
                .after
                .is_none_or(|a| if self.desc { e.seq < a } else { e.seq > a })
    }

    fn expect(&self, model: &[Ev], source: u32) -> Vec<u64> {
        let mut seqs: Vec<u64> = model
            .iter()
            .filter(|e| e.source == source && self.matches(e))
            .map(|e| e.seq)
            .collect();
        if self.desc {
            seqs.reverse();
        }
        seqs.truncate(self.limit.unwrap_or(usize::MAX));
        seqs
    }

    /// The command line, writing times in several accepted forms.
    fn args(&self, source: u32, rng: &mut SplitMix64) -> Vec<String> {
        let mut a = vec!["query".to_owned(), "--source".into(), source.to_string()];
        let time = |ms: i64, rng: &mut SplitMix64| match rng.below(3) {
            0 => ms.to_string(),
            1 => format_rfc3339(ms),
            _ if ms % (24 * HOUR) == 0 => format_rfc3339(ms)[..10].to_owned(),
            _ => format_rfc3339(ms).replace(".000Z", "+00:00"),
        };
        if let Some(s) = self.since {
            a.extend(["--since".into(), time(s, rng)]);
        }
        if let Some(u) = self.until {
            a.extend(["--until".into(), time(u, rng)]);
        }
        for n in &self.names {
            a.extend(["--name".into(), (*n).to_owned()]);
        }
        if let Some(p) = &self.profile {
            a.extend(["--profile".into(), p.clone()]);
        }
        if let Some(s) = self.after {
            a.extend(["--after".into(), s.to_string()]);
        }
        if let Some(l) = self.limit {
            a.extend(["--limit".into(), l.to_string()]);
        }
        if self.desc {
            a.push("--desc".into());
        }
        a
    }
}

fn build(dir: &std::path::Path) -> Vec<Ev> {
    let sources = store_with_sources(dir, &["www Marketing Page", "Help Desk"]);
    let mut rng = SplitMix64::new(SEED);
    let mut model = Vec::new();
    let mut input = String::new();
    for i in 0..1500u64 {
        let s = rng.below(2) as usize;
        let name = NAMES[rng.below(4) as usize];
        let profile = (!rng.chance(0.1)).then(|| format!("p{}", rng.below(12)));
        // Three days, events arriving out of order.
        let ts = T0 + rng.below(72 * HOUR as u64) as i64;
        let mut line = format!(
            r#"{{"event":"{name}","write_key":"{}","timestamp":"{}","properties":{{"i":{i}}}"#,
            sources[s].1,
            format_rfc3339(ts)
        );
        if let Some(p) = &profile {
            line.push_str(&format!(r#","profile_id":"{p}""#));
        }
        line.push_str("}\n");
        input.push_str(&line);
        model.push(Ev {
            seq: i + 1,
            source: sources[s].0,
            name,
            profile,
            ts,
        });
    }
    let out = run_with_input(dir, &["collect", "--json"], input.as_bytes());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["accepted"],
        1500,
        "{}",
        crate::support::cli::describe(&out)
    );
    model
}

#[test]
fn queries_and_counts_match_the_model() {
    let (_tmp, dir) = temp();
    let model = build(&dir);

    // Everything, then random filter combinations.
    let all = ndjson(&ok(&dir, &["query", "--source", "2"]));
    assert_eq!(
        all.iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        Filter::default().expect(&model, 2)
    );
    for e in &all {
        let m = &model[e["seq"].as_u64().unwrap() as usize - 1];
        assert_eq!(e["event"], m.name);
        assert_eq!(e["timestamp"], format_rfc3339(m.ts).as_str());
        assert_eq!(e["profile_id"].as_str(), m.profile.as_deref());
        assert_eq!(e["properties"]["i"], m.seq - 1);
        for key in [
            "received_at",
            "session_id",
            "message_id",
            "context",
            "source_id",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }
    let mut rng = SplitMix64::new(SEED ^ 1);
    for round in 0..40 {
        let source = 1 + rng.below(2) as u32;
        let mut f = Filter::default();
        if rng.chance(0.4) {
            f.since = Some(T0 + rng.below(72) as i64 * HOUR);
        }
        if rng.chance(0.4) {
            f.until = Some(T0 + rng.below(80) as i64 * HOUR);
        }
        if rng.chance(0.1) {
            f.since = Some(T0 + 24 * HOUR);
        }
        for _ in 0..rng.below(3) {
            f.names.push(NAMES[rng.below(4) as usize]);
        }
        if rng.chance(0.3) {
            f.profile = Some(format!("p{}", rng.below(12)));
        }
        f.desc = rng.chance(0.3);
        if rng.chance(0.3) {
            f.after = Some(rng.below(1500));
        }
        if rng.chance(0.5) {
            f.limit = Some(rng.below(50) as usize);
        }
        let args = f.args(source, &mut rng);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let got: Vec<u64> = ndjson(&ok(&dir, &argv))
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(
            got,
            f.expect(&model, source),
            "seed {SEED:#x} round {round}: {args:?}"
        );
    }

    // Paging with --after and --limit walks everything exactly once.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = ndjson(&ok(
            &dir,
            &[
                "query",
                "--source",
                "1",
                "--after",
                &after.to_string(),
                "--limit",
                "97",
            ],
        ));
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap()["seq"].as_u64().unwrap();
        paged.extend(page.iter().map(|e| e["seq"].as_u64().unwrap()));
    }
    assert_eq!(paged, Filter::default().expect(&model, 1));

    // The table format prints a header and one row per event.
    let table = ok(
        &dir,
        &[
            "query", "--source", "1", "--limit", "5", "--format", "table",
        ],
    );
    assert_eq!(table.lines().count(), 6, "{table}");
    assert!(table.lines().next().unwrap().contains("timestamp"));

    counts_match(&dir, &model);

    // Stats and verify.
    let stats: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["stats", "--format", "ndjson"])).unwrap();
    assert_eq!(stats["events"], 1500);
    for s in stats["sources"].as_array().unwrap() {
        let id = s["id"].as_u64().unwrap() as u32;
        assert_eq!(
            s["events"],
            model.iter().filter(|e| e.source == id).count() as u64
        );
    }
    assert!(ok(&dir, &["stats"]).contains("Help Desk"));
    assert!(ok(&dir, &["verify"]).contains("ok: no problems found"));
}

fn counts_match(dir: &std::path::Path, model: &[Ev]) {
    for source in [1u32, 2] {
        let of_source: Vec<&Ev> = model.iter().filter(|e| e.source == source).collect();
        // By name: events and distinct profiles.
        let got = ndjson(&ok(
            dir,
            &[
                "counts",
                "--source",
                &source.to_string(),
                "--by",
                "name",
                "--format",
                "ndjson",
            ],
        ));
        let mut expected: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
        for e in &of_source {
            let slot = expected.entry(e.name).or_default();
            slot.0 += 1;
            if let Some(p) = &e.profile {
                slot.1.insert(p);
            }
        }
        assert_eq!(got.len(), expected.len());
        for g in &got {
            let (events, profiles) = &expected[g["name"].as_str().unwrap()];
            assert_eq!(g["events"], *events);
            assert_eq!(g["profiles"], profiles.len() as u64);
        }
        // By day and hour, within a window.
        let (since, until) = (T0 + 5 * HOUR, T0 + 50 * HOUR);
        for (by, width) in [("day", 24 * HOUR), ("hour", HOUR)] {
            let got = ndjson(&ok(
                dir,
                &[
                    "counts",
                    "--source",
                    &source.to_string(),
                    "--by",
                    by,
                    "--since",
                    &format_rfc3339(since),
                    "--until",
                    &until.to_string(),
                    "--format",
                    "ndjson",
                ],
            ));
            let mut expected: BTreeMap<i64, (u64, BTreeSet<&str>)> = BTreeMap::new();
            for e in of_source.iter().filter(|e| e.ts >= since && e.ts < until) {
                let slot = expected.entry(e.ts.div_euclid(width) * width).or_default();
                slot.0 += 1;
                if let Some(p) = &e.profile {
                    slot.1.insert(p);
                }
            }
            let got: Vec<(String, u64, u64)> = got
                .iter()
                .map(|g| {
                    (
                        g["start"].as_str().unwrap().to_owned(),
                        g["events"].as_u64().unwrap(),
                        g["profiles"].as_u64().unwrap(),
                    )
                })
                .collect();
            let expected: Vec<(String, u64, u64)> = expected
                .iter()
                .map(|(start, (n, p))| (format_rfc3339(*start), *n, p.len() as u64))
                .collect();
            assert_eq!(got, expected, "source {source} by {by}");
        }
        let table = ok(
            dir,
            &["counts", "--source", &source.to_string(), "--by", "day"],
        );
        assert!(
            table.contains(&format!("total: {} events", thousands(of_source.len()))),
            "{table}"
        );
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    if s.len() > 3 {
        format!("{},{}", &s[..s.len() - 3], &s[s.len() - 3..])
    } else {
        s
    }
}

#[test]
fn bad_arguments_fail_clearly() {
    let (_tmp, dir) = temp();
    store_with_sources(&dir, &["Web App"]);
    let out = fails(&dir, &["query", "--source", "1", "--since", "yesterday"]);
    assert!(out.contains("--since") && out.contains("RFC 3339"), "{out}");
    let out = fails(&dir, &["query", "--source", "7"]);
    assert!(out.contains("no source with id 7"), "{out}");
    let out = fails(&dir, &["counts", "--source", "7", "--by", "day"]);
    assert!(out.contains("no source with id 7"), "{out}");
    let out = crate::support::cli::run(&dir, &["counts", "--source", "1", "--by", "week"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        crate::support::cli::describe(&out)
    );
    // An empty source prints nothing (and succeeds).
    assert_eq!(ok(&dir, &["query", "--source", "1"]), "");
}
