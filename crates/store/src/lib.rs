//! Every SQL statement okwallet runs, on embedded SQLite or on PostgreSQL, and its migrations.
//!
//! One dialect written once with `$n` placeholders through sqlx's `Any` driver (rules in
//! STYLE.md). Where a backend needs its own text — SQLite's `BEGIN IMMEDIATE`, PostgreSQL's
//! `FOR UPDATE` — both versions sit side by side behind one function here, never in callers.
//!
//! This crate stores and loads; it never decides. Posting rules live in `ledger`, which the
//! group-commit [`writer`] calls between loading a batch's state and writing it back.

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod callbacks;
pub mod chats;
pub mod desk;
pub mod diagnoses;
pub mod email_tokens;
pub mod factors;
pub mod helpcenter;
pub mod helpdesk;
pub mod journal;
pub mod live;
pub mod movements;
pub mod outbox;
pub mod passkeys;
pub mod payments;
pub mod sessions;
pub mod tickets;
pub mod users;
pub mod verify;
pub mod wallet;
pub mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The assets, read once: only migrations write them.
    assets: std::sync::Arc<tokio::sync::OnceCell<Vec<ledger::Asset>>>,
    /// Users' ids by email, as found (see [`Db::user_id_by_email`]).
    user_ids: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    /// The URL connected to (it may hold a password: never print it, see [`redact_url`]).
    url: std::sync::Arc<str>,
}

/// The embedded migrations, oldest first. Never edit one that has shipped; add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "sessions",
        include_str!("../migrations/0002_sessions.sql"),
    ),
    (
        3,
        "second_factors",
        include_str!("../migrations/0003_second_factors.sql"),
    ),
    (
        4,
        "security_settings",
        include_str!("../migrations/0004_security_settings.sql"),
    ),
    (5, "mail", include_str!("../migrations/0005_mail.sql")),
    // 0005 is another branch's; sqlx applies a migration that arrives later with a lower
    // number too, so the gap is harmless in either order.
    (
        6,
        "passkeys",
        include_str!("../migrations/0006_passkeys.sql"),
    ),
    (7, "wallet", include_str!("../migrations/0007_wallet.sql")),
    (
        8,
        "movements",
        include_str!("../migrations/0008_movements.sql"),
    ),
    (
        9,
        "helpcenter",
        include_str!("../migrations/0009_helpcenter.sql"),
    ),
    (
        10,
        "helpdesk",
        include_str!("../migrations/0010_helpdesk.sql"),
    ),
    (11, "live", include_str!("../migrations/0011_live.sql")),
    (12, "voice", include_str!("../migrations/0012_voice.sql")),
    (
        13,
        "callbacks",
        include_str!("../migrations/0013_callbacks.sql"),
    ),
    (
        14,
        "diagnoses",
        include_str!("../migrations/0014_diagnoses.sql"),
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The SQLite file inside a data folder.
pub fn sqlite_url_for_dir(dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.join("okwallet.sqlite3").display()
    )
}

/// A database URL with any password replaced, for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Opens a pool. SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before
    /// it is acknowledged.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            bail!(
                "unsupported database URL {}: use sqlite://… or postgres://…",
                redact_url(url)
            );
        };
        if backend == Backend::Sqlite {
            if let Some(parent) = url
                .strip_prefix("sqlite://")
                .map(|rest| rest.split('?').next().unwrap_or(rest))
                .and_then(|path| Path::new(path).parent())
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("while creating the data folder {}", parent.display())
                })?;
            }
        }
        let options = AnyConnectOptions::from_str(url)
            .with_context(|| format!("while parsing the database URL {}", redact_url(url)))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Checkpoints every 10,000 pages (about 40 MB of WAL) instead of
                        // SQLite's 1,000: the pages every batch rewrites (accounts, index
                        // roots) are copied back to the database ten times less often.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; \
                             PRAGMA wal_autocheckpoint = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("while connecting to {}", redact_url(url)))?;
        Ok(Db {
            pool,
            backend,
            assets: Default::default(),
            user_ids: Default::default(),
            url: url.into(),
        })
    }

    /// Tells every node listening on PostgreSQL's `channel` (`LISTEN`); nothing on SQLite,
    /// which has one node.
    pub async fn notify(&self, channel: &str, payload: &str) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(self.pool())
                .await
                .context("while notifying the other nodes")?;
        }
        Ok(())
    }

    /// Listens to PostgreSQL's `channel`: a stream of payloads, on a connection of its own.
    /// `None` on SQLite.
    pub async fn listen(
        &self,
        channel: &str,
    ) -> anyhow::Result<Option<sqlx::postgres::PgListener>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url)
            .await
            .with_context(|| format!("while listening on {}", redact_url(&self.url)))?;
        listener
            .listen(channel)
            .await
            .context("while listening for other nodes")?;
        Ok(Some(listener))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first and writes later can fail with SQLITE_BUSY when
    /// another writer got there in between, without waiting for the busy timeout.
    pub(crate) async fn begin_write(
        &self,
    ) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        self.pool
            .begin_with(begin)
            .await
            .context("while starting a transaction")
    }

    /// Brings the query planner's statistics up to date after a bulk change (an import):
    /// `ANALYZE` on PostgreSQL (what autovacuum would soon do), `PRAGMA optimize` on SQLite.
    pub async fn refresh_planner_statistics(&self) -> anyhow::Result<()> {
        let sql = match self.backend {
            Backend::Postgres => "ANALYZE",
            Backend::Sqlite => "PRAGMA optimize",
        };
        sqlx::query(sql)
            .execute(&self.pool)
            .await
            .context("while refreshing the planner's statistics")?;
        Ok(())
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// The schema version recorded in the database, or 0 for an empty one.
    pub async fn schema_version(&self) -> anyhow::Result<i64> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let count: i64 = sqlx::query(exists)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if count == 0 {
            return Ok(0);
        }
        let row = sqlx::query(
            "SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&self.pool)
        .await
        .context("while reading the schema version")?;
        Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
    }

    /// Applies pending migrations. Refuses a database written by a newer okwallet, which this
    /// build could misread or damage.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let found = self.schema_version().await?;
        if found > SCHEMA_VERSION {
            bail!(
                "this database has schema version {found}, written by a newer okwallet; this build \
                 understands up to version {SCHEMA_VERSION}. Run the newer okwallet, or restore a \
                 backup made for this version."
            );
        }
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    (*sql).into(),
                    false,
                )
            })
            .collect::<Vec<_>>();
        let migrator = Migrator {
            migrations: migrations.into(),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        migrator
            .run(&self.pool)
            .await
            .context("while applying migrations")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    now_ns() / 1_000_000
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_nanos()).expect("before the year 2262")
}

/// A new unique id that sorts after every id this process made before (ULIDs made in the same
/// millisecond are otherwise in random order, and audit trails are read in id order).
pub fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let id = generator
        .get_or_insert_with(ulid::Generator::new)
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new());
    id.to_string().to_lowercase()
}

/// SQL placeholders for `count` values bound in order from position `from`: `$from, $from+1, …`
/// on PostgreSQL, anonymous `?` on SQLite. SQLite looks a numbered parameter's name up by a
/// linear scan, and sqlx asks for every parameter's name, so `$n` costs O(n²) per statement —
/// 40% of the writer's time in a 60-transfer batch was spent there (measured with perf).
/// Only for statements whose placeholders all come from here, in order.
pub(crate) fn placeholders(backend: Backend, from: usize, count: usize) -> String {
    match backend {
        Backend::Postgres => (from..from + count)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
        Backend::Sqlite => vec!["?"; count].join(", "),
    }
}

/// Pads an IN-list to a few fixed lengths by repeating its last item, so that PostgreSQL and
/// SQLite see a handful of statement shapes (and reuse their prepared statements) instead of one
/// per list length.
pub(crate) fn padded<T: Clone>(items: &[T]) -> Vec<T> {
    const LENGTHS: [usize; 6] = [1, 4, 16, 64, 256, 1024];
    let target = LENGTHS
        .iter()
        .copied()
        .find(|&l| l >= items.len())
        .unwrap_or(items.len());
    let mut out = items.to_vec();
    if let Some(last) = items.last() {
        out.resize(target, last.clone());
    }
    out
}

/// Splits `n` rows into chunks of a few fixed sizes (256, 64, 16, 4, 1), for the same reason.
pub(crate) fn chunk_sizes(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for size in [256, 64, 16, 4, 1] {
        while n >= size {
            out.push(size);
            n -= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(v, name, _)| format!("{v:04}_{name}.sql"))
            .collect();
        assert_eq!(files, embedded);
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://okw:s3cret@db:5432/okw"),
            "postgres://okw:***@db:5432/okw"
        );
        assert_eq!(redact_url("postgres://okw@db/okw"), "postgres://okw@db/okw");
        assert_eq!(
            redact_url("sqlite://./data/x.sqlite3"),
            "sqlite://./data/x.sqlite3"
        );
    }

    #[test]
    fn statement_shapes_stay_few() {
        assert_eq!(padded(&[1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded(&[7]).len(), 1);
        assert_eq!(padded(&(0..300).collect::<Vec<_>>()).len(), 1024);
        assert_eq!(chunk_sizes(345), vec![256, 64, 16, 4, 4, 1]);
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(placeholders(Backend::Postgres, 3, 2), "$3, $4");
        assert_eq!(placeholders(Backend::Sqlite, 3, 2), "?, ?");
    }
}
