//! Declarative rules, loaded from JSON (always) or TOML (feature `toml`), so a
//! server can be configured without code.
//!
//! A rules file is `{"rules": [RULE, ...]}` (or just the array); TOML uses
//! `[[rules]]` tables. Each rule has a `type`, the fields of that type, and
//! optionally a `name` (default: derived from the type) and `sources` (source ids;
//! default: all sources):
//!
//! ```json
//! {"rules": [
//!   {"type": "hash_property", "key": "email"},
//!   {"type": "default_property", "key": "plan", "value": "free", "sources": [1]},
//!   {"type": "drop_events", "names": ["Heartbeat Sent"]}
//! ]}
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Rule, Scope, Verdict};
use crate::error::{Error, Result};
use crate::event::SourceId;
use crate::event::{Draft, Value};

/// One declarative rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleSpec {
    /// Sets a property, replacing any value.
    SetProperty {
        /// The property.
        key: String,
        /// Its new value (any JSON).
        value: serde_json::Value,
    },
    /// Sets a property only when it is absent.
    DefaultProperty {
        /// The property.
        key: String,
        /// Its value when absent.
        value: serde_json::Value,
    },
    /// Renames a property (in place).
    RenameProperty {
        /// The current key.
        from: String,
        /// The new key.
        to: String,
    },
    /// Removes a property.
    RemoveProperty {
        /// The property.
        key: String,
    },
    /// Replaces a property by the hex SHA-256 of `salt` followed by its value (a
    /// string as is, other values as JSON text). With `normalize`, strings are
    /// trimmed and lower-cased first (the usual treatment of emails).
    HashProperty {
        /// The property.
        key: String,
        /// Prepended to the value before hashing.
        #[serde(default)]
        salt: String,
        /// Trim and lower-case strings before hashing (default true).
        #[serde(default = "yes")]
        normalize: bool,
    },
    /// Copies a context field (a dotted path: `page.url`) into a property.
    CopyContext {
        /// The context path.
        from: String,
        /// The property key.
        to: String,
    },
    /// Drops events with any of these names.
    DropEvents {
        /// The names.
        names: Vec<String>,
    },
    /// Rejects events that lack a property.
    RequireProperty {
        /// The property.
        key: String,
    },
}

fn yes() -> bool {
    true
}

impl RuleSpec {
    fn default_name(&self) -> String {
        match self {
            RuleSpec::SetProperty { key, .. } => format!("set_property {key}"),
            RuleSpec::DefaultProperty { key, .. } => format!("default_property {key}"),
            RuleSpec::RenameProperty { from, to } => format!("rename_property {from} -> {to}"),
            RuleSpec::RemoveProperty { key } => format!("remove_property {key}"),
            RuleSpec::HashProperty { key, .. } => format!("hash_property {key}"),
            RuleSpec::CopyContext { from, to } => format!("copy_context {from} -> {to}"),
            RuleSpec::DropEvents { .. } => "drop_events".to_owned(),
            RuleSpec::RequireProperty { key } => format!("require_property {key}"),
        }
    }
}

/// A declarative rule ready to run.
struct SpecRule {
    name: String,
    spec: RuleSpec,
    /// The JSON `value` of set/default rules, converted once.
    value: Option<Value>,
}

impl Rule for SpecRule {
    fn name(&self) -> &str {
        &self.name
    }

    fn apply(&self, draft: &mut Draft) -> Verdict {
        let props = &mut draft.properties;
        match &self.spec {
            RuleSpec::SetProperty { key, .. } => {
                props.insert(key.clone(), self.value.clone().unwrap_or(Value::Null));
            }
            RuleSpec::DefaultProperty { key, .. } => {
                if !props.contains_key(key) {
                    props.insert(key.clone(), self.value.clone().unwrap_or(Value::Null));
                }
            }
            RuleSpec::RenameProperty { from, to } => {
                props.rename(from, to);
            }
            RuleSpec::RemoveProperty { key } => {
                props.remove(key);
            }
            RuleSpec::HashProperty {
                key,
                salt,
                normalize,
            } => {
                if let Some(value) = props.get_mut(key)
                    && *value != Value::Null
                {
                    let text = match &*value {
                        Value::String(s) if *normalize => s.trim().to_lowercase(),
                        Value::String(s) => s.clone(),
                        other => other.to_json(),
                    };
                    let mut hasher = Sha256::new();
                    hasher.update(salt.as_bytes());
                    hasher.update(text.as_bytes());
                    let digest = hasher.finalize();
                    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    *value = Value::String(hex);
                }
            }
            RuleSpec::CopyContext { from, to } => {
                let mut current: Option<&Value> = None;
                for (i, part) in from.split('.').enumerate() {
                    current = if i == 0 {
                        draft.context.get(part)
                    } else {
                        current.and_then(Value::as_object).and_then(|m| m.get(part))
                    };
                }
                if let Some(v) = current.cloned() {
                    draft.properties.insert(to.clone(), v);
                }
            }
            RuleSpec::DropEvents { names } => {
                if names.contains(&draft.name) {
                    return Verdict::Drop;
                }
            }
            RuleSpec::RequireProperty { key } => {
                if !props.contains_key(key) {
                    return Verdict::Reject(format!("property {key:?} is required"));
                }
            }
        }
        Verdict::Keep
    }
}

/// Converts a serde_json value into a stored value.
fn from_json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_u64().map(Value::UInt))
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().map(from_json_value).collect())
        }
        serde_json::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_json_value(v)))
                .collect(),
        ),
    }
}

/// Turns parsed configuration (JSON data model) into rules.
fn build(config: serde_json::Value) -> Result<Vec<(Scope, Arc<dyn Rule>)>> {
    let items = match config {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(mut map) => {
            if let Some(unknown) = map.keys().find(|k| *k != "rules") {
                return Err(Error::InvalidRules(format!(
                    "unknown top-level key {unknown:?}; expected \"rules\""
                )));
            }
            match map.remove("rules") {
                Some(serde_json::Value::Array(items)) => items,
                Some(_) => return Err(Error::InvalidRules("\"rules\" must be an array".into())),
                None => Vec::new(),
            }
        }
        _ => {
            return Err(Error::InvalidRules(
                "expected {\"rules\": [...]} or an array".into(),
            ));
        }
    };
    let mut rules: Vec<(Scope, Arc<dyn Rule>)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(mut map) = item else {
            return Err(Error::InvalidRules(format!("rule {i}: expected an object")));
        };
        let name = match map.remove("name") {
            None => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(_) => {
                return Err(Error::InvalidRules(format!(
                    "rule {i}: \"name\" must be a string"
                )));
            }
        };
        let scope = match map.remove("sources") {
            None => Scope::All,
            Some(v) => {
                let ids: Vec<u32> = serde_json::from_value(v)
                    .map_err(|e| Error::InvalidRules(format!("rule {i}: \"sources\": {e}")))?;
                Scope::Sources(ids.into_iter().map(SourceId).collect())
            }
        };
        let spec: RuleSpec = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::InvalidRules(format!("rule {i}: {e}")))?;
        let value = match &spec {
            RuleSpec::SetProperty { value, .. } | RuleSpec::DefaultProperty { value, .. } => {
                Some(from_json_value(value))
            }
            _ => None,
        };
        let rule = SpecRule {
            name: name.unwrap_or_else(|| spec.default_name()),
            spec,
            value,
        };
        rules.push((scope, Arc::new(rule)));
    }
    Ok(rules)
}

/// Parses rules from JSON text.
pub fn parse_rules_json(text: &str) -> Result<Vec<(Scope, Arc<dyn Rule>)>> {
    let config: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidRules(format!("not valid JSON: {e}")))?;
    build(config)
}

/// Parses rules from TOML text (`[[rules]]` tables).
#[cfg(feature = "toml")]
pub fn parse_rules_toml(text: &str) -> Result<Vec<(Scope, Arc<dyn Rule>)>> {
    let config: serde_json::Value =
        toml::from_str(text).map_err(|e| Error::InvalidRules(format!("not valid TOML: {e}")))?;
    build(config)
}

/// Loads rules from a file: TOML when it ends in `.toml` (feature `toml`), else JSON.
pub fn load_rules_file(path: &std::path::Path) -> Result<Vec<(Scope, Arc<dyn Rule>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    #[cfg(feature = "toml")]
    if path.extension().is_some_and(|e| e == "toml") {
        return parse_rules_toml(&text);
    }
    parse_rules_json(&text)
}
