//! Content keys: blake3 over a canonical encoding of what determines a task's outputs.

mod memo;

pub use memo::{digest_path, DigestMemo};

use serde_json::Value;

/// Version of the key encoding and cache layout; bumping it invalidates every cached entry.
pub const FORMAT_VERSION: u32 = 1;

/// Canonical JSON: object keys sorted, no whitespace, numbers as `serde_json` prints them (shortest
/// round-trip form; integral floats were made integers when the pipeline was read).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Kept for every task of a plan: no room to spare.
    out.shrink_to_fit();
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Appends the canonical form of `value` to `out` (scalars and keys through `serde_json`'s own
/// writer, so strings are escaped as it escapes them).
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(k, out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        other => write_compact(other, out),
    }
}

/// Appends `value` as compact JSON (maps in their own order: sorted for `BTreeMap`).
pub fn write_compact<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("a JSON scalar always serializes");
}

/// The key of a task whose identity is `components` (kind, version, params, seed, input digests, format).
pub fn key_of(components: &Value) -> String {
    key_of_canonical(&canonical_json(components))
}

/// The key of components already in their [`canonical_json`] form.
pub fn key_of_canonical(canonical: &str) -> String {
    blake3::hash(canonical.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_object_key_order() {
        let a = json!({"kind": "train", "params": {"lr": 0.001, "epochs": 2}});
        let b = json!({"params": {"epochs": 2, "lr": 0.001}, "kind": "train"});
        assert_eq!(key_of(&a), key_of(&b));
        assert_eq!(key_of(&a).len(), 64);
    }

    #[test]
    fn key_changes_with_any_value() {
        let a = json!({"params": {"lr": 0.001}});
        let b = json!({"params": {"lr": 0.002}});
        assert_ne!(key_of(&a), key_of(&b));
    }

    #[test]
    fn canonical_form_is_compact_and_sorted() {
        assert_eq!(
            canonical_json(&json!({"b": [1, "x"], "a": null})),
            r#"{"a":null,"b":[1,"x"]}"#
        );
    }
}
