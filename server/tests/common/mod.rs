//! Test support: a server on a fresh database at 127.0.0.1:0, and a client for it.

#![allow(dead_code)]

use std::sync::Arc;

use kevo::{Db, Options};
use kevo_server::{RunningServer, Server, ServerConfig};

/// A running server on a temporary database; [`TestServer::stop`] shuts it down.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub db: Arc<Db>,
    pub server: RunningServer,
    pub client: reqwest::Client,
}

/// reqwest is built without a default crypto provider (no aws-lc-rs): install ring's.
pub fn install_crypto() {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// `config` with the address set to 127.0.0.1:0.
pub fn loopback(mut config: ServerConfig) -> ServerConfig {
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with(ServerConfig::default()).await
    }

    pub async fn with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
        Self::on(dir, db, config).await
    }

    pub async fn on(dir: tempfile::TempDir, db: Arc<Db>, config: ServerConfig) -> TestServer {
        let server = Server::bind(db.clone(), loopback(config))
            .await
            .unwrap()
            .spawn();
        TestServer {
            dir,
            db,
            server,
            client: client(),
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn stop(self) {
        self.server.shutdown().await.unwrap();
        assert!(self.db.is_closed(), "shutdown closes the database");
    }
}

/// The JSON body of an error answer, checked to have the shape `{"error", "message"}`.
pub async fn error_body(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    assert_eq!(
        res.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string()),
        Some("application/json".to_string()),
        "an error answer is JSON"
    );
    let v: serde_json::Value = res.json().await.unwrap();
    assert!(v["error"].is_string(), "{v}");
    assert!(v["message"].is_string(), "{v}");
    v
}
