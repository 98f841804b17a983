use testkit::{both_backends, TestDb};

use crate::{okwallet, run, text, write, BIN};

#[test]
fn every_subcommand_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["secret-key", "--help"],
        vec!["user", "add", "--help"],
        vec!["ledger", "verify", "--help"],
        vec!["ledger", "adjust", "--help"],
        vec!["bench", "ledger", "--help"],
        vec!["bench", "login", "--help"],
        vec!["bench", "deposits", "--help"],
    ] {
        let out = run(std::process::Command::new(BIN).args(&args));
        assert!(out.status.success(), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage: okwallet"), "{args:?}: {help}");
        assert!(
            help.lines().count() > 5,
            "{args:?} has too little help: {help}"
        );
    }
    let top = text(&run(std::process::Command::new(BIN).arg("--help")).stdout);
    for sub in ["serve", "migrate", "user", "ledger", "bench"] {
        assert!(top.contains(sub), "{sub} missing from --help");
    }
    assert!(!top.contains("debug"), "test-only commands stay hidden");
}

#[test]
fn bad_configuration_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::sqlite_url_for_dir(dir.path());

    let out = run(okwallet(&sqlite)
        .env("OKWALLET_LISTEN", "not-an-address")
        .args(["serve"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("OKWALLET_LISTEN (environment) = \"not-an-address\""),
        "{}",
        text(&out.stderr)
    );

    let out = run(okwallet(&sqlite).args(["serve", "--listen", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--listen"),
        "{}",
        text(&out.stderr)
    );

    let config = dir.path().join("okwallet.toml");
    write(&config, "listen = \"127.0.0.1:0\"\nlsiten = \"typo\"\n");
    let out = run(okwallet(&sqlite).args(["--config", config.to_str().unwrap(), "migrate"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("lsiten"),
        "{}",
        text(&out.stderr)
    );

    let out = run(okwallet("mysql://root:topsecret@localhost/db").args(["migrate"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("OKWALLET_DATABASE_URL") && !err.contains("topsecret"),
        "{err}"
    );

    let out = run(okwallet(&sqlite)
        .env(
            "OKWALLET_SMTP_URL",
            "smtp://mailer:mailsecret@smtp.example.com?tls=maybe",
        )
        .args(["serve"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("OKWALLET_SMTP_URL (environment)") && !err.contains("mailsecret"),
        "{err}"
    );
    write(&config, "mail_from = \"nobody\"\n");
    let out = run(okwallet(&sqlite).args(["--config", config.to_str().unwrap(), "serve"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("config file key `mail_from`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("okwallet.toml");
    write(&config, "listen = \"file-value\"\n");
    // The file's bad value is reported when nothing overrides it…
    let base = || {
        let mut cmd = okwallet(&store::sqlite_url_for_dir(dir.path()));
        cmd.args(["--config", config.to_str().unwrap()]);
        cmd
    };
    let out = run(base().args(["serve"]));
    assert!(
        text(&out.stderr).contains("config file key `listen`"),
        "{}",
        text(&out.stderr)
    );
    // …the environment overrides the file…
    let out = run(base().env("OKWALLET_LISTEN", "env-value").args(["serve"]));
    assert!(
        text(&out.stderr).contains("OKWALLET_LISTEN (environment) = \"env-value\""),
        "{}",
        text(&out.stderr)
    );
    // …and a flag overrides both.
    let out =
        run(base()
            .env("OKWALLET_LISTEN", "env-value")
            .args(["serve", "--listen", "flag-value"]));
    assert!(
        text(&out.stderr).contains("--listen = \"flag-value\""),
        "{}",
        text(&out.stderr)
    );
}

both_backends!(
    users_adjustments_and_verify_from_the_command_line,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let url = t.url.clone();
        let out = run(okwallet(&url).args([
            "user",
            "add",
            "--email",
            "Ops@Example.com",
            "--password",
            "a long enough secret",
            "--role",
            "admin",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("ops@example.com (admin)"));
        let again = run(okwallet(&url).args([
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--password",
            "another long secret",
        ]));
        assert_eq!(again.status.code(), Some(1));
        assert!(text(&again.stderr).contains("already registered"));
        let weak = run(okwallet(&url).args([
            "user",
            "add",
            "--email",
            "x@example.com",
            "--password",
            "short",
            "--role",
            "user",
        ]));
        assert!(!weak.status.success());
        let bad_role = run(okwallet(&url).args([
            "user",
            "add",
            "--email",
            "y@example.com",
            "--password",
            "long enough pw",
            "--role",
            "root",
        ]));
        assert_eq!(bad_role.status.code(), Some(2));

        let adjust = |amount: &str| {
            run(okwallet(&url).args([
                "ledger",
                "adjust",
                "--email",
                "ops@example.com",
                "--asset",
                "eth",
                "--amount",
                amount,
                "--reason",
                "test funding",
                "--actor",
                "cli:test",
            ]))
        };
        let out = adjust("1.5");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = adjust("-0.25");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = adjust("-5");
        assert_eq!(
            out.status.code(),
            Some(1),
            "cannot take more than the balance"
        );
        assert!(text(&out.stderr).contains("insufficient_funds"));
        let out = adjust("0.0000000001");
        assert!(
            !out.status.success(),
            "more decimals than ETH's 9 are refused"
        );
        let out = run(okwallet(&url).args([
            "ledger",
            "adjust",
            "--email",
            "ops@example.com",
            "--asset",
            "ETH",
            "--amount",
            "1",
            "--reason",
            "  ",
        ]));
        assert!(!out.status.success(), "a reason is required");

        let user =
            t.db.user_by_email(&identity::Email::parse("ops@example.com").unwrap())
                .await
                .unwrap()
                .unwrap();
        let account =
            t.db.account(&store::accounts::user_account_id(
                &user.id,
                &ledger::AssetCode::parse("ETH").unwrap(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.available(), 1_250_000_000);
        let audit =
            t.db.audit_events_for(&format!("user:{}", user.id))
                .await
                .unwrap();
        let adjusts: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "ledger.adjust")
            .collect();
        assert_eq!(
            adjusts.len(),
            3,
            "every adjustment attempt that reached the ledger is audited"
        );
        assert!(adjusts
            .iter()
            .all(|e| e.actor == "cli:test" && e.detail.contains("test funding")));

        let out = run(okwallet(&url).args(["ledger", "verify"]));
        assert!(out.status.success(), "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("ledger verified"));

        sqlx::query("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1")
            .bind(account.id.as_str())
            .execute(t.db.pool())
            .await
            .unwrap();
        let out = run(okwallet(&url).args(["ledger", "verify"]));
        assert_eq!(out.status.code(), Some(1));
        let report = text(&out.stdout);
        assert!(
            report.contains("FAILED") && report.contains(account.id.as_str()),
            "{report}"
        );
    }
);

both_backends!(
    migrate_reports_the_version_and_refuses_newer_databases,
    |backend| async move {
        let t = TestDb::empty(backend).await;
        let out = run(okwallet(&t.url).arg("migrate"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("schema version {}", store::SCHEMA_VERSION)));
        sqlx::query("UPDATE _sqlx_migrations SET version = version + 1000")
            .execute(t.db.pool())
            .await
            .unwrap();
        let out = run(okwallet(&t.url).arg("migrate"));
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("newer okwallet"),
            "{}",
            text(&out.stderr)
        );
    }
);

both_backends!(
    the_login_benchmark_logs_in_for_real_and_prints_numbers,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "login",
            "--logins",
            "6",
            "--users",
            "3",
            "--concurrency",
            "2",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON lines"))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["mode"], "argon2id_verify_one_core");
        assert_eq!(lines[0]["argon2id"], "m=19456,t=2,p=1");
        assert_eq!(lines[1]["mode"], "login_http");
        assert_eq!(lines[1]["logins"], 6);
        assert_eq!(lines[1]["failed"], 0);
        assert!(lines[1]["latency_p50_ms"].as_f64().unwrap() > 0.0);
    }
);

both_backends!(
    the_deposit_benchmark_credits_every_deposit_and_prints_numbers,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "deposits",
            "--users",
            "4",
            "--deposits",
            "30",
            "--blocks",
            "5",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let line: serde_json::Value =
            serde_json::from_str(text(&out.stdout).trim()).expect("one JSON line");
        assert_eq!(
            (&line["bench"], &line["deposits"], &line["ledger_verify_ok"]),
            (
                &serde_json::json!("deposits"),
                &serde_json::json!(30),
                &serde_json::json!(true)
            ),
            "{line}"
        );
        assert!(line["deposits_credited_per_s"].as_f64().unwrap() > 0.0);
    }
);

both_backends!(
    the_transfer_benchmark_answers_every_request_and_prints_numbers,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "transfers",
            "--clients",
            "4",
            "--users",
            "10",
            "--seconds",
            "1",
            "--warmup-s",
            "0",
            "--idempotency-keys",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let line: serde_json::Value =
            serde_json::from_str(text(&out.stdout).trim()).expect("one JSON line");
        assert_eq!(line["mode"], "transfers_http", "{line}");
        assert_eq!(line["failed"], 0, "{line}");
        assert!(line["transfers"].as_u64().unwrap() > 0, "{line}");
        assert!(line["latency_p99_ms"].as_f64().unwrap() > 0.0, "{line}");
    }
);

both_backends!(
    the_help_benchmark_searches_and_answers_the_directory_and_prints_numbers,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "help-center",
            "--articles",
            "200",
            "--queries",
            "50",
            "--requests",
            "20",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        for expected in [
            "GET /api/v1/contact-channels",
            "GET /api/v1/official-check",
            "20 requests",
            "p99",
        ] {
            assert!(stdout.contains(expected), "{expected:?} in {stdout}");
        }
    }
);

both_backends!(
    liquidity_is_funded_from_equity_with_a_reason,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "ledger",
            "fund-liquidity",
            "--asset",
            "usdt",
            "--amount",
            "2500.5",
            "--reason",
            "opening inventory",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("funded USDT liquidity with 2500.5"));
        let out = run(okwallet(&t.url).args([
            "ledger",
            "fund-liquidity",
            "--asset",
            "USDT",
            "--amount",
            "1",
            "--reason",
            " ",
        ]));
        assert!(!out.status.success(), "a reason is required");
        let db = store::Db::connect(&t.url).await.unwrap();
        let liquidity = db
            .account(&store::accounts::system_account_id(
                store::accounts::AccountKind::Liquidity,
                &ledger::AssetCode::parse("USDT").unwrap(),
            ))
            .await
            .unwrap()
            .expect("the liquidity account");
        assert_eq!(liquidity.available(), 2_500_500_000);
        let verify = run(okwallet(&t.url).args(["ledger", "verify"]));
        assert!(verify.status.success(), "{}", text(&verify.stdout));
    }
);

both_backends!(
    the_helpdesk_benchmark_opens_answers_and_lists_tickets_and_prints_numbers,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "helpdesk",
            "--clients",
            "4",
            "--agents",
            "2",
            "--seconds",
            "1",
            "--warmup-s",
            "0",
            "--queue-tickets",
            "500",
            "--queue-requests",
            "5",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON lines"))
            .collect();
        let modes: Vec<&str> = lines.iter().map(|l| l["mode"].as_str().unwrap()).collect();
        assert_eq!(
            modes,
            [
                "ticket_creates_http",
                "ticket_replies_http",
                "queue_pages_http"
            ]
        );
        assert!(lines[0]["creates"].as_u64().unwrap() > 0, "{}", lines[0]);
        assert_eq!(lines[0]["failed"], 0);
        assert!(lines[1]["replies"].as_u64().unwrap() > 0, "{}", lines[1]);
        assert_eq!(lines[1]["failed"], 0);
        assert!(lines[2]["tickets"].as_i64().unwrap() >= 500, "{}", lines[2]);
        for (page, figures) in lines[2]["pages"].as_object().unwrap() {
            assert_eq!(figures["failed"], 0, "{page}");
            assert!(figures["p99_ms"].as_f64().unwrap() > 0.0, "{page}");
        }
    }
);

both_backends!(
    the_chat_benchmark_runs_a_server_and_delivers_every_message,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let out = run(okwallet(&t.url).args([
            "bench",
            "chat",
            "--customers",
            "20",
            "--agents",
            "3",
            "--seconds",
            "2",
            "--rate",
            "2",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON lines"))
            .collect();
        let phases: Vec<&str> = lines.iter().map(|l| l["phase"].as_str().unwrap()).collect();
        assert_eq!(phases, ["idle", "messages"]);
        assert_eq!(lines[0]["idle_connections"], 20);
        assert!(
            lines[0]["server_rss_after_kib"].as_u64().unwrap() > 0,
            "{}",
            lines[0]
        );
        let sent = lines[1]["messages_sent"].as_u64().unwrap();
        assert!(sent > 20, "{}", lines[1]);
        assert_eq!(lines[1]["messages_delivered"], sent, "{}", lines[1]);
        assert_eq!(lines[1]["lost"], 0);
        assert!(lines[1]["p99_ms"].as_f64().unwrap() > 0.0, "{}", lines[1]);
    }
);
