//! MLflow's input rules (key names, length limits, alias names) and its storage of NaN/±Inf, shared
//! by both backends so vintner fails early with the same rules the server applies.

use crate::track::{Error, Result};

/// Longest metric/param/tag key MLflow accepts.
pub const MAX_KEY_LEN: usize = 250;
/// Longer param values are truncated (MLflow's `MLFLOW_TRUNCATE_LONG_VALUES`, on by default).
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Longer run tag values are truncated.
pub const MAX_TAG_VALUE_LEN: usize = 8000;
pub const MAX_EXPERIMENT_NAME_LEN: usize = 500;
pub const MAX_ALIAS_LEN: usize = 255;
/// The largest finite double: MLflow stores +Inf as this and -Inf as its negation.
pub const MAX_F64: f64 = 1.797_693_134_862_315_7e308;

/// Checks a metric, param or tag key: `[/\w.\- :]` characters, at most 250 characters, and a
/// path that normalizes to itself (keys may become file names in MLflow's file store).
pub fn key(what: &'static str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(what, key, "a key cannot be empty"));
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(Error::invalid(
            what,
            key,
            format!("longer than {MAX_KEY_LEN} characters"),
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || "_/.- :".contains(*c)))
    {
        return Err(Error::invalid(
            what,
            key,
            format!(
                "character {c:?} is not allowed; keys may contain letters, digits, `_`, `-`, `.`, `/`, `:` and spaces"
            ),
        ));
    }
    let norm = normalize_posix(key);
    if norm != key || norm == "." || norm.starts_with("..") || norm.starts_with('/') {
        return Err(Error::invalid(
            what,
            key,
            format!(
                "keys may be treated as file names and must not resolve to another name (this one resolves to `{}`)",
                normalize_posix(key)
            ),
        ));
    }
    Ok(())
}

/// Python's `posixpath.normpath`, enough to detect keys that are not their own normal form.
fn normalize_posix(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Most runs one search page may ask for (MLflow's `SEARCH_MAX_RESULTS_THRESHOLD`).
pub const MAX_SEARCH_RESULTS: usize = 50_000;

/// A page size MLflow accepts: 1 to 50,000. (0 would return nothing and a next-page token at the
/// same offset, so a script following tokens would never end.)
pub fn max_results(n: usize) -> Result<()> {
    if n == 0 || n > MAX_SEARCH_RESULTS {
        return Err(Error::invalid(
            "max_results",
            n.to_string(),
            format!("it must be between 1 and {MAX_SEARCH_RESULTS}, as MLflow requires"),
        ));
    }
    Ok(())
}

/// A JSON fact too large for a run tag: the tag keeps a valid JSON `summary` (with `artifact`
/// naming where the whole fact is) and the whole fact goes to that run artifact. Small facts
/// stay whole in the tag and need no artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredTag {
    /// The tag value: always valid JSON, at most `MAX_TAG_VALUE_LEN` characters.
    pub tag: String,
    /// `(artifact path, bytes)` to log when the fact did not fit.
    pub artifact: Option<(String, Vec<u8>)>,
}

/// Splits `fact` into a tag and, when it does not fit in `MAX_TAG_VALUE_LEN` characters, an
/// artifact at `artifact_path` plus a `summary` kept in the tag (cut whole, never mid-JSON).
pub fn structured_tag(
    fact: &serde_json::Value,
    summary: serde_json::Value,
    artifact_path: &str,
) -> StructuredTag {
    let whole = fact.to_string();
    if whole.chars().count() <= MAX_TAG_VALUE_LEN {
        return StructuredTag {
            tag: whole,
            artifact: None,
        };
    }
    let mut tag = serde_json::json!({ "artifact": artifact_path, "summary": summary }).to_string();
    if tag.chars().count() > MAX_TAG_VALUE_LEN {
        tag = serde_json::json!({ "artifact": artifact_path, "truncated": true }).to_string();
    }
    let bytes = serde_json::to_vec_pretty(fact).unwrap_or_else(|_| whole.into_bytes());
    StructuredTag {
        tag,
        artifact: Some((artifact_path.to_string(), bytes)),
    }
}

/// Cuts a value to `max` characters (not bytes), as MLflow truncates long values.
pub fn truncate(value: &str, max: usize) -> &str {
    match value.char_indices().nth(max) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

/// How MLflow's SQL store keeps a metric value: `(is_nan, value)` with NaN as `(true, 0.0)` and
/// ±Inf clamped to ±1.7976931348623157e308.
pub fn sanitize_metric(value: f64) -> (bool, f64) {
    if value.is_nan() {
        (true, 0.0)
    } else if value.is_infinite() {
        (false, if value > 0.0 { MAX_F64 } else { -MAX_F64 })
    } else {
        (false, value)
    }
}

/// The value read back from a `(value, is_nan)` row.
pub fn restore_metric(value: f64, is_nan: bool) -> f64 {
    if is_nan { f64::NAN } else { value }
}

pub fn experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "experiment name",
            name,
            "it cannot be empty",
        ));
    }
    if name.chars().count() > MAX_EXPERIMENT_NAME_LEN {
        return Err(Error::invalid(
            "experiment name",
            name,
            format!("longer than {MAX_EXPERIMENT_NAME_LEN} characters"),
        ));
    }
    Ok(())
}

pub fn model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "registered model name",
            name,
            "it cannot be empty",
        ));
    }
    if name.contains('/') || name.contains(':') {
        return Err(Error::invalid(
            "registered model name",
            name,
            "`/` and `:` are not allowed (they break `models:/name@alias` URIs)",
        ));
    }
    Ok(())
}

/// MLflow's alias rules: `[\w-]+`, at most 255 characters, not `latest`, not `v<digits>`.
pub fn alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(Error::invalid("alias", alias, "it cannot be empty"));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid(
            "alias",
            alias,
            "aliases may contain only letters, digits, `_` and `-`",
        ));
    }
    if alias.chars().count() > MAX_ALIAS_LEN {
        return Err(Error::invalid(
            "alias",
            alias,
            format!("longer than {MAX_ALIAS_LEN} characters"),
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Err(Error::invalid(
            "alias",
            alias,
            "`latest` is reserved (it always means the newest version)",
        ));
    }
    let b = alias.as_bytes();
    if b.len() > 1 && (b[0] == b'v' || b[0] == b'V') && b[1..].iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid(
            "alias",
            alias,
            "`v<number>` is reserved for version references",
        ));
    }
    Ok(())
}

/// A 32-hex-digit random id, as `uuid.uuid4().hex` (version 4, variant bits set).
pub fn new_run_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_infinities_are_stored_like_mlflow() {
        assert_eq!(sanitize_metric(f64::NAN), (true, 0.0));
        assert_eq!(
            sanitize_metric(f64::INFINITY),
            (false, 1.7976931348623157e308)
        );
        assert_eq!(
            sanitize_metric(f64::NEG_INFINITY),
            (false, -1.7976931348623157e308)
        );
        assert_eq!(sanitize_metric(f64::MAX), (false, f64::MAX));
        assert_eq!(sanitize_metric(-0.5), (false, -0.5));
        assert!(restore_metric(0.0, true).is_nan());
        assert_eq!(restore_metric(0.0, false), 0.0);
    }

    #[test]
    fn keys_follow_mlflow_rules() {
        for ok in ["rmse", "fold/0/mae", "a b", "lr:x", "val.loss", "é"] {
            key("metric key", ok).unwrap();
        }
        for bad in [
            "",
            "a b/../c",
            "/abs",
            "a//b",
            "./a",
            "a/",
            "semi;colon",
            "q'uote",
        ] {
            assert!(key("metric key", bad).is_err(), "{bad:?} accepted");
        }
        assert!(key("k", &"x".repeat(251)).is_err());
        key("k", &"x".repeat(250)).unwrap();
    }

    #[test]
    fn max_results_in_mlflow_bounds() {
        assert!(max_results(0).is_err());
        assert!(max_results(50_001).is_err());
        assert!(max_results(60_000).is_err());
        assert!(max_results(1).is_ok() && max_results(50_000).is_ok());
    }

    #[test]
    fn a_large_structured_tag_stays_valid_json() {
        let columns: Vec<serde_json::Value> = (0..300)
            .map(
                |i| serde_json::json!({"name": format!("feature_number_{i:03}"), "type": "double"}),
            )
            .collect();
        let fact = serde_json::json!({ "columns": columns });
        assert!(fact.to_string().len() > MAX_TAG_VALUE_LEN);
        let t = structured_tag(
            &fact,
            serde_json::json!({"columns": 300}),
            "vintner/schema.json",
        );
        assert!(t.tag.chars().count() <= MAX_TAG_VALUE_LEN);
        let tag: serde_json::Value = serde_json::from_str(&t.tag).unwrap();
        assert_eq!(tag["artifact"], "vintner/schema.json");
        assert_eq!(tag["summary"]["columns"], 300);
        let (path, bytes) = t.artifact.unwrap();
        assert_eq!(path, "vintner/schema.json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            fact
        );
        // what truncation used to do: cut mid-JSON
        assert!(
            serde_json::from_str::<serde_json::Value>(truncate(
                &fact.to_string(),
                MAX_TAG_VALUE_LEN
            ))
            .is_err()
        );
        // a small fact stays whole in the tag
        let small = structured_tag(
            &serde_json::json!({"columns": []}),
            serde_json::json!({}),
            "x",
        );
        assert_eq!(
            (small.tag.as_str(), small.artifact),
            ("{\"columns\":[]}", None)
        );
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn alias_rules() {
        alias("champion").unwrap();
        alias("prod-2_b").unwrap();
        for bad in ["", "latest", "LATEST", "v1", "V23", "a b", "a.b"] {
            assert!(alias(bad).is_err(), "{bad:?} accepted");
        }
        alias("v").unwrap();
        alias("v1a").unwrap();
    }

    #[test]
    fn run_ids_are_uuid4_hex() {
        let id = new_run_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(&id[12..13], "4");
        assert_ne!(new_run_id(), id);
    }
}
