//! # kevo-server
//!
//! A kevo database over HTTP/1.1 and JSON: the library behind `kevo serve`, on axum and
//! tokio. Every engine call that may block (a read that misses the cache, a write that
//! fsyncs) runs on tokio's blocking pool, never on a runtime worker. The routes, with
//! `curl` examples, are in `server/README.md`; in short:
//!
//! | route | does |
//! | --- | --- |
//! | `GET`/`HEAD /v1/kv/{key}` | the value's bytes (`application/octet-stream`) with its `ETag`; 404 if absent |
//! | `PUT /v1/kv/{key}` | body = value; 204 with the new `ETag`; `If-Match` / `If-None-Match` make it conditional (412) |
//! | `DELETE /v1/kv/{key}` | 204; conditional like `PUT` |
//! | `GET /v1/scan?prefix=&start=&end=&limit=&reverse=&keys_only=` | NDJSON lines `{"key": ..., "value": ...}`, streamed |
//! | `POST /v1/batch` | a JSON array of `put` / `delete` / `delete_range` writes, atomically |
//! | `POST /v1/txn` | `{"compare": [...], "writes": [...]}`: all comparisons hold and the writes commit, or 409 |
//! | `GET /v1/stats` | the engine's statistics as JSON |
//! | `GET /metrics` | Prometheus text: requests by route/method/status, latency histograms, engine counters |
//! | `GET /healthz` | liveness (no token needed) |
//!
//! **Keys** in paths (and `prefix`/`start`/`end` in queries) are percent-encoded bytes: any
//! byte may appear as `%XX`, a `%` not followed by two hex digits is a 400. The key of
//! `/v1/kv/...` is the whole rest of the path, so `a/b` and `a%2Fb` name the same key. In
//! query strings `+` is a space (encode a plus as `%2B`); in paths it is a plus.
//!
//! **Bytes in JSON**: a key or value that is valid UTF-8 is a JSON string under `key` /
//! `value`; any other is base64 (standard alphabet, padded) under `key_b64` / `value_b64`.
//! Requests may use either form for any field.
//!
//! **Versions**: the `ETag` of a value is its xxHash64 as 16 hex digits in quotes, e.g.
//! `"9a5e2b1c3d4f6071"`. It names the value's content, not the write: a key set back to an
//! earlier value has that value's ETag again (so `If-Match` is compare-and-set on the value,
//! as etcd's `value` comparisons are; counters and other values that never repeat behave as
//! versions). Conditional writes run in an optimistic transaction ([`kevo::Transaction`])
//! that reads the key and writes it atomically, retried on conflict.
//!
//! **Durability**: a write is as durable as the database's [`kevo::SyncMode`], unless the
//! request asks `?sync=true` (or sends `X-Kevo-Sync: true`): then it is fsynced before the
//! answer. [`SyncDefault::Always`] makes that the default (`?sync=false` opts out).
//!
//! **Errors** are JSON, `{"error": kind, "message": text}`, on every 4xx and 5xx:
//!
//! | status | `error` | when |
//! | --- | --- | --- |
//! | 400 | `bad_request` | malformed percent-encoding, JSON, query parameter or header; unknown query parameter |
//! | 400 | `invalid_argument` | the engine refused the input (empty key, key over 64 KiB - 1, bad range) |
//! | 401 | `unauthorized` | a token is configured and the request lacks it |
//! | 404 | `not_found` | no such key, or no such route |
//! | 405 | `method_not_allowed` | the route exists, the method does not |
//! | 408 | `timeout` | the request took longer than [`ServerConfig::request_timeout`] |
//! | 409 | `conflict` | a `/v1/txn` comparison failed (`conflicts` lists them) |
//! | 412 | `precondition_failed` | `If-Match` / `If-None-Match` did not hold |
//! | 413 | `payload_too_large` | body over [`ServerConfig::max_body`] |
//! | 503 | `background`, `closed`, `read_only` | the database does not take writes now (after a background error it still serves reads) |
//! | 503 | `busy` | [`ServerConfig::max_scans`] scans are already streaming |
//! | 500 | `io`, `corruption`, `locked`, ... | other engine errors, by the engine's error kind |
//!
//! **Security**: only loopback addresses may be bound without a token
//! ([`ServerConfig::token`]); with one, every route but `/healthz` needs
//! `Authorization: Bearer <token>` (compared in constant time). TLS (rustls, ring) with
//! [`ServerConfig::tls`]. Each request has a deadline ([`ServerConfig::request_timeout`]),
//! connections over [`ServerConfig::max_connections`] are closed at once, and a request's
//! headers must arrive within the timeout too, so a slow client cannot pin the server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kevo_server::ServeError> {
//! use std::sync::Arc;
//! let db = Arc::new(kevo::Db::open("/tmp/db", kevo::Options::default())?);
//! let server = kevo_server::Server::bind(db, kevo_server::ServerConfig::default()).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?; // closes the Db
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod batch;
pub mod codec;
pub mod error;
pub mod kv;
mod limit;
mod observe;
pub mod scan;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use kevo::Db;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

/// The default address: loopback, port 7878.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7878);

/// How often a server on a read-only handle ([`Db::open_read_only`]) catches up with the
/// database's writer ([`Db::refresh`]): every second.
pub const READ_ONLY_REFRESH: Duration = Duration::from_secs(1);

/// The default [`ServerConfig::max_body`]: 64 MiB.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

/// Whether writes are fsynced before they are answered when the request does not say
/// (`?sync=` or `X-Kevo-Sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncDefault {
    /// No fsync beyond what the database's own [`kevo::SyncMode`] does.
    #[default]
    None,
    /// Every write is fsynced before its answer, as if it asked `?sync=true`.
    Always,
}

/// PEM files of the TLS certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How a [`Server`] listens and what it allows. Build from [`ServerConfig::default`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind; port 0 picks a free port ([`Server::local_addr`] tells which).
    /// Default [`DEFAULT_LISTEN`]. A non-loopback address needs a [`token`](Self::token).
    pub listen: SocketAddr,
    /// The bearer token every request but `/healthz` must carry; `None` (default) = no
    /// authentication, allowed on loopback addresses only. Must not be empty.
    pub token: Option<String>,
    /// Serve HTTPS with these files; `None` (default) = plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted, in bytes; larger ones get 413. Default
    /// [`DEFAULT_MAX_BODY`] (64 MiB), at most [`kevo::MAX_VALUE_SIZE`].
    pub max_body: usize,
    /// The default durability of writes. Default [`SyncDefault::None`].
    pub sync_mode: SyncDefault,
    /// Longest time a request may take until its response headers (reading its body
    /// included), and longest wait for a request's headers; over it, 408. A scan's body
    /// streams on without this limit. Default 30 s.
    pub request_timeout: Duration,
    /// Most connections open at once; more are closed as they arrive. Default 1024.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for requests in flight before closing their
    /// connections. Default 10 s.
    pub shutdown_grace: Duration,
    /// Most scans streaming at once (each holds a thread of the blocking pool); more get
    /// 503 `busy`. Default 64.
    pub max_scans: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN,
            token: None,
            tls: None,
            max_body: DEFAULT_MAX_BODY,
            sync_mode: SyncDefault::None,
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
            max_scans: 64,
        }
    }
}

impl ServerConfig {
    /// Checks the settings.
    ///
    /// Errors: [`ServeError::Config`] for a non-loopback address without a token, an empty
    /// token, `max_body` over [`kevo::MAX_VALUE_SIZE`], a zero `max_connections`,
    /// `max_scans` or `request_timeout`.
    pub fn validate(&self) -> Result<(), ServeError> {
        if self.token.as_deref() == Some("") {
            return Err(ServeError::Config("the token is empty".into()));
        }
        if !self.listen.ip().is_loopback() && self.token.is_none() {
            return Err(ServeError::Config(format!(
                "{} is not a loopback address: serving it needs a token (--token FILE)",
                self.listen.ip()
            )));
        }
        if self.max_body > kevo::MAX_VALUE_SIZE {
            return Err(ServeError::Config(format!(
                "max_body {} is over the engine's value limit ({} bytes)",
                self.max_body,
                kevo::MAX_VALUE_SIZE
            )));
        }
        if self.max_connections == 0 {
            return Err(ServeError::Config(
                "max_connections must be at least 1".into(),
            ));
        }
        if self.max_scans == 0 {
            return Err(ServeError::Config("max_scans must be at least 1".into()));
        }
        if self.request_timeout.is_zero() {
            return Err(ServeError::Config(
                "the request timeout must be over 0".into(),
            ));
        }
        Ok(())
    }
}

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A setting is not acceptable (see [`ServerConfig::validate`]).
    #[error("bad server configuration: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// Opening or closing the database failed.
    #[error(transparent)]
    Engine(#[from] kevo::Error),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) db: Arc<Db>,
    pub(crate) config: ServerConfig,
    pub(crate) metrics: observe::Metrics,
    /// One permit per scan that may run.
    pub(crate) scan_permits: Arc<tokio::sync::Semaphore>,
}

/// The routes and middleware for `db`, without a listener: for embedding in another axum
/// application or for testing with `tower::ServiceExt::oneshot`.
///
/// Errors: [`ServeError::Config`] as [`ServerConfig::validate`].
pub fn router(db: Arc<Db>, config: ServerConfig) -> Result<Router, ServeError> {
    config.validate()?;
    let timeout = config.request_timeout;
    let max_body = config.max_body;
    let state = Arc::new(AppState {
        db,
        scan_permits: Arc::new(tokio::sync::Semaphore::new(config.max_scans)),
        config,
        metrics: observe::Metrics::new(),
    });
    let kv = get(kv::get).put(kv::put).delete(kv::delete);
    Ok(Router::new()
        .route("/v1/kv/{*key}", kv)
        .route("/v1/scan", get(scan::scan))
        .route("/v1/batch", post(batch::batch))
        .route("/v1/txn", post(batch::txn))
        .route("/v1/stats", get(observe::stats))
        .route("/metrics", get(observe::metrics))
        .route("/healthz", get(observe::healthz))
        .fallback(|| async { ApiError::not_found("no such route") })
        // Layers run outside in: the last added is the first to see the request.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::auth,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::record,
        ))
        .with_state(state))
}

/// A bound server, not yet serving: [`Server::bind`], then [`Server::run`] or
/// [`Server::spawn`].
pub struct Server {
    db: Arc<Db>,
    config: ServerConfig,
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Checks `config`, loads the TLS files if any and binds the address. Serving starts
    /// with [`run`](Self::run) or [`spawn`](Self::spawn); the server owns `db` from now on
    /// and closes it when it stops.
    ///
    /// Errors: [`ServeError::Config`]; [`ServeError::Tls`] for unreadable or invalid PEM
    /// files; [`ServeError::Io`] if the address cannot be bound.
    pub async fn bind(db: Arc<Db>, config: ServerConfig) -> Result<Server, ServeError> {
        config.validate()?;
        let tls = match &config.tls {
            Some(files) => Some(load_tls(files)?),
            None => None,
        };
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| ServeError::Io {
                context: format!("binding {}", config.listen),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Io {
            context: "reading the bound address".into(),
            source,
        })?;
        Ok(Server {
            db,
            config,
            listener,
            local_addr,
            tls,
        })
    }

    /// The address bound (with the port chosen, if the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: stops accepting, lets
    /// requests in flight finish for up to [`ServerConfig::shutdown_grace`], closes the
    /// remaining connections, and closes the database ([`Db::close`]).
    ///
    /// Errors: [`ServeError::Io`] if serving fails; [`ServeError::Engine`] if closing the
    /// database fails (its final WAL sync).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            db,
            config,
            listener,
            tls,
            ..
        } = self;
        let grace = config.shutdown_grace;
        let timeout = config.request_timeout;
        let limit = limit::LimitAcceptor::new(config.max_connections);
        let app = router(db.clone(), config)?;
        if db.is_read_only() {
            // A read-only handle sees the database as of its last refresh: catch up with the
            // writer every second.
            let db = Arc::downgrade(&db);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(READ_ONLY_REFRESH);
                loop {
                    tick.tick().await;
                    let Some(db) = db.upgrade().filter(|db| !db.is_closed()) else {
                        return;
                    };
                    let _ = tokio::task::spawn_blocking(move || db.refresh()).await;
                }
            });
        }
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            h.graceful_shutdown(Some(grace));
        });
        let io = |source| ServeError::Io {
            context: "serving".into(),
            source,
        };
        let make = app.into_make_service();
        let served = match tls {
            None => {
                let mut s = axum_server::from_tcp(listener)
                    .map_err(io)?
                    .acceptor(limit)
                    .handle(handle);
                s.http_builder().http1().header_read_timeout(timeout);
                s.serve(make).await
            }
            Some(cfg) => {
                let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(cfg)
                    .handshake_timeout(timeout)
                    .acceptor(limit);
                let mut s = axum_server::from_tcp(listener)
                    .map_err(io)?
                    .acceptor(acceptor)
                    .handle(handle);
                s.http_builder().http1().header_read_timeout(timeout);
                s.serve(make).await
            }
        };
        let closed = tokio::task::spawn_blocking(move || db.close())
            .await
            .map_err(|e| ServeError::Io {
                context: "closing the database".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
        served.map_err(io)?;
        closed?;
        Ok(())
    }

    /// Starts serving on the current tokio runtime and returns at once, with a handle to
    /// stop it: how tests start a server on `127.0.0.1:0`.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr;
        let tls = self.tls.is_some();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            let _ = rx.await;
        }));
        RunningServer {
            addr,
            tls,
            stop: Some(tx),
            task,
        }
    }
}

/// A server serving in the background, from [`Server::spawn`].
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` or `https://ADDR`, without a trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Shuts down gracefully (see [`Server::run`]) and waits until it has, the database
    /// closed.
    ///
    /// Errors: as [`Server::run`].
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.map_err(|e| ServeError::Io {
            context: "the server task".into(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

fn load_tls(files: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServeError::Tls(format!("certificate {}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "no certificate in {}",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| ServeError::Tls(format!("key {}: {e}", files.key.display())))?;
    // ring rather than aws-lc-rs (rustls' default), whose build needs cmake and a C
    // toolchain; rustls 0.23.48 deprecates ring's provider for lacking post-quantum key
    // exchange, which is acceptable for a loopback-first server.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(cfg),
    ))
}
