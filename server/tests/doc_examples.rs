//! The `curl` examples of `server/README.md`, replayed in order with reqwest against a fresh
//! server (CI need not have curl): each must answer the status its `# → NNN` comment says.

mod common;

use common::TestServer;

/// One `curl` command line of the README.
#[derive(Debug)]
struct Example {
    line: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    expect: u16,
}

const DOC_URL: &str = "http://127.0.0.1:7878";

/// The curl lines of the ```sh blocks, parsed: the flags the README uses (`-i`, `-s`, `-N`,
/// `-I`, `-X`, `-H`, `--data-binary`) and nothing else.
fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let (cmd, expect) = line
            .rsplit_once("# → ")
            .unwrap_or_else(|| panic!("no `# → STATUS` on {line:?}"));
        let words = shlex::split(cmd).unwrap_or_else(|| panic!("bad quoting: {line:?}"));
        assert_eq!(words[0], "curl", "{line}");
        let mut ex = Example {
            line: line.to_string(),
            method: "GET".into(),
            url: String::new(),
            headers: Vec::new(),
            body: None,
            expect: expect.trim().parse().unwrap(),
        };
        let mut it = words.into_iter().skip(1);
        while let Some(w) = it.next() {
            match w.as_str() {
                "-i" | "-s" | "-N" => {}
                "-I" => ex.method = "HEAD".into(),
                "-X" => ex.method = it.next().unwrap(),
                "-H" => {
                    let h = it.next().unwrap();
                    let (k, v) = h.split_once(':').unwrap();
                    ex.headers.push((k.trim().into(), v.trim().into()));
                }
                "--data-binary" => {
                    ex.body = Some(it.next().unwrap().into_bytes());
                    if ex.method == "GET" {
                        ex.method = "POST".into();
                    }
                }
                url if url.starts_with(DOC_URL) => ex.url = url.to_string(),
                other => panic!("the doc test does not know curl's {other} ({line})"),
            }
        }
        assert!(!ex.url.is_empty(), "no URL in {line}");
        out.push(ex);
    }
    out
}

#[tokio::test]
async fn the_readme_curl_examples_work() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let examples = examples(&doc);
    assert!(examples.len() >= 25, "{} examples", examples.len());
    let t = TestServer::start().await;
    let base = t.server.url();
    for ex in &examples {
        let url = ex.url.replacen(DOC_URL, &base, 1);
        let method = reqwest::Method::from_bytes(ex.method.as_bytes()).unwrap();
        let mut req = t.client.request(method, url);
        for (k, v) in &ex.headers {
            req = req.header(k, v);
        }
        if let Some(b) = &ex.body {
            req = req.body(b.clone());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let is_error = res.status().is_client_error() || res.status().is_server_error();
        let head = ex.method == "HEAD";
        let body = res.text().await.unwrap();
        assert_eq!(status, ex.expect, "{}\n{body}", ex.line);
        if is_error && !head {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(v["error"].is_string() && v["message"].is_string(), "{body}");
        }
    }
    // What the README says the examples left behind.
    assert_eq!(
        t.db.get(b"city/lyon").unwrap().as_deref(),
        Some(&b"522969"[..])
    );
    assert_eq!(t.db.get(b"city/paris").unwrap(), None);
    assert_eq!(t.db.get(b"alice").unwrap().as_deref(), Some(&b"70"[..]));
    assert_eq!(t.db.get(b"bob").unwrap().as_deref(), Some(&b"30"[..]));
    t.stop().await;
}

/// The same examples through the real `curl`, where there is one (CI may lack it: then the
/// test says so and passes; the reqwest replay above is the one that always runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_examples_work_with_real_curl() {
    let has_curl = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_curl {
        eprintln!("no curl here: skipped (the reqwest replay covers the examples)");
        return;
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let t = TestServer::start().await;
    let base = t.server.url();
    for ex in examples(&doc) {
        let cmd = ex.line.rsplit_once("# → ").unwrap().0;
        let mut words = shlex::split(cmd).unwrap();
        for w in &mut words {
            if w.starts_with(DOC_URL) {
                *w = w.replacen(DOC_URL, &base, 1);
            }
        }
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(&words[1..])
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--max-time",
                    "10",
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(code, ex.expect.to_string(), "{}", ex.line);
    }
    t.stop().await;
}

#[tokio::test]
async fn the_readme_shows_real_answers() {
    // The answers the README quotes, checked literally.
    let t = TestServer::start().await;
    let c = &t.client;
    c.put(t.url("/v1/kv/city/paris"))
        .body("2138551")
        .send()
        .await
        .unwrap();
    c.put(t.url("/v1/kv/%00%FF"))
        .body("binary key")
        .send()
        .await
        .unwrap();
    let scan = c
        .get(t.url("/v1/scan?prefix=city/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(scan, "{\"key\":\"city/paris\",\"value\":\"2138551\"}\n");
    let scan = c
        .get(t.url("/v1/scan?reverse=true&keys_only=true"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(scan, "{\"key\":\"city/paris\"}\n{\"key_b64\":\"AP8=\"}\n");
    c.put(t.url("/v1/kv/alice"))
        .body("70")
        .send()
        .await
        .unwrap();
    let body = r#"{"compare": [{"key": "alice", "version": "554e3148e5066c26"}], "writes": [{"op": "delete", "key": "alice"}]}"#;
    let res = c.post(t.url("/v1/txn")).body(body).send().await.unwrap();
    assert_eq!(res.status(), 409);
    // Compared as JSON: the order of the fields is serde_json's (it depends on its features).
    let v: serde_json::Value = res.json().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(
        r#"{"error":"conflict","message":"1 comparison(s) failed; nothing was written","conflicts":[{"key":"alice","version":"\"37aa2747693118fa\""}]}"#,
    )
    .unwrap();
    assert_eq!(v, doc);
    assert_eq!(kevo_server::codec::etag(b"1"), "\"b7b41276360564d4\"");
    t.stop().await;
}
