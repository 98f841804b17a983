use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{okwallet, text};

/// A running `okwallet serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `okwallet serve --listen 127.0.0.1:0 <extra>` and waits for the address it prints.
pub fn start(database_url: &str, extra: &[&str]) -> Server {
    start_with_env(database_url, extra, &[])
}

/// [`start`] with extra environment variables.
// The child is waited for by `Server`'s drop, or right here when it never came up.
#[allow(clippy::zombie_processes)]
pub fn start_with_env(database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = okwallet(database_url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("okwallet serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut line = String::new();
        let n = lines.read_line(&mut line).expect("read stdout");
        assert!(
            n > 0 && Instant::now() < deadline,
            "okwallet serve exited or never said where it listens:\n{banner}"
        );
        banner.push_str(&line);
        if let Some(rest) = line.strip_prefix("okwallet is running at ") {
            let base = rest
                .split_whitespace()
                .next()
                .expect("an address")
                .trim_end_matches('/')
                .to_owned();
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.lines() {});
            return Server {
                child,
                base,
                banner,
            };
        }
    }
}

#[test]
fn the_demo_prints_logins_serves_and_funds_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = store::sqlite_url_for_dir(dir.path());
    let balance = || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = store::Db::connect(&url).await.unwrap();
            let user = db
                .user_by_email(&identity::Email::parse("user@demo.okwallet.local").unwrap())
                .await
                .unwrap()
                .unwrap();
            let id = store::accounts::user_account_id(
                &user.id,
                &ledger::AssetCode::parse("USDT").unwrap(),
            );
            let available = db.account(&id).await.unwrap().unwrap().available();
            db.close().await;
            available
        })
    };
    for _ in 0..2 {
        let server = start(&url, &["--demo"]);
        for role in ["user", "merchant", "agent", "supervisor", "admin"] {
            assert!(
                server
                    .banner
                    .contains(&format!("{role}@demo.okwallet.local")),
                "{}",
                server.banner
            );
        }
        let health = reqwest::blocking_get(&format!("{}/healthz", server.base));
        assert_eq!(health, 200);
        let ready = reqwest::blocking_get(&format!("{}/readyz", server.base));
        assert_eq!(ready, 200);
        drop(server);
        assert_eq!(
            balance(),
            10_000_000_000,
            "10000 USDT, funded once however often the demo starts"
        );
    }
    let verify = crate::run(okwallet(&url).args(["ledger", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// A tiny blocking GET, so these tests need no async HTTP client: returns the status code.
mod reqwest {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    pub fn blocking_get(url: &str) -> u16 {
        let rest = url.strip_prefix("http://").expect("http URL");
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let mut stream = TcpStream::connect(host).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

#[test]
fn a_sqlite_install_keeps_its_own_secret_key_beside_the_database() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = store::sqlite_url_for_dir(dir.path());
    let key_path = dir.path().join("okwallet.secret-key");
    let first = {
        let _server = start(&url, &[]);
        std::fs::read_to_string(&key_path).expect("a key file beside the database")
    };
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by the owner only");
    assert!(identity::sealed::SecretKey::parse(&first).is_some());
    let _server = start(&url, &[]);
    assert_eq!(
        std::fs::read_to_string(&key_path).unwrap(),
        first,
        "the same key after a restart"
    );
}

testkit::both_backends!(
    a_postgres_node_needs_the_shared_key_and_a_bad_key_is_refused,
    |backend| async move {
        let t = testkit::TestDb::new(backend).await;
        let out = crate::run(
            okwallet(&t.url)
                .env_remove("OKWALLET_SECRET_KEY")
                .env("OKWALLET_SECRET_KEY", "not a key")
                .args(["serve", "--listen", "127.0.0.1:0"]),
        );
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("OKWALLET_SECRET_KEY (environment): not a key"),
            "{}",
            text(&out.stderr)
        );
        if backend == testkit::Backend::Postgres {
            let out = crate::run(okwallet(&t.url).env_remove("OKWALLET_SECRET_KEY").args([
                "serve",
                "--listen",
                "127.0.0.1:0",
            ]));
            assert!(!out.status.success());
            assert!(
                text(&out.stderr).contains("set OKWALLET_SECRET_KEY or secret_key_file"),
                "{}",
                text(&out.stderr)
            );
            let key = text(&crate::run(okwallet(&t.url).arg("secret-key")).stdout);
            assert!(
                identity::sealed::SecretKey::parse(key.trim()).is_some(),
                "{key}"
            );
            let _server = start_with_env(&t.url, &[], &[("OKWALLET_SECRET_KEY", key.trim())]);
        }
    }
);
