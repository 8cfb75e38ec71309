//! Many clients at once, compare-and-set increments, large streamed scans.

mod common;

use std::time::{Duration, Instant};

use common::{client, TestServer};
use futures_util::StreamExt;
use kevo::WriteBatch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_clients() {
    let t = TestServer::start().await;
    let base = t.server.url();
    let tasks: Vec<_> = (0..200)
        .map(|c| {
            let base = base.clone();
            tokio::spawn(async move {
                // A client each: a connection each.
                let http = client();
                for i in 0..5 {
                    let url = format!("{base}/v1/kv/c{c:03}/{i}");
                    let value = format!("{c}-{i}");
                    let res = http.put(&url).body(value.clone()).send().await.unwrap();
                    assert_eq!(res.status(), 204);
                    let got = http.get(&url).send().await.unwrap().bytes().await.unwrap();
                    assert_eq!(got, value.as_bytes());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let n = t.db.scan_prefix(b"c").unwrap().count();
    assert_eq!(n, 1000);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_increments_from_eight_clients_lose_none() {
    const CLIENTS: usize = 8;
    const EACH: usize = 25;
    let t = TestServer::start().await;
    let url = t.url("/v1/kv/counter");
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let http = client();
                let mut retries = 0u64;
                for _ in 0..EACH {
                    loop {
                        let res = http.get(&url).send().await.unwrap();
                        let req = if res.status() == 404 {
                            http.put(&url).header("if-none-match", "*").body("1")
                        } else {
                            let tag = res.headers()["etag"].clone();
                            let n: u64 = res.text().await.unwrap().parse().unwrap();
                            http.put(&url)
                                .header("if-match", tag)
                                .body((n + 1).to_string())
                        };
                        let status = req.send().await.unwrap().status();
                        if status == 204 {
                            break;
                        }
                        assert_eq!(status, 412, "a lost race is a 412, nothing else");
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    let mut retries = 0;
    for task in tasks {
        retries += task.await.unwrap();
    }
    let final_value = t.db.get(b"counter").unwrap().unwrap();
    assert_eq!(
        String::from_utf8(final_value).unwrap(),
        (CLIENTS * EACH).to_string(),
        "every increment counted ({retries} retries after 412)"
    );
    t.stop().await;
}

fn load(db: &kevo::Db, n: usize, value_len: usize) {
    let value = vec![b'v'; value_len];
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let mut b = WriteBatch::new();
        for i in chunk {
            b.put(format!("key{i:08}").as_bytes(), &value).unwrap();
        }
        db.write(&b).unwrap();
    }
}

/// Reads the NDJSON of a scan in a streaming way, checking key order, and returns the
/// number of lines.
async fn count_scan(res: reqwest::Response, reverse: bool) -> usize {
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut rest = Vec::new();
    let mut n = 0usize;
    let mut last: Option<String> = None;
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.unwrap());
        let mut start = 0;
        while let Some(pos) = rest[start..].iter().position(|&b| b == b'\n') {
            let line: serde_json::Value =
                serde_json::from_slice(&rest[start..start + pos]).unwrap();
            let key = line["key"]
                .as_str()
                .expect("a key line, not an error")
                .to_string();
            if let Some(prev) = &last {
                assert!(
                    if reverse { *prev > key } else { *prev < key },
                    "{prev} then {key}"
                );
            }
            last = Some(key);
            n += 1;
            start += pos + 1;
        }
        rest.drain(..start);
    }
    assert!(rest.is_empty());
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_of_200k_keys_streams() {
    const N: usize = 200_000;
    let t = TestServer::start().await;
    load(&t.db, N, 16);
    let started = Instant::now();
    let res = t.client.get(t.url("/v1/scan")).send().await.unwrap();
    assert_eq!(count_scan(res, false).await, N);
    let res = t
        .client
        .get(t.url("/v1/scan?reverse=true&keys_only=true&limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(count_scan(res, true).await, 1000);
    eprintln!("scanned {N} keys in {:?}", started.elapsed());
    t.stop().await;
}

async fn scans_running(t: &TestServer) -> i64 {
    let m = t
        .client
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix("kevo_http_scans_running "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_ends_its_scan() {
    let t = TestServer::start().await;
    load(&t.db, 100_000, 100);
    let res = t.client.get(t.url("/v1/scan")).send().await.unwrap();
    let mut stream = res.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // The scan thread waits on the full channel while the client reads nothing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(scans_running(&t).await, 1);
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(10);
    while scans_running(&t).await != 0 {
        assert!(
            Instant::now() < deadline,
            "the scan went on after the client left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.stop().await;
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// A scan of 1,000,000 keys (about 250 MB of NDJSON) while the process's resident memory
/// (server and client) grows by less than 64 MiB: the scan's memory is bounded. Slow in a
/// debug build: `cargo test -p kevo-server --release --test load -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn a_scan_of_1m_keys_keeps_rss_bounded() {
    const N: usize = 1_000_000;
    let t = TestServer::start().await;
    load(&t.db, N, 200);
    t.db.flush().unwrap();
    let before = rss_bytes();
    let res = t.client.get(t.url("/v1/scan")).send().await.unwrap();
    let mut stream = res.bytes_stream();
    let (mut bytes, mut peak) = (0u64, before);
    while let Some(chunk) = stream.next().await {
        bytes += chunk.unwrap().len() as u64;
        peak = peak.max(rss_bytes());
    }
    eprintln!("streamed {bytes} bytes; RSS {before} -> peak {peak}");
    assert!(bytes > 200_000_000);
    assert!(
        peak - before < 64 << 20,
        "RSS grew by {} bytes",
        peak - before
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_are_capped_and_a_stalled_client_loses_its_scan() {
    let t = TestServer::with(kevo_server::ServerConfig {
        max_scans: 1,
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    // Far more than the socket buffers hold, so the scan waits on the client.
    load(&t.db, 150_000, 100);
    let res = t.client.get(t.url("/v1/scan")).send().await.unwrap();
    let mut stalled = res.bytes_stream();
    assert!(!stalled.next().await.unwrap().unwrap().is_empty());
    // A second scan while the first holds the only slot.
    let v = common::error_body(t.client.get(t.url("/v1/scan")).send().await.unwrap(), 503).await;
    assert_eq!(v["error"], "busy");
    // The first client reads nothing more: after the timeout its scan ends...
    let deadline = Instant::now() + Duration::from_secs(10);
    while scans_running(&t).await != 0 {
        assert!(Instant::now() < deadline, "a stalled scan went on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...its body is cut off (an error, not a short success)...
    let mut failed = false;
    while let Some(chunk) = stalled.next().await {
        if chunk.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the cut-short scan ended like a complete one");
    // ...and the slot is free again.
    let res = t
        .client
        .get(t.url("/v1/scan?limit=10"))
        .send()
        .await
        .unwrap();
    assert_eq!(count_scan(res, false).await, 10);
    t.stop().await;
}
