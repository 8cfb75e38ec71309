//! `POST /v1/batch` (writes applied atomically) and `POST /v1/txn` (compare, then write,
//! atomically).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kevo::{IsolationLevel, RetryPolicy, TransactionOptions, WriteBatch, WriteOptions};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::codec::{etag, normalize_version, parse_json, put_bytes, take_bytes, Op, OpJson};
use crate::error::ApiError;
use crate::kv::{blocking, sync_of};
use crate::AppState;

fn decode_ops(ops: Vec<OpJson>) -> Result<Vec<Op>, ApiError> {
    ops.into_iter().map(OpJson::decode).collect()
}

/// `POST /v1/batch`: a JSON array of writes, applied as one [`WriteBatch`]; 200
/// `{"applied": n}`.
pub(crate) async fn batch(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sync = sync_of(&state, &uri, &headers)?;
    let ops = decode_ops(parse_json::<Vec<OpJson>>(&body)?)?;
    let n = ops.len();
    let mut batch = WriteBatch::new();
    for op in &ops {
        match op {
            Op::Put(k, v) => batch.put(k, v)?,
            Op::Delete(k) => batch.delete(k)?,
            Op::DeleteRange(a, b) => batch.delete_range(a, b)?,
        }
    }
    let db = state.db.clone();
    blocking(move || {
        let wo = WriteOptions {
            sync,
            ..Default::default()
        };
        Ok(db.write_opt(&batch, &wo)?)
    })
    .await?;
    Ok(Json(json!({ "applied": n })).into_response())
}

/// One comparison of `POST /v1/txn`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareJson {
    key: Option<String>,
    key_b64: Option<String>,
    /// The expected ETag (with or without quotes), or `null`: the key must be absent.
    version: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TxnJson {
    #[serde(default)]
    compare: Vec<CompareJson>,
    #[serde(default)]
    writes: Vec<OpJson>,
}

struct Compare {
    key: Vec<u8>,
    version: Option<String>,
}

/// `POST /v1/txn`: every comparison holds and the writes commit, atomically (200
/// `{"committed": true, "applied": n}`), or nothing is written and the answer is 409 with
/// the comparisons that failed (`conflicts`: key and current `version`).
pub(crate) async fn txn(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sync = sync_of(&state, &uri, &headers)?;
    let req: TxnJson = parse_json(&body)?;
    let mut compares = Vec::with_capacity(req.compare.len());
    for c in req.compare {
        let version = match c.version {
            Value::Null => None,
            Value::String(s) => Some(normalize_version(&s)),
            _ => {
                return Err(ApiError::bad_request(
                    "a comparison's version is an ETag string or null (absent)",
                ))
            }
        };
        compares.push(Compare {
            key: take_bytes("key", c.key, c.key_b64)?,
            version,
        });
    }
    let writes = decode_ops(req.writes)?;
    let n = writes.len();
    let db = state.db.clone();
    let failed = blocking(move || {
        // Serializable: the keys compared are in the read set, so a write to one of them
        // after the comparison makes the commit fail (and the loop compare again).
        let options = TransactionOptions::default().isolation(IsolationLevel::Serializable);
        let r = kevo::run_transaction(&db, options, &RetryPolicy::default(), |t| {
            let mut failed = Vec::new();
            for c in &compares {
                let current = t.get(&c.key)?.map(|v| etag(&v));
                if current != c.version {
                    let mut obj = Map::new();
                    put_bytes(&mut obj, "key", &c.key);
                    obj.insert("version".into(), current.map_or(Value::Null, Value::String));
                    failed.push(Value::Object(obj));
                }
            }
            if !failed.is_empty() {
                t.rollback()?;
                return Ok(failed);
            }
            for op in &writes {
                match op {
                    Op::Put(k, v) => t.put(k, v)?,
                    Op::Delete(k) => t.delete(k)?,
                    Op::DeleteRange(a, b) => t.delete_range(a, b)?,
                }
            }
            Ok(failed)
        });
        let failed = match r {
            Ok(f) => f,
            Err(kevo::Error::Conflict(m)) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("concurrent writes conflicted with every attempt: {m}"),
                )
                .with_extra(json!({ "conflicts": [] })))
            }
            Err(e) => return Err(e.into()),
        };
        if failed.is_empty() && sync {
            db.sync_wal()?;
        }
        Ok(failed)
    })
    .await?;
    if !failed.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("{} comparison(s) failed; nothing was written", failed.len()),
        )
        .with_extra(json!({ "conflicts": failed })));
    }
    Ok(Json(json!({ "committed": true, "applied": n })).into_response())
}
