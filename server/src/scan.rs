//! `GET /v1/scan`: a key range streamed as newline-delimited JSON, with bounded memory.
//!
//! A thread of the blocking pool walks a [`kevo::DbIterator`] and sends chunks of about
//! [`CHUNK_BYTES`] of lines into a channel of [`CHANNEL_CHUNKS`] slots; the response body
//! reads from it. A slow client therefore holds at most that much per scan, and a client that
//! disconnects drops the body, so the next send fails and the thread stops.
//!
//! A scan holds a blocking thread and an iterator (which keeps the files it reads from being
//! deleted), so both are bounded: at most [`ServerConfig::max_scans`](crate::ServerConfig)
//! run at once (more get 503 `busy`), and a client that takes no data for
//! [`ServerConfig::request_timeout`](crate::ServerConfig) has its scan ended. A scan that
//! ends early for any reason other than a read error (reported as a last JSON line) ends the
//! response without HTTP's final chunk, so the client sees an incomplete body, never a
//! silently short one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use kevo::ReadOptions;
use serde_json::{Map, Value};

use crate::codec::{parse_bool, parse_query, put_bytes};
use crate::error::ApiError;
use crate::AppState;

/// Lines are sent to the body in chunks of at least this many bytes (the last one smaller).
pub const CHUNK_BYTES: usize = 32 << 10;

/// Chunks waiting for the client, at most.
pub const CHANNEL_CHUNKS: usize = 4;

#[derive(Debug, Default)]
struct ScanParams {
    prefix: Option<Vec<u8>>,
    start: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
    limit: Option<u64>,
    reverse: bool,
    keys_only: bool,
}

fn params(uri: &Uri) -> Result<ScanParams, ApiError> {
    let mut p = ScanParams::default();
    let allowed = ["prefix", "start", "end", "limit", "reverse", "keys_only"];
    for (name, v) in parse_query(uri.query(), &allowed)? {
        match name.as_str() {
            "prefix" => p.prefix = Some(v),
            "start" => p.start = Some(v),
            "end" => p.end = Some(v),
            "limit" => {
                let n = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| ApiError::bad_request("limit must be a whole number"))?;
                p.limit = Some(n);
            }
            "reverse" => p.reverse = parse_bool("reverse", &v)?,
            "keys_only" => p.keys_only = parse_bool("keys_only", &v)?,
            _ => unreachable!("parse_query admits only the allowed names"),
        }
    }
    Ok(p)
}

/// Decrements the gauge of running scans when the scan thread ends, however it ends.
struct Running(prometheus::IntGauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `GET /v1/scan?prefix=&start=&end=&limit=&reverse=&keys_only=`.
pub(crate) async fn scan(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = params(&uri)?;
    let Ok(permit) = state.scan_permits.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{} scans are running, the most this server allows; retry later",
                state.config.max_scans
            ),
        ));
    };
    let stall = state.config.request_timeout;
    let runtime = tokio::runtime::Handle::current();
    let complete = Arc::new(AtomicBool::new(false));
    let done = complete.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    let db = state.db.clone();
    let gauge = state.metrics.scans_running.clone();
    gauge.inc();
    let running = Running(gauge);
    tokio::task::spawn_blocking(move || {
        let _running = running;
        let _permit = permit;
        // Waits until the client takes a chunk; false if it left or took nothing for `stall`.
        let send = |chunk: Bytes| {
            runtime
                .block_on(tokio::time::timeout(stall, tx.send(chunk)))
                .is_ok_and(|sent| sent.is_ok())
        };
        let read = ReadOptions {
            lower_bound: p.start.clone(),
            upper_bound: p.end.clone(),
            prefix: p.prefix.clone(),
            snapshot: None,
        };
        let mut it = match db.iter(read) {
            Ok(it) => it,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        if ready_tx.send(Ok(())).is_err() {
            return;
        }
        if p.reverse {
            it.seek_to_last();
        } else {
            it.seek_to_first();
        }
        let mut buf = Vec::with_capacity(CHUNK_BYTES + 1024);
        let mut sent = 0u64;
        while it.valid() && p.limit.is_none_or(|l| sent < l) {
            let mut obj = Map::new();
            put_bytes(&mut obj, "key", it.key());
            if !p.keys_only {
                put_bytes(&mut obj, "value", it.value());
            }
            serde_json::to_writer(&mut buf, &Value::Object(obj)).expect("writing to a Vec");
            buf.push(b'\n');
            sent += 1;
            if buf.len() >= CHUNK_BYTES {
                let chunk = Bytes::from(std::mem::replace(
                    &mut buf,
                    Vec::with_capacity(CHUNK_BYTES + 1024),
                ));
                if !send(chunk) {
                    return; // the client went away or stalled
                }
            }
            if p.reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        if let Err(e) = it.status() {
            let line = ApiError::from(e).body().to_string();
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        if !buf.is_empty() && !send(Bytes::from(buf)) {
            return;
        }
        done.store(true, Ordering::Release);
    });
    ready_rx
        .await
        .map_err(|_| ApiError::internal("the scan thread ended before starting"))??;
    let stream = futures_util::stream::unfold(Some(rx), move |rx| {
        let complete = complete.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(chunk) => Some((Ok(chunk), Some(rx))),
                // The thread is gone: cleanly at the end, or cut short (an error aborts the
                // response).
                None if complete.load(Ordering::Acquire) => None,
                None => Some((Err(std::io::Error::other("the scan was cut short")), None)),
            }
        }
    });
    let mut res = Response::new(Body::from_stream(stream));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(res)
}
