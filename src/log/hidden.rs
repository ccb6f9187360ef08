//! Events hidden from every read because an erasure covering them is pending
//! (FORMAT.md §2.6): reads filter by the hashes in the index, then confirm by the
//! stored ids, so a hash collision never hides another profile's event.

use std::path::Path;

use rustc_hash::FxHashSet;

use crate::codec::decode_event;
use crate::error::Result;
use crate::record::{RecordView, profile_hash};

/// One erased person: their ids (the profile id and its anonymous ids), the
/// sources and the sequence numbers the erasure covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HiddenProfile {
    /// The erasure request.
    pub(crate) request: u64,
    pub(crate) ids: Vec<String>,
    /// `None`: every source.
    pub(crate) sources: Option<Vec<u32>>,
    pub(crate) up_to_seq: u64,
}

/// Every hidden profile, with the hashes of their ids for a fast first check.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hidden {
    profiles: Vec<HiddenProfile>,
    hashes: FxHashSet<u64>,
}

impl Hidden {
    /// This set with one more profile.
    pub(crate) fn with(&self, profile: HiddenProfile) -> Hidden {
        let mut next = self.clone();
        next.hashes
            .extend(profile.ids.iter().map(|id| profile_hash(Some(id))));
        next.profiles.push(profile);
        next
    }

    /// This set without the profile of erasure `request`.
    pub(crate) fn without(&self, request: u64) -> Hidden {
        let profiles: Vec<HiddenProfile> = self
            .profiles
            .iter()
            .filter(|p| p.request != request)
            .cloned()
            .collect();
        profiles
            .into_iter()
            .fold(Hidden::default(), |hidden, p| hidden.with(p))
    }

    /// The erasure request covering this record, if one does.
    pub(crate) fn request_for(
        &self,
        source: u32,
        seq: u64,
        profile_id: Option<&str>,
        anonymous_id: Option<&str>,
    ) -> Option<u64> {
        self.profiles
            .iter()
            .find(|p| {
                seq <= p.up_to_seq
                    && p.sources.as_ref().is_none_or(|s| s.contains(&source))
                    && p.ids.iter().any(|id| {
                        Some(id.as_str()) == profile_id || Some(id.as_str()) == anonymous_id
                    })
            })
            .map(|p| p.request)
    }

    /// The erasure request covering a record read from `file` at `offset`, if
    /// one does: a hash match is confirmed by decoding the stored ids.
    pub(crate) fn covering(
        &self,
        record: &RecordView<'_>,
        file: &Path,
        offset: u64,
    ) -> Result<Option<u64>> {
        let h = &record.header;
        if !self.may_hide(h.profile_hash, h.anonymous_hash) {
            return Ok(None);
        }
        let event = decode_event(record, file, offset)?;
        Ok(self.request_for(h.source, h.seq, event.profile_id(), event.anonymous_id()?))
    }

    /// True when nothing is hidden (reads skip every check).
    pub(crate) fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// True when a record with these header fields may be hidden: its profile or
    /// anonymous hash is one of an erased id's. Confirm with [`Hidden::covering`].
    #[inline]
    pub(crate) fn may_hide(&self, profile_hash: u64, anonymous_hash: u64) -> bool {
        !self.hashes.is_empty()
            && ((profile_hash != 0 && self.hashes.contains(&profile_hash))
                || (anonymous_hash != 0 && self.hashes.contains(&anonymous_hash)))
    }

    /// True when a record read from `file` at `offset` is covered by an erasure.
    pub(crate) fn hides(&self, record: &RecordView<'_>, file: &Path, offset: u64) -> Result<bool> {
        Ok(self.covering(record, file, offset)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_body;
    use crate::event::{BodyOut, Map};
    use crate::record::RecordHeader;

    fn record_of(profile_id: &str, forged_hash: u64) -> (RecordHeader, Vec<u8>) {
        let empty = Map::<String>::new();
        let body = BodyOut {
            name: "Page Viewed",
            profile_id: Some(profile_id),
            session_id: None,
            message_id: None,
            properties: &empty,
            context: &empty,
        };
        let mut bytes = Vec::new();
        encode_body(&mut bytes, &body, 10).unwrap();
        let header = RecordHeader {
            seq: 5,
            source: 1,
            profile_hash: forged_hash,
            ..RecordHeader::default()
        };
        (header, bytes)
    }

    #[test]
    fn a_hash_match_is_confirmed_by_the_stored_id() {
        let hidden = Hidden::default().with(HiddenProfile {
            request: 1,
            ids: vec!["victim".into()],
            sources: None,
            up_to_seq: 10,
        });
        let hash = profile_hash(Some("victim"));
        // Another profile whose id hashes the same (forged here): not hidden.
        let (header, body) = record_of("someone-else", hash);
        let record = RecordView {
            header,
            body: &body,
        };
        assert!(hidden.may_hide(header.profile_hash, 0));
        assert_eq!(hidden.covering(&record, Path::new("x"), 0).unwrap(), None);
        // The erased profile itself: hidden.
        let (header, body) = record_of("victim", hash);
        let record = RecordView {
            header,
            body: &body,
        };
        assert_eq!(
            hidden.covering(&record, Path::new("x"), 0).unwrap(),
            Some(1)
        );
        // Out of scope (a later sequence number, another source): not hidden.
        let later = RecordView {
            header: RecordHeader { seq: 11, ..header },
            body: &body,
        };
        assert_eq!(hidden.covering(&later, Path::new("x"), 0).unwrap(), None);
        assert!(hidden.without(1).is_empty());
    }
}
