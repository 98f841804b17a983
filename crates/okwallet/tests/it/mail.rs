//! Mail through a real SMTP server: `okwallet serve` with `OKWALLET_SMTP_URL` pointing at
//! Python's aiosmtpd, which writes every message it receives into a maildir. No mock stands in
//! for the server; CI installs aiosmtpd, and without it this test fails rather than skips.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::serve::start_with_env;

/// An aiosmtpd server on a free local port, stopped on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

// The child is waited for by `SmtpServer`'s drop, or right here when it never came up.
#[allow(clippy::zombie_processes)]
fn start_smtp_server(maildir: &Path) -> SmtpServer {
    let import = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output();
    match import {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "this test needs Python's aiosmtpd as a real SMTP server: run `python3 -m pip install \
             aiosmtpd` (.ci/run installs it). python3 said: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("this test needs python3 with aiosmtpd (.ci/run installs both): {e}"),
    }
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("aiosmtpd exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "aiosmtpd never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    SmtpServer {
        child,
        port,
        maildir: maildir.to_owned(),
    }
}

/// The messages aiosmtpd has stored, waiting until there is at least one.
fn received(maildir: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut messages: Vec<String> = std::fs::read_dir(maildir.join("new"))
            .map(|entries| {
                entries
                    .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        if !messages.is_empty() {
            messages.sort();
            return messages;
        }
        assert!(Instant::now() < deadline, "no mail reached the SMTP server");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A header's value (the first one of that name), unfolded.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\n\n").next().unwrap_or("");
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The body, with its transfer encoding undone.
fn decoded_body(message: &str) -> String {
    let body = message.split_once("\n\n").map_or("", |(_, b)| b);
    match header(message, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .expect("base64 body"),
            )
            .expect("UTF-8 body")
        }
        "quoted-printable" => {
            let joined = body.replace("=\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).expect("=XX"));
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).expect("UTF-8 body")
        }
        _ => body.to_owned(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The stored outbox rows once `done` holds for the newest, polling the database.
fn outbox_when(
    url: &str,
    done: impl Fn(&store::outbox::OutboxMessage) -> bool,
) -> Vec<store::outbox::OutboxMessage> {
    runtime().block_on(async {
        let db = store::Db::connect(url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mail = db.recent_mail(None, 10).await.unwrap();
            if mail.first().is_some_and(&done) {
                db.close().await;
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "the outbox never got there: {mail:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

async fn post(base: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("okwallet answers")
}

const STRONG: &str = "correct horse battery staple 42";

#[test]
fn a_sign_up_mails_its_verification_link_through_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let smtp = start_smtp_server(&maildir);
    let url = store::sqlite_url_for_dir(&dir.path().join("data"));
    let smtp_url = format!("smtp://127.0.0.1:{}?tls=none", smtp.port);
    let server = start_with_env(&url, &[], &[("OKWALLET_SMTP_URL", &smtp_url)]);

    let r = runtime().block_on(post(
        &server.base,
        "/api/v1/users",
        json!({"email": "Mia@Example.com", "password": STRONG}),
    ));
    assert_eq!(r.status(), 201);

    let messages = received(&smtp.maildir);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = messages[0].replace("\r\n", "\n");
    assert_eq!(
        header(&message, "To").as_deref(),
        Some("mia@example.com"),
        "{message}"
    );
    assert_eq!(
        header(&message, "Subject").as_deref(),
        Some("Confirm your email address")
    );
    assert_eq!(
        header(&message, "From").as_deref(),
        Some("okwallet <noreply@localhost>")
    );
    assert!(
        header(&message, "X-RcptTo").is_some_and(|to| to.contains("mia@example.com")),
        "the envelope names the recipient: {message}"
    );
    assert!(
        header(&message, "Message-ID").is_some_and(|id| id.ends_with("@localhost>")),
        "{message}"
    );
    let body = decoded_body(&message);
    assert!(
        body.starts_with("You have not set an anti-phishing code yet."),
        "{body}"
    );
    let marker = format!("{}/verify-email?token=", server.base);
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("a link in {body}"))
        + marker.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    assert!(token.starts_with("okw_") && token.len() == 47, "{token}");

    let sent = outbox_when(&url, |m| m.sent_at_ms.is_some());
    assert_eq!(sent[0].attempts, 1);
    assert_eq!(sent[0].last_error, None);

    // The link that came through SMTP works.
    let r = runtime().block_on(post(
        &server.base,
        "/api/v1/email-verifications",
        json!({ "token": token }),
    ));
    assert_eq!(r.status(), 200);
}

#[test]
fn a_mail_the_server_cannot_take_waits_for_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let url = store::sqlite_url_for_dir(dir.path());
    // Nothing listens on this port: every attempt fails to connect.
    let smtp_url = format!("smtp://127.0.0.1:{}?tls=none", free_port());
    let server = start_with_env(&url, &[], &[("OKWALLET_SMTP_URL", &smtp_url)]);
    let r = runtime().block_on(post(
        &server.base,
        "/api/v1/users",
        json!({"email": "noor@example.com", "password": STRONG}),
    ));
    assert_eq!(r.status(), 201);
    let mail = outbox_when(&url, |m| m.last_error.is_some());
    let m = &mail[0];
    assert_eq!((m.attempts, m.sent_at_ms), (1, None));
    assert!(
        m.next_attempt_at_ms > store::now_ms() + 20_000,
        "the next attempt waits: {m:?}"
    );
    drop(server);
}
