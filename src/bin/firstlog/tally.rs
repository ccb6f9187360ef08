//! Adds up collection outcomes for a summary: accepted, duplicates, dropped by
//! rules, rejected (grouped by kind, with the first examples) and naming warnings
//! (grouped by name, with the suggested fix).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use firstlog::{Error, NamingWarning, Receipt};

use crate::output::{Table, ellipsize, thousands};

/// How many rejections are kept verbatim.
const EXAMPLES_MAX: usize = 10;

/// The outcomes of a collection run.
#[derive(Default)]
pub struct Tally {
    pub accepted: u64,
    pub duplicates: u64,
    /// Events of suppressed profiles (not stored).
    pub suppressed: u64,
    pub dropped: BTreeMap<String, u64>,
    pub rejected: u64,
    /// Rejections per kind (`invalid timestamp`, `unknown write key`, ...), with
    /// the first full message of that kind.
    pub rejected_kinds: BTreeMap<String, (u64, String)>,
    /// The first rejections by position: (line, message), in order.
    pub first_rejections: Vec<(u64, String)>,
    /// Events stored with a naming warning, per name.
    pub naming: BTreeMap<String, (u64, Arc<NamingWarning>)>,
}

/// A short class of an error, for grouping.
pub fn error_kind(e: &Error) -> String {
    match e {
        Error::InvalidEvent { field, .. } if field == "event" => "invalid event name".to_owned(),
        Error::InvalidEvent { field, .. } => format!("invalid {field}"),
        Error::TooLarge { what, .. } => format!("{what} too large"),
        Error::UnknownWriteKey => "unknown write key".to_owned(),
        Error::SourceDisabled { .. } => "source disabled".to_owned(),
        Error::Rejected { rule, .. } => format!("rejected by rule {rule:?}"),
        Error::RulePanicked { rule, .. } => format!("rule {rule:?} panicked"),
        Error::NamingViolation { .. } => "naming violation".to_owned(),
        other => other.to_string(),
    }
}

impl Tally {
    /// Adds the outcome of the payload on line `line`.
    pub fn add(&mut self, outcome: &Result<Receipt, Error>, line: u64) {
        match outcome {
            Ok(receipt) => self.add_receipt(receipt),
            Err(e) => self.add_rejection(line, e),
        }
    }

    fn add_receipt(&mut self, receipt: &Receipt) {
        if receipt.duplicate {
            self.duplicates += 1;
        } else if receipt.suppressed {
            self.suppressed += 1;
        } else if let Some(rule) = &receipt.dropped_by {
            *self.dropped.entry(rule.clone()).or_default() += 1;
        } else {
            self.accepted += 1;
            if let Some(w) = &receipt.naming {
                self.naming
                    .entry(w.name.clone())
                    .or_insert_with(|| (0, w.clone()))
                    .0 += 1;
            }
        }
    }

    /// Adds a refused payload.
    pub fn add_rejection(&mut self, line: u64, e: &Error) {
        self.rejected += 1;
        let message = e.to_string();
        self.rejected_kinds
            .entry(error_kind(e))
            .or_insert_with(|| (0, message.clone()))
            .0 += 1;
        // Keep the earliest lines (outcomes arrive batch by batch, not in line order).
        let at = self.first_rejections.partition_point(|(l, _)| *l < line);
        if at < EXAMPLES_MAX {
            self.first_rejections.insert(at, (line, message));
            self.first_rejections.truncate(EXAMPLES_MAX);
        }
    }

    /// Events dropped by rules.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Events stored with naming warnings.
    pub fn naming_total(&self) -> u64 {
        self.naming.values().map(|(n, _)| n).sum()
    }

    /// Writes the naming warnings as a table (most frequent first).
    pub fn write_naming(&self, out: &mut dyn Write, indent: &str) -> io::Result<()> {
        let mut rows: Vec<_> = self.naming.values().collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let mut table = Table::new(&[">events", "name", "suggested", "why"]);
        for (n, w) in rows {
            table.row(vec![
                thousands(*n),
                format!("{:?}", w.name),
                w.suggestion
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:?}")),
                w.describe(),
            ]);
        }
        table.write(out, indent)
    }

    /// Writes the rejections grouped by kind, with one example message each.
    pub fn write_rejection_kinds(&self, out: &mut dyn Write, indent: &str) -> io::Result<()> {
        let mut rows: Vec<_> = self.rejected_kinds.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
        let mut table = Table::new(&[">payloads", "reason", "example"]);
        for (kind, (n, example)) in rows {
            table.row(vec![thousands(*n), kind.clone(), ellipsize(example, 90)]);
        }
        table.write(out, indent)
    }

    /// The summary as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "rejected_by_kind": self.rejected_kinds.iter()
                .map(|(k, (n, _))| (k.clone(), *n)).collect::<BTreeMap<_, _>>(),
            "first_rejections": self.first_rejections.iter()
                .map(|(line, why)| serde_json::json!({"line": line, "reason": why}))
                .collect::<Vec<_>>(),
            "naming_warnings": self.naming.values().map(|(n, w)| serde_json::json!({
                "name": w.name, "events": n, "suggestion": w.suggestion, "why": w.describe(),
            })).collect::<Vec<_>>(),
        })
    }
}
