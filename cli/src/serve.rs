//! `kevo serve DB`: the database over HTTP/JSON (the `kevo-server` crate), until SIGINT or
//! SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use kevo_server::{Server, ServerConfig, SyncDefault, TlsFiles};

use crate::open::{open_or_create, open_read_only};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Database directory; created with default options if there is no database there
    /// (except with --read-only).
    db: PathBuf,
    /// Address to listen on (port 0 picks a free port; the first line printed tells which).
    /// Anything but a loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// File holding the bearer token (surrounding whitespace ignored); every request but
    /// /healthz must then send `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "FILE")]
    token: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body in bytes (at most the engine's value limit, 512 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = kevo_server::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Default durability of writes: `none` (per the database's sync mode; `?sync=true`
    /// fsyncs one write) or `always` (every write fsynced before its answer; `?sync=false`
    /// opts out).
    #[arg(long, value_enum, default_value_t = SyncArg::None)]
    sync_mode: SyncArg,
    /// Deadline of a request until its response headers, in milliseconds (408 after it).
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    timeout_ms: u64,
    /// Most connections open at once; more are closed as they arrive.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// How long shutdown waits for requests in flight, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    shutdown_grace_ms: u64,
    /// Most scans streaming at once; more get 503.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_scans: usize,
    /// Open the existing DB read-only (no LOCK taken, beside a writer process): reads are
    /// served, writes get 503 `read_only`.
    #[arg(long)]
    read_only: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SyncArg {
    None,
    Always,
}

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let token = match &args.token {
        Some(path) => {
            let t = std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            let t = t.trim().to_string();
            if t.is_empty() {
                bail!("the token file {} is empty", path.display());
            }
            Some(t)
        }
        None => None,
    };
    let config = ServerConfig {
        listen: args.listen,
        token,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        max_body: args.max_body,
        sync_mode: match args.sync_mode {
            SyncArg::None => SyncDefault::None,
            SyncArg::Always => SyncDefault::Always,
        },
        request_timeout: Duration::from_millis(args.timeout_ms),
        max_connections: args.max_connections,
        shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
        max_scans: args.max_scans,
    };
    // Refuse a bad configuration before creating a database for it.
    config.validate()?;
    let db = Arc::new(if args.read_only {
        open_read_only(&args.db)?
    } else {
        open_or_create(&args.db)?
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(async move {
        let server = Server::bind(db, config).await?;
        let scheme = if args.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        println!("listening on {scheme}://{}", server.local_addr());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run(shutdown_signal()).await?;
        eprintln!("kevo serve: shut down, database closed");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
