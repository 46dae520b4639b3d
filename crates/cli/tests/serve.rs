//! `clientele serve` as a user starts it: the real binary on a real demo, answering on
//! loopback; refusing a public address without a token; and `demo` pointing at it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn clientele() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
}

/// One HTTP/1.1 GET over a plain socket: status line and body.
fn http_get(addr: &str, path: &str, auth: Option<&str>) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = auth.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn demo_names_serve_and_serve_answers_on_loopback_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = clientele()
        .args([
            "demo",
            "--customers",
            "800",
            "--lang",
            "en",
            "--quiet",
            "--dir",
        ])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("clientele serve"), "{said}");
    let token = "cli-serve-test-token-123456";
    let mut server = clientele()
        .args(["serve", "--bind", "127.0.0.1:0", "--quiet"])
        .arg(demo.join("out"))
        .env("CLIENTELE_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let (status, body) = http_get(&addr, "/health", None);
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("\"ok\""), "{body}");
    let (status, _) = http_get(&addr, "/api/v1/summary", None);
    assert!(status.contains("401"), "{status}");
    let (status, body) = http_get(&addr, "/api/v1/schemes/behaviour/grades", Some(token));
    assert!(status.contains("200"), "{status}: {body}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_public_address_without_a_token_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = clientele()
        .args(["serve", "--bind", "0.0.0.0:0"])
        .arg(dir.path())
        .env_remove("CLIENTELE_TOKEN")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--token") && err.contains("127.0.0.1"),
        "{err}"
    );
    // a folder that is not an analysis is named, with what to give instead
    let o = clientele()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("clientele analyze"), "{err}");
}
