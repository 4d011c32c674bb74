//! Variables and `${name}` substitution.
//!
//! A string that is exactly one `${name}` takes the variable's value with its type (a list stays a
//! list); a variable inside a longer string is formatted into it. `${a.b}` reads nested maps, and the
//! innermost reference is resolved first, so `${lr.${arch}}` picks the learning rate of the current
//! architecture. `${inputs.x}`, `${outputs.x}` and `${params.x}` are left for the worker, which replaces
//! them by paths and parameter values.

use serde_json::Value;

/// The variables in scope for one task: pipeline vars, profile vars, `--set` overrides and, inside a
/// matrix stage, the instance's axis values.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    root: serde_json::Map<String, Value>,
}

/// The most references one string may expand through (a guard against variables that refer to
/// each other in a cycle).
const MAX_EXPANSIONS: usize = 256;

/// Prefixes resolved by the worker at run time, not at plan time.
const RUNTIME_PREFIXES: [&str; 3] = ["inputs.", "outputs.", "params."];

impl Vars {
    /// Variables from a JSON object (non-objects give no variables).
    pub fn new(root: Value) -> Self {
        match root {
            Value::Object(root) => Self { root },
            _ => Self::default(),
        }
    }

    /// Sets `path` (dotted: `lr.regnety_032`) to `value`, creating maps on the way.
    pub fn set(&mut self, path: &str, value: Value) {
        let mut parts: Vec<&str> = path.split('.').collect();
        let last = parts.pop().unwrap_or(path);
        let mut map = &mut self.root;
        for part in parts {
            let entry = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            map = entry.as_object_mut().expect("made an object above");
        }
        map.insert(last.to_string(), value);
    }

    /// Overlays every variable of `other` (deeply for maps).
    pub fn overlay(&mut self, other: &Value) {
        fn merge(dst: &mut serde_json::Map<String, Value>, src: &serde_json::Map<String, Value>) {
            for (k, v) in src {
                match (dst.get_mut(k), v) {
                    (Some(Value::Object(d)), Value::Object(s)) => merge(d, s),
                    _ => {
                        dst.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if let Value::Object(src) = other {
            merge(&mut self.root, src);
        }
    }

    /// The value at dotted `path`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.root.get(parts.next()?)?;
        for part in parts {
            value = match value {
                Value::Object(m) => m.get(part)?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Every top-level name (for "did you mean" hints).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.root.keys().map(String::as_str)
    }

    /// Substitutes variables in every string inside `value`.
    pub fn substitute(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.substitute_str(s)?,
            Value::Array(items) => items
                .iter()
                .map(|v| self.substitute(v))
                .collect::<Result<_, _>>()?,
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.substitute(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Substitutes variables in one string, innermost reference first; a variable whose value refers
    /// to other variables (`train_folds: "range(${folds})"`) is expanded in turn.
    pub fn substitute_str(&self, text: &str) -> Result<Value, String> {
        let mut budget = MAX_EXPANSIONS;
        self.expand(text, &mut budget)
    }

    /// [`Self::substitute_str`] with a `budget` of references shared by the nested expansions.
    fn expand(&self, text: &str, budget: &mut usize) -> Result<Value, String> {
        if !text.contains("${") {
            return Ok(Value::String(text.to_string()));
        }
        let mut s = text.to_string();
        // Runtime references are parked behind a marker so the loop does not see them.
        const PARK: &str = "\u{0}pipe-runtime\u{0}";
        while let Some(start) = s.rfind("${") {
            let Some(left) = budget.checked_sub(1) else {
                return Err(format!(
                    "'{text}': variables refer to each other in a cycle"
                ));
            };
            *budget = left;
            let Some(len) = s[start..].find('}') else {
                return Err(format!("'{text}': '${{' without a closing '}}'"));
            };
            let end = start + len;
            let name = s[start + 2..end].trim().to_string();
            if RUNTIME_PREFIXES.iter().any(|p| name.starts_with(p)) {
                s.replace_range(start..start + 2, PARK);
                continue;
            }
            let value = self.get(&name).ok_or_else(|| self.unknown(&name, text))?;
            if start == 0 && end == s.len() - 1 {
                return match value {
                    Value::String(v) if v.contains("${") => self.expand(v, budget),
                    _ => Ok(value.clone()),
                };
            }
            let formatted = match value {
                Value::String(v) => v.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                        "'{text}': variable '{name}' is a list or map and cannot be part of a longer string"
                    ))
                }
            };
            s.replace_range(start..=end, &formatted);
        }
        Ok(Value::String(s.replace(PARK, "${")))
    }

    fn unknown(&self, name: &str, text: &str) -> String {
        let head = name.split('.').next().unwrap_or(name);
        let hint = if self.get(head).is_some() {
            String::new()
        } else {
            super::nearest(head, self.names())
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default()
        };
        format!("'{text}': unknown variable '{name}'{hint}")
    }
}

/// Parses a `--set name=value` argument; the value is read as YAML (`3` is a number, `[a, b]` a list).
pub fn parse_set(arg: &str) -> Result<(String, Value), String> {
    let (name, raw) = arg
        .split_once('=')
        .ok_or_else(|| format!("--set '{arg}': expected name=value"))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(raw)
        .map_err(|e| format!("--set '{arg}': value is not valid YAML: {e}"))?;
    let value = super::to_json(&yaml).map_err(|e| format!("--set '{arg}': {e}"))?;
    Ok((name.trim().to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        Vars::new(json!({
            "archs": ["a", "b"], "folds": 3, "arch": "b",
            "lr": {"a": 0.1, "b": 0.2}, "name": "x"
        }))
    }

    #[test]
    fn whole_string_keeps_type() {
        assert_eq!(
            vars().substitute_str("${archs}").unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(vars().substitute_str("${folds}").unwrap(), json!(3));
    }

    #[test]
    fn embedded_is_formatted() {
        assert_eq!(
            vars().substitute_str("range(${folds})").unwrap(),
            json!("range(3)")
        );
    }

    #[test]
    fn nested_reference_resolves_innermost_first() {
        assert_eq!(vars().substitute_str("${lr.${arch}}").unwrap(), json!(0.2));
    }

    #[test]
    fn variables_may_refer_to_variables() {
        let mut v = vars();
        v.set("train_folds", json!("range(${folds})"));
        v.set("label", json!("${train_folds} of ${folds}"));
        assert_eq!(
            v.substitute_str("${train_folds}").unwrap(),
            json!("range(3)")
        );
        assert_eq!(
            v.substitute_str("${label}").unwrap(),
            json!("range(3) of 3")
        );
        v.set("a", json!("${b}"));
        v.set("b", json!("x${a}"));
        assert!(v.substitute_str("${a}").unwrap_err().contains("cycle"));
    }

    #[test]
    fn runtime_references_are_kept() {
        assert_eq!(
            vars().substitute_str("--in=${inputs.x} ${name}").unwrap(),
            json!("--in=${inputs.x} x")
        );
    }

    #[test]
    fn unknown_variable_suggests_nearest() {
        let err = vars().substitute_str("${fold}").unwrap_err();
        assert!(err.contains("did you mean 'folds'"), "{err}");
    }

    #[test]
    fn set_creates_nested_maps() {
        let mut v = vars();
        v.set("lr.b", json!(0.5));
        assert_eq!(v.get("lr.b"), Some(&json!(0.5)));
        assert_eq!(v.get("lr.a"), Some(&json!(0.1)));
        let (name, value) = parse_set("folds=5").unwrap();
        assert_eq!((name.as_str(), value), ("folds", json!(5)));
    }
}
