//! `GET /v1/scan`: a key range streamed as newline-delimited JSON, with bounded memory.
//!
//! A thread of the blocking pool walks a [`kevo::DbIterator`] and sends chunks of about
//! [`CHUNK_BYTES`] of lines into a channel of [`CHANNEL_CHUNKS`] slots; the response body
//! reads from it. A slow client therefore holds at most that much per scan, and a client that
//! disconnects drops the body, so the next send fails and the thread stops.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, Uri};
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
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    let db = state.db.clone();
    let gauge = state.metrics.scans_running.clone();
    gauge.inc();
    let running = Running(gauge);
    tokio::task::spawn_blocking(move || {
        let _running = running;
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
                if tx.blocking_send(chunk).is_err() {
                    return; // the client went away
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
        if !buf.is_empty() {
            let _ = tx.blocking_send(Bytes::from(buf));
        }
    });
    ready_rx
        .await
        .map_err(|_| ApiError::internal("the scan thread ended before starting"))??;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let mut res = Response::new(Body::from_stream(stream));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(res)
}
