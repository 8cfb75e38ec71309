//! Bytes on the wire: strict percent-decoding of paths and queries, keys and values in JSON
//! (UTF-8 text or base64), and the ETag of a value.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Decodes a percent-encoded string into bytes, strictly: every `%` must be followed by two
/// hex digits. With `plus_is_space` (query strings, as HTML forms encode them) `+` decodes
/// to a space; in paths it stays `+`.
///
/// Errors: 400 `bad_request` naming the bad escape.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Result<Vec<u8>, ApiError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok =
                i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(b.len());
                return Err(ApiError::bad_request(format!(
                    "malformed percent-encoding {:?} at byte {i}: '%' must be followed by two hex digits",
                    String::from_utf8_lossy(&b[i..end])
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(b).collect();
    if plus_is_space && s.contains('+') {
        // Decoding first and mapping after would turn an encoded %2B into a space too.
        let spaced = s.replace('+', "%20");
        return Ok(percent_encoding::percent_decode(spaced.as_bytes()).collect());
    }
    Ok(decoded)
}

/// The parameters of a query string, each value percent-decoded (`+` = space). A name
/// without `=` has an empty value.
///
/// Errors: 400 for a malformed escape or a name that is not in `allowed`.
pub fn parse_query(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let mut out = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = String::from_utf8(percent_decode(name, true)?)
            .map_err(|_| ApiError::bad_request("a query parameter name is not UTF-8"))?;
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {name:?}; this route takes {}",
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        out.push((name, percent_decode(value, true)?));
    }
    Ok(out)
}

/// A boolean query parameter or header value: `true`/`1`/`yes`/empty or `false`/`0`/`no`.
///
/// Errors: 400 for anything else.
pub fn parse_bool(name: &str, v: &[u8]) -> Result<bool, ApiError> {
    match v {
        b"" | b"true" | b"1" | b"yes" => Ok(true),
        b"false" | b"0" | b"no" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be true or false, not {:?}",
            String::from_utf8_lossy(v)
        ))),
    }
}

/// The ETag of a value: its xxHash64 (seed 0) as 16 lowercase hex digits, in quotes (a
/// strong entity tag, RFC 9110 §8.8.3). Equal values have equal tags.
pub fn etag(value: &[u8]) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh64::xxh64(value, 0))
}

/// `etag` given as a version in JSON (with or without the quotes) in the quoted form.
pub fn normalize_version(v: &str) -> String {
    let t = v.trim();
    if t.starts_with('"') {
        t.to_string()
    } else {
        format!("\"{t}\"")
    }
}

/// Adds `bytes` to a JSON object under `name` if they are UTF-8, else as base64 under
/// `name_b64`.
pub fn put_bytes(obj: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => obj.insert(name.to_string(), Value::String(s.to_string())),
        Err(_) => obj.insert(format!("{name}_b64"), Value::String(B64.encode(bytes))),
    };
}

/// Bytes given in a request body either as UTF-8 text (`"key": "..."`) or as base64
/// (`"key_b64": "..."`): exactly one of the two.
pub fn take_bytes(
    what: &str,
    text: Option<String>,
    b64: Option<String>,
) -> Result<Vec<u8>, ApiError> {
    match (text, b64) {
        (Some(t), None) => Ok(t.into_bytes()),
        (None, Some(b)) => B64
            .decode(b.as_bytes())
            .map_err(|e| ApiError::bad_request(format!("{what}_b64 is not base64: {e}"))),
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "give {what} or {what}_b64, not both"
        ))),
        (None, None) => Err(ApiError::bad_request(format!(
            "{what} (or {what}_b64) is missing"
        ))),
    }
}

/// One write of `POST /v1/batch` and of the `writes` of `POST /v1/txn`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpJson {
    /// `put`, `delete` or `delete_range`.
    pub op: String,
    /// The key (put, delete).
    pub key: Option<String>,
    /// The key in base64.
    pub key_b64: Option<String>,
    /// The value (put).
    pub value: Option<String>,
    /// The value in base64.
    pub value_b64: Option<String>,
    /// First key deleted (delete_range, inclusive).
    pub start: Option<String>,
    /// `start` in base64.
    pub start_b64: Option<String>,
    /// End of the deleted range (delete_range, exclusive).
    pub end: Option<String>,
    /// `end` in base64.
    pub end_b64: Option<String>,
}

/// A decoded write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set a key.
    Put(Vec<u8>, Vec<u8>),
    /// Delete a key.
    Delete(Vec<u8>),
    /// Delete `[start, end)`.
    DeleteRange(Vec<u8>, Vec<u8>),
}

impl OpJson {
    /// The write this JSON names.
    ///
    /// Errors: 400 for an unknown `op` or missing or doubled fields.
    pub fn decode(self) -> Result<Op, ApiError> {
        match self.op.as_str() {
            "put" => Ok(Op::Put(
                take_bytes("key", self.key, self.key_b64)?,
                take_bytes("value", self.value, self.value_b64)?,
            )),
            "delete" => Ok(Op::Delete(take_bytes("key", self.key, self.key_b64)?)),
            "delete_range" => Ok(Op::DeleteRange(
                take_bytes("start", self.start, self.start_b64)?,
                take_bytes("end", self.end, self.end_b64)?,
            )),
            other => Err(ApiError::bad_request(format!(
                "unknown op {other:?}: put, delete or delete_range"
            ))),
        }
    }
}

/// Parses a JSON request body.
///
/// Errors: 400 `bad_request` with serde's message (line and column).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(percent_decode("a%2Fb%00%ff", false).unwrap(), b"a/b\0\xff");
        assert_eq!(percent_decode("a+b", false).unwrap(), b"a+b");
        assert_eq!(percent_decode("a+b%2B", true).unwrap(), b"a b+");
        for bad in ["%", "%4", "%zz", "a%g1", "%%"] {
            assert!(percent_decode(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_reject_unknown_names() {
        let q = parse_query(Some("prefix=a%20b&reverse"), &["prefix", "reverse"]).unwrap();
        assert_eq!(
            q,
            vec![
                ("prefix".into(), b"a b".to_vec()),
                ("reverse".into(), vec![])
            ]
        );
        assert!(parse_query(Some("prefx=a"), &["prefix"]).is_err());
    }

    #[test]
    fn bytes_in_json() {
        let mut m = Map::new();
        put_bytes(&mut m, "key", b"abc");
        put_bytes(&mut m, "value", b"\xff\x00");
        assert_eq!(
            Value::Object(m).to_string(),
            r#"{"key":"abc","value_b64":"/wA="}"#
        );
        assert_eq!(
            take_bytes("key", None, Some("/wA=".into())).unwrap(),
            b"\xff\x00"
        );
        assert!(take_bytes("key", None, None).is_err());
    }

    #[test]
    fn etags_are_quoted_hex() {
        let t = etag(b"v");
        assert_eq!(t.len(), 18);
        assert_eq!(normalize_version(&t[1..17]), t);
        assert_eq!(normalize_version(&t), t);
    }
}
