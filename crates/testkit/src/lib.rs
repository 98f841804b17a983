//! A fresh database for each test, on either backend.
//!
//! `TestDb::new(Backend::Postgres)` creates a database named `okw_test_<ulid>` on the server at
//! `OKWALLET_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and drops it
//! when the `TestDb` is dropped. `Backend::Sqlite` uses a file in a temporary folder. Every
//! database test runs on both through [`both_backends!`].

use std::path::PathBuf;

pub use store::Backend;
use store::Db;

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("OKWALLET_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A migrated, empty database that disappears with this value.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub backend: Backend,
    dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let test = TestDb::empty(backend).await;
        test.db
            .migrate()
            .await
            .expect("migrations apply to a fresh database");
        test.db
            .ensure_system_accounts()
            .await
            .expect("system accounts");
        test
    }

    /// A database with no schema at all.
    pub async fn empty(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = store::sqlite_url_for_dir(dir.path());
                let db = Db::connect(&url).await.expect("SQLite opens");
                TestDb {
                    db,
                    url,
                    backend,
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("okw_test_{}", ulid::Ulid::new().to_string().to_lowercase());
                let admin = pg_admin_url();
                let admin_db = Db::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL must run for the database tests (OKWALLET_TEST_PG_URL={admin}): {e:#}")
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(admin_db.pool())
                    .await
                    .expect("CREATE DATABASE");
                admin_db.close().await;
                let url = with_database(&admin, &name);
                let db = Db::connect(&url).await.expect("the new database opens");
                TestDb {
                    db,
                    url,
                    backend,
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The data folder of a SQLite test database.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_owned())
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Drops a PostgreSQL test database, closing whatever still uses it.
pub fn drop_pg_database(name: &str) {
    let name = name.to_owned();
    // Drop runs outside any runtime, or inside one that may be shutting down: use a thread with
    // its own runtime.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            if let Ok(admin) = Db::connect(&pg_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(admin.pool())
                    .await;
                admin.close().await;
            }
        });
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(&name);
        }
    }
}

/// Defines one test per backend from one async body taking a [`Backend`]:
///
/// ```text
/// both_backends!(transfers_post, |backend| async move { let t = TestDb::new(backend).await; … });
/// ```
/// expands to `mod transfers_post { #[tokio::test] async fn sqlite() … #[tokio::test] async fn postgres() … }`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                ($body)($crate::Backend::Postgres).await
            }
        }
    };
}
