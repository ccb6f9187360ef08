//! Events appended across many segment rolls read back intact, before and after a
//! reopen, through queries and through the log reader.

use crate::support::store::options;
use crate::support::store::{Disk, event};
use firstlog::{NewEvent, Store, Value};

#[test]
fn round_trip_across_rolls_and_reopen() {
    for disk in Disk::both() {
        let (a, b);
        {
            let store = disk.open(options());
            a = store.create_source("www Marketing Page").unwrap();
            b = store.create_source("Help Desk").unwrap();
            for i in 0..2000u64 {
                let key = if i % 4 == 0 {
                    b.write_key()
                } else {
                    a.write_key()
                };
                let r = store.collect(event(key, i)).unwrap();
                assert_eq!(r.seq, Some(i + 1));
            }
            let batch: Vec<NewEvent> = (2000..3000).map(|i| event(a.write_key(), i)).collect();
            let outcomes = store.collect_batch(batch).unwrap();
            assert_eq!(outcomes.len(), 1000);
            for (k, o) in outcomes.iter().enumerate() {
                assert_eq!(o.as_ref().unwrap().seq, Some(2001 + k as u64));
            }
            assert!(store.stats().segments > 5, "{:?}", store.stats().segments);
            check(&store, a.id(), b.id());
            store.close().unwrap();
        }
        let store = disk.open(options());
        assert!(store.open_report().is_clean(), "{:?}", store.open_report());
        check(&store, a.id(), b.id());
        assert!(store.verify().unwrap().is_clean());
    }
}

fn check(store: &Store, a: firstlog::SourceId, b: firstlog::SourceId) {
    let events: Vec<_> = store.query(b).iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(events.len(), 500);
    for (k, e) in events.iter().enumerate() {
        let i = k as u64 * 4;
        assert_eq!(e.seq(), i + 1);
        assert_eq!(e.properties().get("i"), Some(&Value::Int(i as i64)));
        assert_eq!(
            e.properties().get("ratio"),
            Some(&Value::Float(i as f64 / 7.0))
        );
        assert_eq!(e.profile_id(), Some(format!("user-{}", i % 5).as_str()));
    }
    assert_eq!(store.query(a).count().unwrap(), 2500);
    assert_eq!(
        store.query(a).name("Page Viewed").count().unwrap(),
        (0..3000u64)
            .filter(|i| (i % 4 != 0 || *i >= 2000) && i % 3 == 0)
            .count() as u64
    );
    let all: Vec<_> = store.read_from(1).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 3000);
    assert!(all.windows(2).all(|w| w[0].seq() + 1 == w[1].seq()));
    let desc: Vec<u64> = store
        .query(a)
        .descending()
        .limit(3)
        .iter()
        .map(|e| e.unwrap().seq())
        .collect();
    assert_eq!(desc, vec![3000, 2999, 2998]);
}
