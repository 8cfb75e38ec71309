//! `kevo serve` as a process: the address it prints, the token, SIGTERM, and kill -9 during
//! `?sync=true` writes losing no acknowledged write. Loopback only; every test stops the
//! server it starts.

#[allow(dead_code)] // not every helper is used here
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_one_error, kevo};

/// A `kevo serve` child process and the address it listens on. Killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(db: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kevo"))
            .arg("serve")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kevo serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .parse()
            .unwrap();
        Serve { child, addr }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a kept-alive connection: the status and the body.
fn request(
    conn: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text[9..12].parse().unwrap();
    let len = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)?;
    Ok((status, body))
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

#[test]
fn kill_9_during_synced_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut serve = Serve::start(&db, &[]);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, addr) = (acked.clone(), stop.clone(), serve.addr);
            std::thread::spawn(move || {
                let mut conn = connect(addr);
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (key, value) = (format!("w{w}/{i:06}"), format!("value {w} {i}"));
                    let path = format!("/v1/kv/{key}?sync=true");
                    match request(&mut conn, "PUT", &path, &[], value.as_bytes()) {
                        Ok((204, _)) => acked.lock().unwrap().push((key, value)),
                        Ok((status, body)) => {
                            panic!("{status}: {}", String::from_utf8_lossy(&body))
                        }
                        Err(_) => break, // the server was killed
                    }
                }
            })
        })
        .collect();
    // Let writes flow, then kill the server in the middle of them.
    while acked.lock().unwrap().len() < 200 {
        std::thread::sleep(Duration::from_millis(10));
    }
    serve.child.kill().unwrap(); // SIGKILL
    serve.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let reopened = kevo::Db::reopen(&db).unwrap();
    for (k, v) in &acked {
        assert_eq!(
            reopened.get(k.as_bytes()).unwrap().as_deref(),
            Some(v.as_bytes()),
            "acknowledged write {k} lost ({} acknowledged)",
            acked.len()
        );
    }
}

#[test]
fn sigterm_shuts_down_gracefully_and_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut serve = Serve::start(&db, &["--sync-mode", "always"]);
    let mut conn = connect(serve.addr);
    let (status, _) = request(&mut conn, "PUT", "/v1/kv/k", &[], b"v").unwrap();
    assert_eq!(status, 204);
    let (status, body) = request(&mut conn, "GET", "/v1/kv/k", &[], b"").unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"v"[..]));
    drop(conn);
    let pid = serve.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    serve
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("database closed"), "{stderr}");
    // The LOCK is released: the database opens again, with the write.
    let reopened = kevo::Db::reopen(&db).unwrap();
    assert_eq!(reopened.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn token_is_required_off_loopback_and_checked_on_every_route_but_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // No server is started for a non-loopback address without a token.
    let r = kevo([
        "serve".as_ref(),
        db.as_os_str(),
        "--listen".as_ref(),
        "0.0.0.0:0".as_ref(),
    ]);
    assert_one_error(&r, 1, "needs a token");
    assert!(
        !db.exists(),
        "nothing is created for a refused configuration"
    );

    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let serve = Serve::start(&db, &["--token", token.to_str().unwrap()]);
    // A fresh connection per request: a refused request's body is not read, so the server
    // may close the connection after answering.
    let (status, body) = request(&mut connect(serve.addr), "GET", "/v1/stats", &[], b"").unwrap();
    assert_eq!(status, 401);
    assert!(String::from_utf8_lossy(&body).contains("\"error\":\"unauthorized\""));
    let wrong = [("authorization", "Bearer s3creT")];
    assert_eq!(
        request(&mut connect(serve.addr), "PUT", "/v1/kv/a", &wrong, b"1")
            .unwrap()
            .0,
        401
    );
    let right = [("authorization", "Bearer s3cret")];
    assert_eq!(
        request(&mut connect(serve.addr), "PUT", "/v1/kv/a", &right, b"1")
            .unwrap()
            .0,
        204
    );
    assert_eq!(
        request(&mut connect(serve.addr), "GET", "/v1/kv/a", &right, b"")
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        request(&mut connect(serve.addr), "GET", "/healthz", &[], b"")
            .unwrap()
            .0,
        200
    );
    // Unknown routes need the token too (nothing is told without it).
    assert_eq!(
        request(&mut connect(serve.addr), "GET", "/nothing", &[], b"")
            .unwrap()
            .0,
        401
    );
}

#[test]
fn read_only_serves_reads_beside_a_writer_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let r = kevo(["serve".as_ref(), db.as_os_str(), "--read-only".as_ref()]);
    assert_one_error(&r, 1, "no database at");
    let writer = kevo::Db::open(&db, kevo::Options::default()).unwrap();
    writer.put(b"k", b"1").unwrap();
    // The writer keeps the database open (and locked) while the server reads it.
    let serve = Serve::start(&db, &["--read-only"]);
    let mut conn = connect(serve.addr);
    let (status, body) = request(&mut conn, "GET", "/v1/kv/k", &[], b"").unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"1"[..]));
    let (status, body) = request(&mut conn, "PUT", "/v1/kv/k", &[], b"2").unwrap();
    assert_eq!(status, 503);
    assert!(String::from_utf8_lossy(&body).contains("\"error\":\"read_only\""));
    // The server catches up with the writer within about a second.
    writer.put(b"k", b"3").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = request(&mut conn, "GET", "/v1/kv/k", &[], b"").unwrap();
        if body == b"3" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw the writer's put"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
