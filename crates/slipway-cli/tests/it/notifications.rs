//! `slipway notifications` against a real server and a real HTTP receiver on loopback: a signed
//! webhook subscribed with its key read from standard input, listed masked, tested (the
//! receiver gets the signed CloudEvent), its delivery logged, removed; mistakes named.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Server, output};

/// The requests a receiver got: each one's head and body.
type Requests = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver answering 200 to every request, keeping each one's head and body.
fn receiver() -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let kept = Arc::new(Mutex::new(Vec::new()));
    let received = Arc::clone(&kept);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(mut requests) = received.lock()
            {
                requests.push((head, body));
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (address, kept)
}

#[test]
fn notifications_from_the_command_line() {
    let server = Server::start();
    let (address, received) = receiver();

    // A mistake is named.
    let (ok, text) = output(&mut server.admin(&[
        "notifications",
        "subscribe",
        "--name",
        "x",
        "--kind",
        "pager",
        "--target",
        "https://example.com/",
    ]));
    assert!(!ok && text.contains("kind: 'pager' is not a notification kind"), "{text}");

    // Subscribe with the key on standard input.
    let mut child = server
        .admin(&[
            "notifications",
            "subscribe",
            "--name",
            "hook",
            "--kind",
            "webhook",
            "--target",
            &format!("{address}/hook/secret-path"),
            "--secret-stdin",
            "--type",
            "pipelinerun.",
            "--branch",
            "main",
            "--result",
            "failure",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("slipway runs");
    child.stdin.take().expect("stdin").write_all(b"cli-key-42\n").expect("the key is written");
    let done = child.wait_with_output().expect("slipway ends");
    let text = String::from_utf8_lossy(&done.stdout).into_owned() + &String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{text}");
    assert!(text.contains("Subscription 1 'hook' created (webhook to http://127.0.0.1:"), "{text}");
    assert!(!text.contains("secret-path") && !text.contains("cli-key-42"), "{text}");

    let (ok, text) = output(&mut server.admin(&["notifications", "list"]));
    assert!(ok, "{text}");
    assert!(
        text.contains("hook") && text.contains("/***") && text.contains("type=pipelinerun. branch=main result=failure"),
        "{text}"
    );
    assert!(!text.contains("cli-key-42") && !text.contains("secret-path"), "{text}");

    // A test notification reaches the receiver, signed with the key.
    let (ok, text) = output(&mut server.admin(&["notifications", "test", "1"]));
    assert!(ok && text.contains("Test notification queued"), "{text}");
    let mut delivered = String::new();
    for _ in 0..80 {
        let (ok, text) =
            output(&mut server.admin(&["notifications", "deliveries", "--subscription", "1", "--state", "delivered"]));
        assert!(ok, "{text}");
        if text.contains("slipway-notification.test") {
            delivered = text;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(delivered.contains("delivered") && delivered.contains("200"), "no delivery: {delivered}");
    let requests = received.lock().map(|requests| requests.clone()).unwrap_or_default();
    assert_eq!(requests.len(), 1);
    let (head, body) = &requests[0];
    assert!(head.starts_with("POST /hook/secret-path "), "{head}");
    let signature = slipway_insights::notifications::render::signature(b"cli-key-42", body);
    assert!(head.to_ascii_lowercase().contains(&format!("x-slipway-signature-256: {signature}")), "{head}");
    let event: serde_json::Value = serde_json::from_slice(body).expect("a CloudEvent");
    assert_eq!(event["type"], "dev.cdeventsx.slipway-notification.test.0.1.0");

    let (ok, text) = output(&mut server.admin(&["notifications", "remove", "1"]));
    assert!(ok && text.contains("Subscription 1 removed."), "{text}");
    let (ok, text) = output(&mut server.admin(&["notifications", "remove", "1"]));
    assert!(!ok, "{text}");
}
