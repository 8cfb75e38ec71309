//! `GET`/`HEAD`/`PUT`/`DELETE /v1/kv/{key}`: single keys, with ETags and conditional
//! writes.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kevo::{Db, RetryPolicy, TransactionOptions, WriteOptions};

use crate::codec::{etag, parse_bool, parse_query, percent_decode};
use crate::error::ApiError;
use crate::AppState;

/// The header that asks for a synced write, like `?sync=true`.
pub const SYNC_HEADER: &str = "x-kevo-sync";

/// Runs `f` (engine calls, which may wait on I/O or fsync) on tokio's blocking pool, never on
/// a runtime worker.
///
/// Errors: what `f` returns; 500 `internal` if it panicked.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("engine task failed: {e}")))?
}

/// The key of a `/v1/kv/...` URI: the rest of the raw path, percent-decoded.
fn key_of(uri: &Uri) -> Result<Vec<u8>, ApiError> {
    let raw = uri.path().strip_prefix("/v1/kv/").unwrap_or("");
    let key = percent_decode(raw, false)?;
    if key.is_empty() {
        return Err(ApiError::bad_request("the key is empty"));
    }
    Ok(key)
}

/// Whether a write must be synced: `?sync=` if given, else the `X-Kevo-Sync` header, else the
/// server's default.
///
/// Errors: 400 for unknown query parameters or a value that is not a boolean.
pub(crate) fn sync_of(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<bool, ApiError> {
    let mut sync = None;
    for (name, v) in parse_query(uri.query(), &["sync"])? {
        if name == "sync" {
            sync = Some(parse_bool("sync", &v)?);
        }
    }
    if sync.is_none() {
        if let Some(h) = headers.get(SYNC_HEADER) {
            sync = Some(parse_bool(SYNC_HEADER, h.as_bytes())?);
        }
    }
    Ok(sync.unwrap_or(state.config.sync_mode == crate::SyncDefault::Always))
}

/// An `If-Match` or `If-None-Match` header: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TagList {
    Any,
    Tags(Vec<String>),
}

impl TagList {
    fn parse(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<TagList>, ApiError> {
        let Some(v) = headers.get(&name) else {
            return Ok(None);
        };
        let s = v
            .to_str()
            .map_err(|_| ApiError::bad_request(format!("{name} is not ASCII")))?
            .trim();
        if s == "*" {
            return Ok(Some(TagList::Any));
        }
        let tags: Vec<String> = s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.is_empty() || tags.iter().any(|t| !t.ends_with('"')) {
            return Err(ApiError::bad_request(format!(
                "{name} must be * or a list of quoted entity tags"
            )));
        }
        Ok(Some(TagList::Tags(tags)))
    }

    fn matches(&self, value: &[u8]) -> bool {
        match self {
            TagList::Any => true,
            TagList::Tags(tags) => {
                let t = etag(value);
                tags.contains(&t)
            }
        }
    }
}

/// The preconditions of a request (RFC 9110 §13.1.1–13.1.2, strong comparison).
#[derive(Debug, Clone, Default)]
struct Preconditions {
    if_match: Option<TagList>,
    if_none_match: Option<TagList>,
}

impl Preconditions {
    fn parse(headers: &HeaderMap) -> Result<Preconditions, ApiError> {
        Ok(Preconditions {
            if_match: TagList::parse(headers, header::IF_MATCH)?,
            if_none_match: TagList::parse(headers, header::IF_NONE_MATCH)?,
        })
    }

    fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Whether they hold for the key's current value (`None`: absent).
    fn hold(&self, current: Option<&[u8]>) -> bool {
        if let Some(m) = &self.if_match {
            if !current.is_some_and(|v| m.matches(v)) {
                return false;
            }
        }
        if let Some(n) = &self.if_none_match {
            if current.is_some_and(|v| n.matches(v)) {
                return false;
            }
        }
        true
    }
}

/// `GET /v1/kv/{key}` (and `HEAD`): the value's bytes with its `ETag`; 304 for an
/// `If-None-Match` naming it; 404 if absent.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = key_of(&uri)?;
    parse_query(uri.query(), &[])?;
    let pre = Preconditions::parse(&headers)?;
    let db = state.db.clone();
    let k = key.clone();
    let value = blocking(move || Ok(db.get(&k)?)).await?;
    let Some(value) = value else {
        return Err(ApiError::not_found(format!(
            "no key {}",
            String::from_utf8_lossy(&key)
        )));
    };
    let tag = HeaderValue::from_str(&etag(&value)).expect("hex is a valid header");
    if let Some(n) = &pre.if_none_match {
        if n.matches(&value) {
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
        }
    }
    if pre.if_match.as_ref().is_some_and(|m| !m.matches(&value)) {
        return Err(ApiError::precondition_failed(
            "If-Match does not name the value",
        ));
    }
    let len = value.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(value)
    };
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ETAG, tag);
    Ok(res)
}

/// `PUT /v1/kv/{key}`: sets the key to the body; 204 with the new `ETag`. With
/// `If-Match`/`If-None-Match`, in a transaction: 412 if they do not hold.
pub(crate) async fn put(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = key_of(&uri)?;
    let sync = sync_of(&state, &uri, &headers)?;
    let pre = Preconditions::parse(&headers)?;
    let tag = HeaderValue::from_str(&etag(&body)).expect("hex is a valid header");
    let db = state.db.clone();
    blocking(move || write_one(&db, &key, Some(&body), &pre, sync)).await?;
    Ok((StatusCode::NO_CONTENT, [(header::ETAG, tag)]).into_response())
}

/// `DELETE /v1/kv/{key}`: 204 (also for an absent key, unless a precondition says
/// otherwise: 412).
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = key_of(&uri)?;
    let sync = sync_of(&state, &uri, &headers)?;
    let pre = Preconditions::parse(&headers)?;
    let db = state.db.clone();
    blocking(move || write_one(&db, &key, None, &pre, sync)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sets (`Some`) or deletes (`None`) `key`; under preconditions, in an optimistic
/// transaction retried on conflict, so the check and the write are atomic.
fn write_one(
    db: &Db,
    key: &[u8],
    value: Option<&[u8]>,
    pre: &Preconditions,
    sync: bool,
) -> Result<(), ApiError> {
    let wo = WriteOptions {
        sync,
        ..Default::default()
    };
    if pre.is_empty() {
        match value {
            Some(v) => db.put_opt(key, v, &wo)?,
            None => db.delete_opt(key, &wo)?,
        }
        return Ok(());
    }
    let held = kevo::run_transaction(
        db,
        TransactionOptions::default(),
        &RetryPolicy::default(),
        |txn| {
            let current = txn.get(key)?;
            if !pre.hold(current.as_deref()) {
                txn.rollback()?;
                return Ok(false);
            }
            match value {
                Some(v) => txn.put(key, v)?,
                None => txn.delete(key)?,
            }
            Ok(true)
        },
    );
    match held {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::precondition_failed(
                "the key is not at the version the request names",
            ))
        }
        Err(kevo::Error::Conflict(m)) => {
            return Err(ApiError::precondition_failed(format!(
                "concurrent writes kept the precondition from being checked: {m}"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    // A transaction commits per the database's sync mode; a synced request syncs after.
    if sync {
        db.sync_wal()?;
    }
    Ok(())
}
