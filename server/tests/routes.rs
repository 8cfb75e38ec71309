//! Every route and every error code, over loopback with reqwest.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{error_body, TestServer};
use kevo_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn kv_put_get_head_delete() {
    let t = TestServer::start().await;
    let c = &t.client;
    let url = t.url("/v1/kv/city/paris");

    let res = c.put(&url).body("2138551").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let put_tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        t.db.get(b"city/paris").unwrap().as_deref(),
        Some(&b"2138551"[..])
    );

    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.headers()["etag"].to_str().unwrap(), put_tag);
    assert_eq!(res.bytes().await.unwrap(), &b"2138551"[..]);

    // %2F and / name the same key.
    let res = c.get(t.url("/v1/kv/city%2Fparis")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let res = c.head(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), put_tag);
    assert_eq!(res.headers()["content-length"], "7");

    let res = c.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let v = error_body(c.get(&url).send().await.unwrap(), 404).await;
    assert_eq!(v["error"], "not_found");
    assert_eq!(c.head(&url).send().await.unwrap().status(), 404);
    // Deleting an absent key is no error.
    assert_eq!(c.delete(&url).send().await.unwrap().status(), 204);

    // Any byte in a key; an empty value.
    let res = c
        .put(t.url("/v1/kv/%00%FF%20+"))
        .body(vec![0u8, 1, 255])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(t.db.get(b"\x00\xff +").unwrap(), Some(vec![0, 1, 255]));
    let res = c.put(t.url("/v1/kv/empty")).body("").send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = c.get(t.url("/v1/kv/empty")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().is_empty());
    t.stop().await;
}

#[tokio::test]
async fn etags_make_writes_conditional() {
    let t = TestServer::start().await;
    let c = &t.client;
    let url = t.url("/v1/kv/k");

    // If-None-Match: * creates only if absent.
    let res = c
        .put(&url)
        .header("if-none-match", "*")
        .body("1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let tag1 = res.headers()["etag"].to_str().unwrap().to_string();
    let v = error_body(
        c.put(&url)
            .header("if-none-match", "*")
            .body("x")
            .send()
            .await
            .unwrap(),
        412,
    )
    .await;
    assert_eq!(v["error"], "precondition_failed");

    // If-Match with the current tag succeeds, with an old one fails.
    let res = c
        .put(&url)
        .header("if-match", &tag1)
        .body("2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let tag2 = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(tag1, tag2);
    error_body(
        c.put(&url)
            .header("if-match", &tag1)
            .body("3")
            .send()
            .await
            .unwrap(),
        412,
    )
    .await;
    assert_eq!(t.db.get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
    // A list of tags; `*` for "exists".
    let list = format!("{tag1}, {tag2}");
    let res = c
        .put(&url)
        .header("if-match", list)
        .body("3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    error_body(
        c.put(t.url("/v1/kv/absent"))
            .header("if-match", "*")
            .body("x")
            .send()
            .await
            .unwrap(),
        412,
    )
    .await;

    // A conditional GET.
    let tag3 = c.get(&url).send().await.unwrap().headers()["etag"].clone();
    let res = c
        .get(&url)
        .header("if-none-match", &tag3)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // A conditional DELETE.
    error_body(
        c.delete(&url)
            .header("if-match", &tag1)
            .send()
            .await
            .unwrap(),
        412,
    )
    .await;
    let res = c
        .delete(&url)
        .header("if-match", &tag3)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(t.db.get(b"k").unwrap(), None);

    // A malformed precondition is a 400.
    error_body(
        c.put(&url)
            .header("if-match", "unquoted")
            .body("x")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    t.stop().await;
}

#[tokio::test]
async fn malformed_input_is_400_and_unknown_routes_404_405() {
    let t = TestServer::with(ServerConfig {
        max_body: 1024,
        ..Default::default()
    })
    .await;
    let c = &t.client;
    for path in [
        "/v1/kv/a%zz",
        "/v1/kv/a%4",
        "/v1/kv/%",
        "/v1/scan?prefix=%G0",
    ] {
        let v = error_body(c.get(t.url(path)).send().await.unwrap(), 400).await;
        assert_eq!(v["error"], "bad_request", "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains("percent"), "{v}");
    }
    let v = error_body(
        c.get(t.url("/v1/scan?limit=ten")).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(v["error"], "bad_request");
    let v = error_body(c.get(t.url("/v1/scan?prefx=a")).send().await.unwrap(), 400).await;
    assert!(v["message"].as_str().unwrap().contains("prefx"), "{v}");
    error_body(
        c.put(t.url("/v1/kv/a?sync=maybe"))
            .body("v")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    // Malformed JSON, and JSON of the wrong shape.
    for body in [
        "[{",
        "{\"ops\": []}",
        "[{\"op\": \"frobnicate\", \"key\": \"a\"}]",
        "[{\"op\": \"put\", \"key\": \"a\"}]",
    ] {
        let v = error_body(
            c.post(t.url("/v1/batch")).body(body).send().await.unwrap(),
            400,
        )
        .await;
        assert_eq!(v["error"], "bad_request", "{body}: {v}");
    }
    error_body(
        c.post(t.url("/v1/txn"))
            .body("not json")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let bad_b64 = json!([{"op": "delete", "key_b64": "!!"}]).to_string();
    error_body(
        c.post(t.url("/v1/batch"))
            .body(bad_b64)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    // The engine's own checks: a reversed range (a key over the limit: in the batch test).
    let range = json!([{"op": "delete_range", "start": "b", "end": "a"}]).to_string();
    let v = error_body(
        c.post(t.url("/v1/batch")).body(range).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(v["error"], "invalid_argument");

    // Bodies over max_body: 413, whether the length is announced or streamed.
    let v = error_body(
        c.put(t.url("/v1/kv/big"))
            .body(vec![7u8; 1025])
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(v["error"], "payload_too_large");
    let chunks =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![1u8; 200])));
    let res = c
        .put(t.url("/v1/kv/big"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    error_body(res, 413).await;
    error_body(
        c.post(t.url("/v1/batch"))
            .body(vec![b' '; 2000])
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(t.db.get(b"big").unwrap(), None);
    let res = c
        .put(t.url("/v1/kv/big"))
        .body(vec![7u8; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "exactly max_body is accepted");

    // Unknown routes and methods.
    let v = error_body(c.get(t.url("/v2/nothing")).send().await.unwrap(), 404).await;
    assert_eq!(v["error"], "not_found");
    error_body(c.get(t.url("/v1/kv/")).send().await.unwrap(), 404).await;
    let v = error_body(c.post(t.url("/v1/kv/a")).send().await.unwrap(), 405).await;
    assert_eq!(v["error"], "method_not_allowed");
    error_body(c.get(t.url("/v1/batch")).send().await.unwrap(), 405).await;
    error_body(c.delete(t.url("/v1/scan")).send().await.unwrap(), 405).await;
    t.stop().await;
}

/// The NDJSON lines of a scan.
async fn scan_lines(t: &TestServer, query: &str) -> Vec<Value> {
    let res = t
        .client
        .get(t.url(&format!("/v1/scan{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{query}");
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let text = res.text().await.unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn keys(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn scans_by_prefix_range_limit_reverse() {
    let t = TestServer::start().await;
    for k in ["a/1", "a/2", "a/3", "b/1", "b/2", "c"] {
        t.db.put(k.as_bytes(), format!("v{k}").as_bytes()).unwrap();
    }
    t.db.put(b"\xffbin", b"\x00\xfe").unwrap();

    let all = scan_lines(&t, "").await;
    assert_eq!(all.len(), 7);
    assert_eq!(all[0], json!({"key": "a/1", "value": "va/1"}));
    assert_eq!(all[6], json!({"key_b64": "/2Jpbg==", "value_b64": "AP4="}));
    assert_eq!(
        keys(&scan_lines(&t, "?prefix=a/").await),
        ["a/1", "a/2", "a/3"]
    );
    assert_eq!(
        keys(&scan_lines(&t, "?prefix=a%2F&reverse=true").await),
        ["a/3", "a/2", "a/1"]
    );
    assert_eq!(
        keys(&scan_lines(&t, "?start=a/2&end=b/2").await),
        ["a/2", "a/3", "b/1"]
    );
    assert_eq!(
        keys(&scan_lines(&t, "?start=a/2&limit=2").await),
        ["a/2", "a/3"]
    );
    assert_eq!(
        keys(&scan_lines(&t, "?end=c&reverse&limit=2").await),
        ["b/2", "b/1"]
    );
    let ko = scan_lines(&t, "?prefix=b&keys_only=true").await;
    assert_eq!(ko, vec![json!({"key": "b/1"}), json!({"key": "b/2"})]);
    assert!(scan_lines(&t, "?prefix=zzz").await.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn batches_apply_atomically() {
    let t = TestServer::start().await;
    t.db.put(b"r/1", b"x").unwrap();
    t.db.put(b"r/2", b"x").unwrap();
    t.db.put(b"gone", b"x").unwrap();
    let body = json!([
        {"op": "put", "key": "a", "value": "1"},
        {"op": "put", "key_b64": "/w==", "value_b64": "AA=="},
        {"op": "delete", "key": "gone"},
        {"op": "delete_range", "start": "r/", "end": "r0"},
    ]);
    let res = t
        .client
        .post(t.url("/v1/batch?sync=true"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"applied": 4}));
    assert_eq!(t.db.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(t.db.get(b"\xff").unwrap(), Some(vec![0]));
    assert_eq!(t.db.get(b"gone").unwrap(), None);
    assert_eq!(t.db.get(b"r/1").unwrap(), None);
    assert_eq!(t.db.get(b"r/2").unwrap(), None);

    // One bad op: nothing is written.
    let body =
        json!([{"op": "put", "key": "new", "value": "1"}, {"op": "put", "key": "", "value": "1"}]);
    let res = t
        .client
        .post(t.url("/v1/batch"))
        .json(&body)
        .send()
        .await
        .unwrap();
    error_body(res, 400).await;
    assert_eq!(t.db.get(b"new").unwrap(), None);
    let long = "a".repeat(kevo::MAX_KEY_SIZE + 1);
    let body = json!([{"op": "put", "key": long, "value": "1"}]);
    let res = t
        .client
        .post(t.url("/v1/batch"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(res, 400).await["error"], "invalid_argument");
    t.stop().await;
}

#[tokio::test]
async fn txn_compares_then_writes_or_409() {
    let t = TestServer::start().await;
    let c = &t.client;
    c.put(t.url("/v1/kv/alice"))
        .body("100")
        .send()
        .await
        .unwrap();
    let tag = c.get(t.url("/v1/kv/alice")).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();

    let body = json!({
        "compare": [{"key": "alice", "version": tag}, {"key": "bob", "version": null}],
        "writes": [{"op": "put", "key": "alice", "value": "70"}, {"op": "put", "key": "bob", "value": "30"}],
    });
    let res = c.post(t.url("/v1/txn")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"committed": true, "applied": 2})
    );
    assert_eq!(t.db.get(b"bob").unwrap().as_deref(), Some(&b"30"[..]));

    // The same again: both comparisons now fail; nothing is written.
    let res = c
        .post(t.url("/v1/txn?sync=true"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let v = error_body(res, 409).await;
    assert_eq!(v["error"], "conflict");
    let conflicts = v["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{v}");
    assert_eq!(conflicts[0]["key"], "alice");
    let now = c.get(t.url("/v1/kv/alice")).send().await.unwrap().headers()["etag"].clone();
    assert_eq!(conflicts[0]["version"], now.to_str().unwrap());
    assert_eq!(
        conflicts[1],
        json!({"key": "bob", "version": kevo_server::codec::etag(b"30")})
    );
    assert_eq!(t.db.get(b"alice").unwrap().as_deref(), Some(&b"70"[..]));

    // Versions without quotes are accepted; writes only; an empty transaction.
    let unquoted = now.to_str().unwrap().trim_matches('"').to_string();
    let body = json!({"compare": [{"key": "alice", "version": unquoted}], "writes": [{"op": "delete", "key": "bob"}]});
    assert_eq!(
        c.post(t.url("/v1/txn"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(t.db.get(b"bob").unwrap(), None);
    assert_eq!(
        c.post(t.url("/v1/txn"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = json!({"compare": [{"key": "a", "version": 3}]});
    error_body(
        c.post(t.url("/v1/txn")).json(&bad).send().await.unwrap(),
        400,
    )
    .await;
    t.stop().await;
}

#[tokio::test]
async fn stats_metrics_healthz() {
    let t = TestServer::start().await;
    let c = &t.client;
    c.put(t.url("/v1/kv/a")).body("1").send().await.unwrap();
    let _ = c.get(t.url("/v1/kv/nope")).send().await.unwrap();

    let s: Value = c
        .get(t.url("/v1/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(s["user_bytes_written"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["levels"].as_array().unwrap().len(), 7);

    let res = c.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let m = res.text().await.unwrap();
    for needle in [
        "kevo_http_requests_total{method=\"PUT\",route=\"/v1/kv/{*key}\",status=\"204\"} 1",
        "kevo_http_requests_total{method=\"GET\",route=\"/v1/kv/{*key}\",status=\"404\"} 1",
        "kevo_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/stats\",le=\"",
        "# TYPE kevo_engine_user_bytes_written_total counter",
        "kevo_engine_level_files{level=\"0\"}",
        "kevo_http_scans_running 0",
    ] {
        assert!(m.contains(needle), "{needle} missing from\n{m}");
    }

    let h: Value = c
        .get(t.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h, json!({"status": "ok", "writable": true}));
    t.stop().await;
}

#[tokio::test]
async fn sync_is_per_request_or_default() {
    // Both settings answer alike; what differs is the fsync, which the kill -9 test of the
    // CLI covers. Here: every spelling is accepted.
    for sync_mode in [
        kevo_server::SyncDefault::None,
        kevo_server::SyncDefault::Always,
    ] {
        let t = TestServer::with(ServerConfig {
            sync_mode,
            ..Default::default()
        })
        .await;
        for q in ["", "?sync=true", "?sync=false", "?sync=1", "?sync"] {
            let res = t
                .client
                .put(t.url(&format!("/v1/kv/k{q}")))
                .body("v")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 204, "{q}");
        }
        let res = t
            .client
            .delete(t.url("/v1/kv/k"))
            .header("x-kevo-sync", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        t.stop().await;
    }
}

#[tokio::test]
async fn background_error_refuses_writes_with_503_and_serves_reads() {
    let fs = kevo::fs::MemFileSystem::new();
    let db =
        Arc::new(kevo::Db::open("/db", kevo::Options::default().fs(Arc::new(fs.clone()))).unwrap());
    db.put(b"k", b"v").unwrap();
    let t = TestServer::on(tempfile::tempdir().unwrap(), db, ServerConfig::default()).await;
    let c = &t.client;
    // The next file-system write fails: the WAL append. The database then refuses writes.
    fs.fail_at(0, kevo::fs::FaultKind::Io, false);
    let v = error_body(
        c.put(t.url("/v1/kv/x")).body("1").send().await.unwrap(),
        500,
    )
    .await;
    assert_eq!(v["error"], "io");
    let v = error_body(
        c.put(t.url("/v1/kv/y")).body("1").send().await.unwrap(),
        503,
    )
    .await;
    assert_eq!(v["error"], "background");
    error_body(c.delete(t.url("/v1/kv/k")).send().await.unwrap(), 503).await;
    let batch = json!([{"op": "put", "key": "z", "value": "1"}]);
    error_body(
        c.post(t.url("/v1/batch"))
            .json(&batch)
            .send()
            .await
            .unwrap(),
        503,
    )
    .await;
    // Reads go on.
    let res = c.get(t.url("/v1/kv/k")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), &b"v"[..]);
    assert_eq!(keys(&scan_lines(&t, "").await), ["k"]);
    let h: Value = c
        .get(t.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["writable"], false, "{h}");
    // Closing syncs the WAL, which fails on this database: shutdown reports it.
    let TestServer { server, .. } = t;
    let _ = server.shutdown().await;
}

#[tokio::test]
async fn requests_over_the_timeout_get_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::with(ServerConfig {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    // Headers announce a body that never comes.
    let mut s = tokio::net::TcpStream::connect(t.server.local_addr())
        .await
        .unwrap();
    s.write_all(b"PUT /v1/kv/slow HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("answered within the timeout")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error\":\"timeout\""), "{text}");
    assert_eq!(t.db.get(b"slow").unwrap(), None);
    t.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::with(ServerConfig {
        max_connections: 2,
        ..Default::default()
    })
    .await;
    let addr = t.server.local_addr();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        // A complete request on a kept-alive connection: the server has accepted it.
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "the third connection is closed unanswered: {r:?} {:?}",
        String::from_utf8_lossy(&buf)
    );
    drop(held);
    // Once the others close, connections are admitted again.
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(res) = t.client.get(t.url("/healthz")).send().await {
            ok = res.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok);
    t.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_the_database() {
    let t = TestServer::start().await;
    t.client
        .put(t.url("/v1/kv/k"))
        .body("v")
        .send()
        .await
        .unwrap();
    let dir = t.dir.path().to_path_buf();
    let TestServer {
        dir: tmp,
        db,
        server,
        ..
    } = t;
    server.shutdown().await.unwrap();
    assert!(db.is_closed());
    drop(db);
    let db = kevo::Db::reopen(&dir).unwrap();
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    drop(tmp);
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish_within_the_grace_period() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::with(ServerConfig {
        shutdown_grace: Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    // A request in flight: its headers are in, half its body.
    let mut s = tokio::net::TcpStream::connect(t.server.local_addr())
        .await
        .unwrap();
    s.write_all(b"PUT /v1/kv/inflight HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\n\r\nabc")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let TestServer {
        db, server, dir, ..
    } = t;
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the request in flight"
    );
    s.write_all(b"def").await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 204"), "{text}");
    stopping.await.unwrap().unwrap();
    assert!(db.is_closed());
    drop(db);
    let db = kevo::Db::reopen(dir.path()).unwrap();
    assert_eq!(
        db.get(b"inflight").unwrap().as_deref(),
        Some(&b"abcdef"[..])
    );
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_after_the_grace_period() {
    use tokio::io::AsyncWriteExt;
    let t = TestServer::with(ServerConfig {
        shutdown_grace: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut s = tokio::net::TcpStream::connect(t.server.local_addr())
        .await
        .unwrap();
    s.write_all(b"PUT /v1/kv/never HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\n\r\nabc")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let TestServer { db, server, .. } = t;
    server.shutdown().await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    assert!(db.is_closed());
    assert_eq!(
        db.get(b"never").err().map(|e| e.to_string()),
        Some("database is closed".into())
    );
}
