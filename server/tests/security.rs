//! The bearer token, TLS, and the configuration checks.

mod common;

use common::{error_body, install_crypto, TestServer};
use kevo_server::{ServerConfig, TlsFiles};

#[tokio::test]
async fn a_token_guards_every_route_but_healthz() {
    let t = TestServer::with(ServerConfig {
        token: Some("tok-123".into()),
        ..Default::default()
    })
    .await;
    let c = &t.client;
    for (method, path) in [
        ("GET", "/v1/kv/a"),
        ("PUT", "/v1/kv/a"),
        ("DELETE", "/v1/kv/a"),
        ("GET", "/v1/scan"),
        ("POST", "/v1/batch"),
        ("POST", "/v1/txn"),
        ("GET", "/v1/stats"),
        ("GET", "/metrics"),
        ("GET", "/no/such/route"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = c.request(m.clone(), t.url(path)).send().await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let v = error_body(res, 401).await;
        assert_eq!(v["error"], "unauthorized", "{method} {path}");
        let res = c
            .request(m, t.url(path))
            .bearer_auth("tok-124")
            .send()
            .await
            .unwrap();
        error_body(res, 401).await;
    }
    let res = c
        .put(t.url("/v1/kv/a"))
        .bearer_auth("tok-123")
        .body("1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = c
        .get(t.url("/v1/kv/a"))
        .bearer_auth("tok-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(c.get(t.url("/healthz")).send().await.unwrap().status(), 200);
    t.stop().await;
}

#[test]
fn configurations_are_checked_before_binding() {
    let off_loopback = ServerConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    };
    let e = off_loopback.validate().unwrap_err().to_string();
    assert!(e.contains("needs a token"), "{e}");
    let with_token = ServerConfig {
        token: Some("t".into()),
        ..off_loopback
    };
    with_token.validate().unwrap(); // checked only: tests never bind beyond loopback
    let v6_loopback = ServerConfig {
        listen: "[::1]:0".parse().unwrap(),
        ..Default::default()
    };
    v6_loopback.validate().unwrap();
    for bad in [
        ServerConfig {
            token: Some(String::new()),
            ..Default::default()
        },
        ServerConfig {
            max_body: kevo::MAX_VALUE_SIZE + 1,
            ..Default::default()
        },
        ServerConfig {
            max_connections: 0,
            ..Default::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn tls_with_rustls() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();

    let t = TestServer::with(ServerConfig {
        tls: Some(TlsFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        }),
        ..Default::default()
    })
    .await;
    assert!(t.server.url().starts_with("https://127.0.0.1:"));
    let https = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let res = https
        .put(t.url("/v1/kv/secure"))
        .body("yes")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = https.get(t.url("/v1/kv/secure")).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap(), &b"yes"[..]);
    // Plain HTTP on the TLS port gets no answer.
    let plain = format!("http://{}/healthz", t.server.local_addr());
    assert!(t.client.get(plain).send().await.is_err());
    t.stop().await;

    // A missing or bad key file is refused at bind.
    std::fs::write(&key_path, "not a key").unwrap();
    let db = std::sync::Arc::new(
        kevo::Db::open(dir.path().join("db"), kevo::Options::default()).unwrap(),
    );
    let e = kevo_server::Server::bind(
        db,
        common::loopback(ServerConfig {
            tls: Some(TlsFiles {
                cert: cert_path,
                key: key_path,
            }),
            ..Default::default()
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, kevo_server::ServeError::Tls(_)), "{e}");
}
