//! Rules: ordered steps that run right after validation and before the append, on
//! a mutable [`Draft`]. A rule may change the draft, drop the event (counted, with
//! the rule's name) or reject it (an error to the caller). After the last rule the
//! event is frozen: encoded once and never modifiable again.
//!
//! Rules run on the collecting thread, outside every store lock, so collection
//! threads run them in parallel. A rule that panics rejects its event with
//! [`Error::RulePanicked`](crate::Error::RulePanicked); the store stays healthy.

mod declarative;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

#[cfg(feature = "toml")]
pub use declarative::parse_rules_toml;
pub use declarative::{RuleSpec, load_rules_file, parse_rules_json};

use crate::event::Draft;
use crate::event::SourceId;

/// What a rule decided about an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the event (possibly changed) and go on to the next rule.
    Keep,
    /// Drop the event silently (it is counted under the rule's name).
    Drop,
    /// Refuse the event: the caller gets [`Error::Rejected`](crate::Error::Rejected).
    Reject(String),
}

/// A rule written in Rust.
pub trait Rule: Send + Sync {
    /// The rule's name, used in drop counts and errors.
    fn name(&self) -> &str;
    /// Looks at (and may change) the draft.
    fn apply(&self, draft: &mut Draft) -> Verdict;
}

/// Which sources a rule applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every source.
    #[default]
    All,
    /// Only these sources.
    Sources(Vec<SourceId>),
}

impl Scope {
    /// True when the scope covers `source`.
    pub fn covers(&self, source: SourceId) -> bool {
        match self {
            Scope::All => true,
            Scope::Sources(ids) => ids.contains(&source),
        }
    }
}

/// A rule made from a closure.
///
/// ```
/// use firstlog::{FnRule, Verdict};
/// let rule = FnRule::new("tag plan", |draft| {
///     draft.properties.insert("plan", "free");
///     Verdict::Keep
/// });
/// # let _ = rule;
/// ```
pub struct FnRule<F> {
    name: String,
    f: F,
}

impl<F: Fn(&mut Draft) -> Verdict + Send + Sync> FnRule<F> {
    /// A rule named `name` that runs `f`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnRule {
            name: name.into(),
            f,
        }
    }
}

impl<F: Fn(&mut Draft) -> Verdict + Send + Sync> Rule for FnRule<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn apply(&self, draft: &mut Draft) -> Verdict {
        (self.f)(draft)
    }
}

/// How a draft left the pipeline.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Dropped { rule: String },
    Rejected { rule: String, reason: String },
    Panicked { rule: String, message: String },
}

/// The ordered rules of a store.
#[derive(Clone, Default)]
pub(crate) struct Pipeline {
    rules: Vec<(Scope, Arc<dyn Rule>)>,
}

impl Pipeline {
    /// A pipeline of these rules, in order.
    pub(crate) fn of(rules: &[(Scope, Arc<dyn Rule>)]) -> Pipeline {
        Pipeline {
            rules: rules.to_vec(),
        }
    }

    /// This pipeline with one more rule at the end.
    pub(crate) fn with(&self, scope: Scope, rule: Arc<dyn Rule>) -> Pipeline {
        let mut rules = self.rules.clone();
        rules.push((scope, rule));
        Pipeline { rules }
    }

    /// True when any rule applies to `source`.
    pub(crate) fn applies_to(&self, source: SourceId) -> bool {
        self.rules.iter().any(|(scope, _)| scope.covers(source))
    }

    /// The number of rules.
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    /// Runs the rules that cover the draft's source, in order.
    pub(crate) fn run(&self, draft: &mut Draft) -> Outcome {
        let source = draft.source();
        for (scope, rule) in &self.rules {
            if !scope.covers(source) {
                continue;
            }
            let verdict = catch_unwind(AssertUnwindSafe(|| rule.apply(draft)));
            match verdict {
                Ok(Verdict::Keep) => {}
                Ok(Verdict::Drop) => {
                    return Outcome::Dropped {
                        rule: rule.name().to_owned(),
                    };
                }
                Ok(Verdict::Reject(reason)) => {
                    return Outcome::Rejected {
                        rule: rule.name().to_owned(),
                        reason,
                    };
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "non-string panic payload".to_owned());
                    return Outcome::Panicked {
                        rule: rule.name().to_owned(),
                        message,
                    };
                }
            }
        }
        Outcome::Keep
    }
}
