//! The event-naming guideline: the seed's examples are flagged with the right
//! violations and fixes; the policy (Off, Warn by default, Enforce) applies per
//! store and per source, survives a reopen, and any UTF-8 name is storable under
//! Off and Warn.

use std::sync::Arc;

use crate::support::store::{mem_options, mem_store, options};
use firstlog::FnRule;
use firstlog::testing::MemFs;
use firstlog::{Draft, Error, NamingPolicy, NewEvent, Scope, Source, Store, Verdict};
use firstlog::{Violation, check_event_name};

fn name_at(store: &Store, seq: u64) -> String {
    store
        .read_from(seq)
        .next()
        .unwrap()
        .unwrap()
        .name()
        .to_owned()
}

#[test]
fn the_guideline_accepts_good_names() {
    for name in [
        "Page Viewed",
        "Form Submitted",
        "Button Clicked",
        "Agent Assigned",
        "Cart Abandoned",
        "Newsletter Subscription Started",
        "Email Sent",
    ] {
        assert_eq!(check_event_name(name), None, "{name}");
    }
}

#[test]
fn the_seed_examples_are_flagged_with_fixes() {
    let w = check_event_name("form submitted").unwrap();
    assert_eq!(w.name, "form submitted");
    assert_eq!(
        w.violations,
        [
            Violation::NotTitleCase {
                word: "form".into()
            },
            Violation::NotTitleCase {
                word: "submitted".into()
            },
        ]
    );
    assert_eq!(w.suggestion.as_deref(), Some("Form Submitted"));

    let w = check_event_name("Button clicked").unwrap();
    assert_eq!(
        w.violations,
        [Violation::NotTitleCase {
            word: "clicked".into()
        }]
    );
    assert_eq!(w.suggestion.as_deref(), Some("Button Clicked"));

    let w = check_event_name("Product 126").unwrap();
    assert!(w.violations.contains(&Violation::Digits), "{w}");
    assert!(w.describe().contains("digits"), "{}", w.describe());

    let w = check_event_name("Cart-Abandoned").unwrap();
    assert!(
        w.violations
            .contains(&Violation::SpecialCharacters { chars: "-".into() }),
        "{w}"
    );
    assert_eq!(w.suggestion.as_deref(), Some("Cart Abandoned"));
    assert!(w.to_string().contains("Cart Abandoned"), "{w}");
}

#[test]
fn other_guideline_breaks_are_named() {
    let has = |name: &str, v: &Violation| {
        let w = check_event_name(name).unwrap_or_else(|| panic!("{name} passed"));
        assert!(w.violations.contains(v), "{name}: {w}");
        w
    };
    let w = has("Page  Viewed", &Violation::Spacing);
    assert_eq!(w.suggestion.as_deref(), Some("Page Viewed"));
    has(" Page Viewed", &Violation::Spacing);
    has("Page Viewed ", &Violation::Spacing);
    has("Viewed", &Violation::TooFewWords);
    has(
        "Page View",
        &Violation::NotPastTense {
            word: "View".into(),
        },
    );
    has(
        "PAGE VIEWED",
        &Violation::NotTitleCase {
            word: "PAGE".into(),
        },
    );
    let w = has(
        "page_viewed",
        &Violation::SpecialCharacters { chars: "_".into() },
    );
    assert_eq!(w.suggestion.as_deref(), Some("Page Viewed"));
    let w = has(
        "Café Opened",
        &Violation::SpecialCharacters { chars: "é".into() },
    );
    assert!(!w.describe().is_empty());
}

#[test]
fn warn_is_the_default_accepts_and_counts() {
    assert_eq!(NamingPolicy::default(), NamingPolicy::Warn);
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let good = store
        .collect(NewEvent::new("Form Submitted", src.write_key()))
        .unwrap();
    assert_eq!(good.naming, None);
    let mut expected_warnings = 0;
    for (name, fix) in [
        ("form submitted", Some("Form Submitted")),
        ("Button clicked", Some("Button Clicked")),
        ("Product 126", None),
        ("Cart-Abandoned", Some("Cart Abandoned")),
    ] {
        let r = store.collect(NewEvent::new(name, src.write_key())).unwrap();
        let seq = r.seq.expect("stored under Warn");
        assert_eq!(name_at(&store, seq), name, "stored exactly as given");
        let w = r.naming.expect("a warning in the receipt");
        assert_eq!(w.name, name);
        if let Some(fix) = fix {
            assert_eq!(w.suggestion.as_deref(), Some(fix));
        }
        expected_warnings += 1;
        assert_eq!(store.stats().naming_warnings, expected_warnings);
    }
    // JSON and batches count too, once per stored event.
    let json = format!(
        r#"{{"event": "cart abandoned", "write_key": "{}"}}"#,
        src.write_key()
    );
    assert!(
        store
            .collect_json(json.as_bytes())
            .unwrap()
            .naming
            .is_some()
    );
    let outcomes = store
        .collect_batch(vec![
            NewEvent::new("x", src.write_key()),
            NewEvent::new("Page Viewed", src.write_key()),
            NewEvent::new("y", src.write_key()),
        ])
        .unwrap();
    let warned: Vec<bool> = outcomes
        .iter()
        .map(|o| o.as_ref().unwrap().naming.is_some())
        .collect();
    assert_eq!(warned, [true, false, true]);
    assert_eq!(store.stats().naming_warnings, expected_warnings + 3);
}

#[test]
fn off_stores_anything_without_a_word() {
    let fs = MemFs::new();
    let store = Store::open_with("/mem", mem_options(&fs).naming(NamingPolicy::Off)).unwrap();
    let src = store.create_source("Web Application").unwrap();
    for name in ["form submitted", "Product 126", "Cart-Abandoned", "x"] {
        let r = store.collect(NewEvent::new(name, src.write_key())).unwrap();
        assert_eq!(r.naming, None, "{name}");
        assert_eq!(name_at(&store, r.seq.unwrap()), name);
    }
    assert_eq!(store.stats().naming_warnings, 0);
}

#[test]
fn enforce_rejects_with_the_violations() {
    let store = mem_store(options());
    store
        .set_naming_policy(None, NamingPolicy::Enforce)
        .unwrap();
    let src = store.create_source("Web Application").unwrap();
    for name in [
        "form submitted",
        "Button clicked",
        "Product 126",
        "Cart-Abandoned",
    ] {
        let before = store.last_seq();
        let err = store
            .collect(NewEvent::new(name, src.write_key()))
            .unwrap_err();
        match &err {
            Error::NamingViolation {
                name: n,
                violations,
            } => {
                assert_eq!(n, name);
                assert_eq!(violations, &check_event_name(name).unwrap().describe());
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(store.last_seq(), before, "nothing written");
    }
    let r = store
        .collect(NewEvent::new("Page Viewed", src.write_key()))
        .unwrap();
    assert_eq!(r.seq, Some(1));
    // Refused JSON is quarantined with the violations.
    let json = format!(
        r#"{{"event": "Cart-Abandoned", "write_key": "{}"}}"#,
        src.write_key()
    );
    let err = store.collect_json(json.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::NamingViolation { .. }));
    let q = store.rejected(1);
    assert_eq!(q[0].payload, json);
    assert!(
        q[0].reason.contains("special characters"),
        "{}",
        q[0].reason
    );
    // In a batch only the offending item fails.
    let outcomes = store
        .collect_batch(vec![
            NewEvent::new("Page Viewed", src.write_key()),
            NewEvent::new("page viewed", src.write_key()),
        ])
        .unwrap();
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(Error::NamingViolation { .. })));
    assert_eq!(store.last_seq(), 2);
}

#[test]
fn per_source_policies_override_the_stores() {
    let fs = MemFs::new();
    let (strict, loose, default): (Source, Source, Source);
    {
        let store = Store::open_with("/mem", mem_options(&fs)).unwrap();
        strict = store.create_source("Strict").unwrap();
        loose = store.create_source("Loose").unwrap();
        default = store.create_source("Default").unwrap();
        store
            .set_naming_policy(Some(strict.id()), NamingPolicy::Enforce)
            .unwrap();
        store
            .set_naming_policy(Some(loose.id()), NamingPolicy::Off)
            .unwrap();
        check_per_source(&store, &strict, &loose, &default, NamingPolicy::Warn);
        store.close().unwrap();
    }
    // The policies survive a reopen, and Options::naming does not override an
    // existing store's policy.
    let store = Store::open_with("/mem", mem_options(&fs).naming(NamingPolicy::Off)).unwrap();
    assert_eq!(
        store.source(strict.id()).unwrap().naming_policy(),
        Some(NamingPolicy::Enforce)
    );
    assert_eq!(store.source(default.id()).unwrap().naming_policy(), None);
    check_per_source(&store, &strict, &loose, &default, NamingPolicy::Warn);
    // Changing the store's policy affects only sources without their own.
    store
        .set_naming_policy(None, NamingPolicy::Enforce)
        .unwrap();
    check_per_source(&store, &strict, &loose, &default, NamingPolicy::Enforce);
    store.set_naming_policy(None, NamingPolicy::Off).unwrap();
    check_per_source(&store, &strict, &loose, &default, NamingPolicy::Off);
    assert!(matches!(
        store.set_naming_policy(Some(firstlog::SourceId(99)), NamingPolicy::Off),
        Err(Error::UnknownSource { id: 99 })
    ));
}

/// Collects a badly named event on each source and checks what each policy does.
fn check_per_source(
    store: &Store,
    strict: &Source,
    loose: &Source,
    default: &Source,
    store_policy: NamingPolicy,
) {
    let bad = || "cart-abandoned";
    assert!(matches!(
        store.collect(NewEvent::new(bad(), strict.write_key())),
        Err(Error::NamingViolation { .. })
    ));
    let r = store
        .collect(NewEvent::new(bad(), loose.write_key()))
        .unwrap();
    assert!(r.seq.is_some() && r.naming.is_none());
    let r = store.collect(NewEvent::new(bad(), default.write_key()));
    match store_policy {
        NamingPolicy::Warn => assert!(r.unwrap().naming.is_some()),
        NamingPolicy::Off => assert!(r.unwrap().naming.is_none()),
        NamingPolicy::Enforce => assert!(matches!(r, Err(Error::NamingViolation { .. }))),
    }
}

#[test]
fn any_utf8_name_is_storable_under_off_and_warn() {
    let names = [
        "購入完了",
        "🎉 Party Started 🎉",
        "page_viewed",
        "Ünïcødé Ëvent",
        "a",
        " leading and trailing ",
        "tab\tand\nnewline",
        "nul\u{0}inside",
        "\u{202e}right-to-left override",
        "mixed 日本 123 !@#$%^&*()",
        &"Long Name ".repeat(51), // 510 bytes, under the 512-byte limit
    ];
    for policy in [NamingPolicy::Off, NamingPolicy::Warn] {
        let fs = MemFs::new();
        let store = Store::open_with("/mem", mem_options(&fs).naming(policy)).unwrap();
        let src = store.create_source("Web Application").unwrap();
        for name in names {
            let r = store
                .collect(NewEvent::new(name, src.write_key()))
                .unwrap_or_else(|e| panic!("{policy:?} {name:?}: {e}"));
            assert_eq!(r.naming.is_some(), policy == NamingPolicy::Warn, "{name:?}");
            assert_eq!(name_at(&store, r.seq.unwrap()), name);
            // And through JSON, escaped.
            let json = serde_json::json!({"event": name, "write_key": src.write_key()}).to_string();
            let r = store.collect_json(json.as_bytes()).unwrap();
            assert_eq!(name_at(&store, r.seq.unwrap()), name);
            // Queryable by that exact name.
            assert_eq!(
                store.query(src.id()).name(name).count().unwrap(),
                2,
                "{name:?}"
            );
        }
    }
}

#[test]
fn the_name_is_checked_after_rules() {
    let store = mem_store(options());
    store
        .set_naming_policy(None, NamingPolicy::Enforce)
        .unwrap();
    store.add_rule(
        Scope::All,
        Arc::new(FnRule::new("fix names", |d: &mut Draft| {
            if let Some(fix) = check_event_name(&d.name).and_then(|w| w.suggestion) {
                d.name = fix;
            }
            Verdict::Keep
        })),
    );
    let src = store.create_source("Web Application").unwrap();
    let r = store
        .collect(NewEvent::new("cart-abandoned", src.write_key()))
        .unwrap();
    assert_eq!(r.naming, None);
    assert_eq!(name_at(&store, r.seq.unwrap()), "Cart Abandoned");
    // Not fixable mechanically (no suggestion is offered): still refused.
    let err = store
        .collect(NewEvent::new("Product 126", src.write_key()))
        .unwrap_err();
    assert!(
        matches!(&err, Error::NamingViolation { name, .. } if name == "Product 126"),
        "{err:?}"
    );
}
