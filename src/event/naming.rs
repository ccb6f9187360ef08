//! The event-naming guideline: "Noun" plus "Past tense Verb", Title Case, letters
//! A-Z only, single spaces ("Page Viewed"). A checker that names each violation and
//! suggests a fix, and the policy that decides what a violation means.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a store (or one source) does with names that break the guideline. Any UTF-8
/// name is storable under `Off` and `Warn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamingPolicy {
    /// No check.
    Off,
    /// Accept, report the violations in the receipt, count them in stats. The default.
    #[default]
    Warn,
    /// Reject with [`Error::NamingViolation`](crate::Error::NamingViolation).
    Enforce,
}

/// One way a name breaks the guideline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A word does not start with a capital followed by lower-case letters.
    NotTitleCase {
        /// The word as written.
        word: String,
    },
    /// Digits appear in the name.
    Digits,
    /// Characters other than A-Z, a-z and spaces appear.
    SpecialCharacters {
        /// The offending characters, each once.
        chars: String,
    },
    /// Leading, trailing or repeated spaces.
    Spacing,
    /// Fewer than two words: there is no Noun plus Verb.
    TooFewWords,
    /// The last word does not look like a past-tense verb.
    NotPastTense {
        /// The last word.
        word: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NotTitleCase { word } => write!(f, "{word:?} is not Title Case"),
            Violation::Digits => write!(f, "uses digits"),
            Violation::SpecialCharacters { chars } => {
                write!(f, "uses special characters {chars:?}")
            }
            Violation::Spacing => write!(f, "words must be separated by single spaces"),
            Violation::TooFewWords => write!(f, "should be a Noun plus a past-tense Verb"),
            Violation::NotPastTense { word } => write!(f, "{word:?} is not a past-tense verb"),
        }
    }
}

/// The result of checking a name that breaks the guideline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamingWarning {
    /// The name as given.
    pub name: String,
    /// Every violation found.
    pub violations: Vec<Violation>,
    /// A corrected name, when one can be derived mechanically (case, characters,
    /// spacing). A missing past-tense verb cannot be fixed mechanically.
    pub suggestion: Option<String>,
}

impl NamingWarning {
    /// The violations joined with `; `.
    pub fn describe(&self) -> String {
        self.violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for NamingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.name, self.describe())?;
        if let Some(s) = &self.suggestion {
            write!(f, " (suggested: {s:?})")?;
        }
        Ok(())
    }
}

/// Common irregular past-tense verbs (and participles) that do not end in "ed".
const IRREGULAR_PAST: &[&str] = &[
    "Ate",
    "Beaten",
    "Became",
    "Began",
    "Begun",
    "Bent",
    "Bought",
    "Brought",
    "Broke",
    "Broken",
    "Built",
    "Caught",
    "Chose",
    "Chosen",
    "Came",
    "Cut",
    "Dealt",
    "Did",
    "Done",
    "Drew",
    "Drawn",
    "Drove",
    "Driven",
    "Eaten",
    "Fed",
    "Felt",
    "Fought",
    "Found",
    "Forgot",
    "Forgotten",
    "Froze",
    "Frozen",
    "Gave",
    "Given",
    "Got",
    "Gotten",
    "Gone",
    "Went",
    "Grew",
    "Grown",
    "Heard",
    "Held",
    "Hid",
    "Hidden",
    "Hit",
    "Kept",
    "Knew",
    "Known",
    "Laid",
    "Led",
    "Left",
    "Lent",
    "Let",
    "Lost",
    "Made",
    "Meant",
    "Met",
    "Paid",
    "Put",
    "Quit",
    "Ran",
    "Read",
    "Rode",
    "Ridden",
    "Rang",
    "Rung",
    "Rose",
    "Risen",
    "Run",
    "Said",
    "Sat",
    "Saw",
    "Seen",
    "Sent",
    "Set",
    "Shot",
    "Shown",
    "Shut",
    "Sold",
    "Sought",
    "Spent",
    "Split",
    "Spoke",
    "Spoken",
    "Stood",
    "Stole",
    "Stolen",
    "Struck",
    "Swore",
    "Sworn",
    "Took",
    "Taken",
    "Taught",
    "Told",
    "Thought",
    "Threw",
    "Thrown",
    "Tore",
    "Torn",
    "Understood",
    "Undone",
    "Won",
    "Wore",
    "Worn",
    "Woke",
    "Woken",
    "Wrote",
    "Written",
    "Withdrew",
    "Withdrawn",
    "Upset",
    "Reset",
    "Rebuilt",
    "Resent",
    "Resold",
];

/// Checks `name` against the guideline; `None` when it follows it.
pub fn check_event_name(name: &str) -> Option<NamingWarning> {
    let mut violations = Vec::new();
    if name.bytes().any(|b| b.is_ascii_digit()) {
        violations.push(Violation::Digits);
    }
    let mut specials = String::new();
    for c in name.chars() {
        if !(c.is_ascii_alphabetic() || c == ' ' || c.is_ascii_digit() || specials.contains(c)) {
            specials.push(c);
        }
    }
    if !specials.is_empty() {
        violations.push(Violation::SpecialCharacters { chars: specials });
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.contains("  ") {
        violations.push(Violation::Spacing);
    }
    for word in name.split(' ').filter(|w| !w.is_empty()) {
        if !is_title_case(word) && word.chars().any(|c| c.is_alphabetic()) {
            violations.push(Violation::NotTitleCase {
                word: word.to_owned(),
            });
        }
    }
    let words = suggested_words(name);
    if words.len() < 2 {
        violations.push(Violation::TooFewWords);
    } else if let Some(verb) = verb_of(&words)
        && !is_past_tense(verb)
    {
        violations.push(Violation::NotPastTense {
            word: verb.to_owned(),
        });
    }
    if violations.is_empty() {
        return None;
    }
    // Only a suggestion that itself follows the guideline is offered.
    let suggestion = Some(words.join(" "))
        .filter(|s| !s.is_empty() && s != name && check_event_name(s).is_none());
    Some(NamingWarning {
        name: name.to_owned(),
        violations,
        suggestion,
    })
}

/// Particles that may follow the verb of a phrasal verb ("Signed Up", "Logged In").
const PARTICLES: &[&str] = &[
    "Up", "In", "Out", "Off", "On", "Down", "Over", "Back", "Away",
];

/// The verb: the last word, or the one before a trailing particle.
fn verb_of(words: &[String]) -> Option<&str> {
    match words {
        [.., verb, particle] if words.len() >= 3 && PARTICLES.contains(&particle.as_str()) => {
            Some(verb)
        }
        [.., last] => Some(last),
        [] => None,
    }
}

fn is_title_case(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_lowercase())
}

fn is_past_tense(word: &str) -> bool {
    (word.len() > 3 && word.ends_with("ed")) || IRREGULAR_PAST.contains(&word)
}

/// The words of the mechanically fixed name: letters only, split at non-letters
/// and at lower-to-upper case changes (`cartAbandoned`), each in Title Case.
fn suggested_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphabetic() {
            if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
            previous_lower = c.is_ascii_lowercase();
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(name: &str) -> Option<String> {
        check_event_name(name).and_then(|w| w.suggestion)
    }

    #[test]
    fn good_names_pass() {
        for name in [
            "Page Viewed",
            "Form Submitted",
            "Agent Assigned",
            "Button Clicked",
            "Order Paid",
            "Email Sent",
        ] {
            assert_eq!(check_event_name(name), None, "{name}");
        }
    }

    #[test]
    fn the_seed_examples_are_flagged_with_fixes() {
        assert_eq!(
            suggestion("form submitted").as_deref(),
            Some("Form Submitted")
        );
        assert_eq!(
            suggestion("Button clicked").as_deref(),
            Some("Button Clicked")
        );
        assert_eq!(
            suggestion("Cart-Abandoned").as_deref(),
            Some("Cart Abandoned")
        );
        let product = check_event_name("Product 126").unwrap();
        assert!(product.violations.contains(&Violation::Digits));
        let cart = check_event_name("Cart-Abandoned").unwrap();
        assert!(
            matches!(&cart.violations[0], Violation::SpecialCharacters { chars } if chars == "-")
        );
    }

    #[test]
    fn spacing_camel_case_and_tense() {
        assert_eq!(suggestion(" Page  Viewed ").as_deref(), Some("Page Viewed"));
        assert_eq!(
            suggestion("cartAbandoned").as_deref(),
            Some("Cart Abandoned")
        );
        assert_eq!(
            suggestion("order_completed").as_deref(),
            Some("Order Completed")
        );
        let signup = check_event_name("Newsletter Signup").unwrap();
        assert_eq!(
            signup.violations,
            vec![Violation::NotPastTense {
                word: "Signup".into()
            }]
        );
        assert_eq!(signup.suggestion, None);
        let one = check_event_name("Login").unwrap();
        assert_eq!(one.violations, vec![Violation::TooFewWords]);
        assert_eq!(check_event_name("User Signed Up"), None);
        assert_eq!(check_event_name("User Logged In"), None);
        assert!(check_event_name("User Log In").is_some());
        // "Product" alone breaks the guideline too, so no suggestion is offered.
        assert_eq!(suggestion("Product 126"), None);
    }
}
