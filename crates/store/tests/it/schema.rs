use store::SCHEMA_VERSION;
use testkit::{both_backends, TestDb};

both_backends!(
    migrations_apply_once_and_are_idempotent,
    |backend| async move {
        let t = TestDb::empty(backend).await;
        assert_eq!(t.db.schema_version().await.unwrap(), 0);
        t.db.migrate().await.unwrap();
        assert_eq!(t.db.schema_version().await.unwrap(), SCHEMA_VERSION);
        t.db.migrate().await.unwrap();
        assert_eq!(t.db.schema_version().await.unwrap(), SCHEMA_VERSION);
        let codes: Vec<(String, u8)> =
            t.db.assets()
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.code.to_string(), a.decimals))
                .collect();
        assert_eq!(
            codes,
            vec![("ETH".into(), 9), ("USDT".into(), 6), ("BTC".into(), 8)]
        );
    }
);

both_backends!(
    a_database_from_a_newer_version_is_refused,
    |backend| async move {
        let t = TestDb::new(backend).await;
        sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from the future', TRUE, $2, 0)",
    )
    .bind(SCHEMA_VERSION + 1)
    .bind(vec![0u8; 48])
    .execute(t.db.pool())
    .await
    .unwrap();
        let err = format!("{:#}", t.db.migrate().await.unwrap_err());
        assert!(err.contains("newer okwallet"), "{err}");
        assert!(
            err.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
            "{err}"
        );
    }
);

#[tokio::test]
async fn sqlite_is_durable_by_configuration() {
    let t = TestDb::new(testkit::Backend::Sqlite).await;
    let mut conn = t.db.pool().acquire().await.unwrap();
    let mode: String = sqlx::Row::get(
        &sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        0,
    );
    let sync: i64 = sqlx::Row::get(
        &sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
}
