//! `GET /v1/stats`, `GET /metrics` and `GET /healthz`, the request metrics middleware and
//! the bearer-token check.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kevo::{Stats, WriteBatch};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::kv::blocking;
use crate::AppState;

/// Reads one figure out of [`Stats`].
type Field = fn(&Stats) -> u64;

/// The engine's monotonic counters, as exported: `kevo_engine_<name>_total`.
const ENGINE_COUNTERS: &[(&str, &str, Field)] = &[
    (
        "user_bytes_written",
        "Bytes of keys and values written by users",
        |s| s.user_bytes_written,
    ),
    ("wal_bytes_written", "Bytes appended to the WAL", |s| {
        s.wal_bytes_written
    }),
    ("flushes", "Memtable flushes", |s| s.flush_count),
    (
        "flush_bytes_written",
        "Bytes of L0 SSTables written by flushes",
        |s| s.flush_bytes_written,
    ),
    ("compactions", "Compactions done", |s| s.compaction_count),
    ("compaction_bytes_read", "Bytes read by compactions", |s| {
        s.compaction_bytes_read
    }),
    (
        "compaction_bytes_written",
        "Bytes written by compactions",
        |s| s.compaction_bytes_written,
    ),
    ("stall_micros", "Microseconds writers spent stalled", |s| {
        s.stall_micros
    }),
    (
        "slowdowns",
        "Writes delayed by the L0 slowdown trigger",
        |s| s.slowdown_count,
    ),
    ("stops", "Times a writer stopped for a stall", |s| {
        s.stop_count
    }),
    ("block_cache_hits", "Block cache hits", |s| {
        s.block_cache_hits
    }),
    ("block_cache_misses", "Block cache misses", |s| {
        s.block_cache_misses
    }),
    (
        "bloom_negatives",
        "Point lookups the bloom filter answered absent",
        |s| s.bloom_negatives,
    ),
    (
        "bloom_false_positives",
        "Bloom filter false positives",
        |s| s.bloom_false_positives,
    ),
    ("bloom_true_positives", "Bloom filter true positives", |s| {
        s.bloom_true_positives
    }),
];

/// The Prometheus metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Scans whose thread is still running.
    pub(crate) scans_running: IntGauge,
    engine: Vec<(IntCounter, Field)>,
    level_files: IntGaugeVec,
    level_bytes: IntGaugeVec,
    block_cache_usage: IntGauge,
    live_snapshots: IntGauge,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("kevo_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "kevo_http_request_duration_seconds",
                "Time from request to response headers, in seconds",
            )
            .buckets(vec![
                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        let scans_running =
            IntGauge::new("kevo_http_scans_running", "Scans still streaming").expect("valid");
        let engine = ENGINE_COUNTERS
            .iter()
            .map(|(name, help, get)| {
                let c = IntCounter::new(format!("kevo_engine_{name}_total"), *help)
                    .expect("valid metric");
                (c, *get)
            })
            .collect::<Vec<_>>();
        let level_files = IntGaugeVec::new(
            Opts::new("kevo_engine_level_files", "SSTables per level"),
            &["level"],
        )
        .expect("valid metric");
        let level_bytes = IntGaugeVec::new(
            Opts::new("kevo_engine_level_bytes", "Bytes of SSTables per level"),
            &["level"],
        )
        .expect("valid metric");
        let block_cache_usage = IntGauge::new(
            "kevo_engine_block_cache_usage_bytes",
            "Bytes in the block cache",
        )
        .expect("valid metric");
        let live_snapshots =
            IntGauge::new("kevo_engine_live_snapshots", "Snapshots held").expect("valid");
        registry
            .register(Box::new(requests.clone()))
            .expect("unique");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique");
        registry
            .register(Box::new(scans_running.clone()))
            .expect("unique");
        for (c, _) in &engine {
            registry.register(Box::new(c.clone())).expect("unique");
        }
        registry
            .register(Box::new(level_files.clone()))
            .expect("unique");
        registry
            .register(Box::new(level_bytes.clone()))
            .expect("unique");
        registry
            .register(Box::new(block_cache_usage.clone()))
            .expect("unique");
        registry
            .register(Box::new(live_snapshots.clone()))
            .expect("unique");
        Metrics {
            registry,
            requests,
            latency,
            scans_running,
            engine,
            level_files,
            level_bytes,
            block_cache_usage,
            live_snapshots,
        }
    }

    /// Brings the engine's figures up to `stats` (counters only move forward).
    fn update(&self, stats: &Stats) {
        for (c, get) in &self.engine {
            let v = get(stats);
            let have = c.get();
            if v > have {
                c.inc_by(v - have);
            }
        }
        for (i, l) in stats.levels.iter().enumerate() {
            let level = i.to_string();
            self.level_files
                .with_label_values(&[&level])
                .set(l.files as i64);
            self.level_bytes
                .with_label_values(&[&level])
                .set(l.bytes as i64);
        }
        self.block_cache_usage.set(stats.block_cache_usage as i64);
        self.live_snapshots.set(stats.live_snapshots as i64);
    }
}

/// Middleware: counts each request by route (the route pattern, `unmatched` for 404s),
/// method and status, and observes its latency (to the response headers).
pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .with_label_values(&[&route, &method])
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[&route, &method, res.status().as_str()])
        .inc();
    res
}

/// Middleware: with a token configured, every route but `/healthz` needs
/// `Authorization: Bearer <token>`, compared in constant time; else 401.
pub(crate) async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(token) = &state.config.token else {
        return next.run(req).await;
    };
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or(b"");
    if bool::from(given.ct_eq(token.as_bytes())) && !token.is_empty() {
        return next.run(req).await;
    }
    let mut res = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this server needs Authorization: Bearer <token>",
    )
    .into_response();
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

/// `GET /v1/stats`: the engine's [`Stats`] as JSON (field names as in [`Stats`]).
pub(crate) async fn stats(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let db = state.db.clone();
    let s = blocking(move || Ok(db.stats())).await?;
    let levels: Vec<_> = s
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"level": i, "files": l.files, "bytes": l.bytes}))
        .collect();
    let mut obj = serde_json::Map::new();
    for (name, _, get) in ENGINE_COUNTERS {
        obj.insert((*name).to_string(), json!(get(&s)));
    }
    obj.insert("flush_micros".into(), json!(s.flush_micros));
    obj.insert("compaction_micros".into(), json!(s.compaction_micros));
    obj.insert("block_cache_usage".into(), json!(s.block_cache_usage));
    obj.insert("block_cache_capacity".into(), json!(s.block_cache_capacity));
    obj.insert("live_snapshots".into(), json!(s.live_snapshots));
    obj.insert("write_amplification".into(), json!(s.write_amplification()));
    obj.insert("sst_bytes".into(), json!(s.sst_bytes()));
    obj.insert("levels".into(), json!(levels));
    Ok(Json(serde_json::Value::Object(obj)).into_response())
}

/// `GET /metrics`: Prometheus text format (version 0.0.4).
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let db = state.db.clone();
    let s = blocking(move || Ok(db.stats())).await?;
    state.metrics.update(&s);
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&state.metrics.registry.gather(), &mut buf)
        .map_err(|e| ApiError::internal(format!("encoding metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        buf,
    )
        .into_response())
}

/// `GET /healthz`: 200 `{"status": "ok", "writable": true}`; a database that refuses writes
/// after a background error still answers 200 (reads are served) with `"writable": false`
/// and the `error`. Needs no token.
pub(crate) async fn healthz(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let db = state.db.clone();
    // An empty batch writes nothing; it only checks that the database takes writes.
    let r = blocking(move || Ok(db.write(&WriteBatch::new()))).await?;
    Ok(match r {
        Ok(()) => Json(json!({"status": "ok", "writable": true})).into_response(),
        Err(e) => Json(json!({
            "status": "degraded",
            "writable": false,
            "error": ApiError::from(e).kind,
        }))
        .into_response(),
    })
}
