//! The database: the only code that knows Lanyard runs on two backends.
//!
//! SQLite (WAL mode) is the embedded default; PostgreSQL lets several stateless instances share
//! one database. Stores write one SQL text with `$N` placeholders and run it through [`db_run!`],
//! which expands the same query for whichever backend is connected. Timestamps are stored as
//! Unix seconds (`BIGINT`) so comparisons mean the same thing on both.

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to either backend.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A unit of work on either backend: a transaction (dropped without [`Tx::commit`], it rolls
/// back), or a plain pooled connection for a single statement, which needs no `BEGIN`.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
    SqliteConn(sqlx::pool::PoolConnection<Sqlite>),
    PostgresConn(sqlx::pool::PoolConnection<Postgres>),
}

/// Runs the same query on whichever backend a [`Tx`] belongs to.
///
/// `db_run!(tx, c => sqlx::query("…").bind(x).execute(c).await.map(|r| r.rows_affected()))` binds `c` to the backend's
/// connection in each arm, so the query text is written once and type-checked for both.
#[macro_export]
macro_rules! db_run {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::SqliteConn(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::PostgresConn(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .context("cannot connect to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else {
            let opts = SqliteConnectOptions::from_str(url)
                .context("invalid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            Ok(Db::Sqlite(pool))
        }
    }

    /// The backend of this pool.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. Safe to run from several instances at once (sqlx takes a lock).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .context("database migration failed")
    }

    /// Whether every embedded migration has been applied.
    pub async fn migrations_current(&self) -> Result<bool, sqlx::Error> {
        let migrator = match self {
            Db::Sqlite(_) => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let latest = migrator.iter().map(|m| m.version).max();
        const SQL: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let applied: Option<i64> = match self {
            Db::Sqlite(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
            Db::Postgres(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
        };
        Ok(applied == latest)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers wait for each other instead of failing with SQLITE_BUSY.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Begins a read-only unit of work (a deferred transaction: no write lock on SQLite).
    pub async fn read(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A pooled connection in autocommit mode, for one statement: it saves the `BEGIN` and
    /// `ROLLBACK` round trips a transaction would cost on hot paths (sign-in, session loads).
    pub async fn conn(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::SqliteConn(p.acquire().await?),
            Db::Postgres(p) => Tx::PostgresConn(p.acquire().await?),
        })
    }

    /// Begins a write transaction whose loss in a crash is harmless (portal sessions): on
    /// PostgreSQL its commit does not wait for the WAL flush (`synchronous_commit = off`, which
    /// never risks corruption, only the last moments' commits). Use [`Db::begin`] for anything
    /// that must survive, such as audit records.
    pub async fn begin_relaxed(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => {
                let mut t = p.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit TO OFF").execute(&mut *t).await?;
                Tx::Postgres(t)
            }
        })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
            Tx::SqliteConn(_) | Tx::PostgresConn(_) => Ok(()),
        }
    }
}

/// Whether an error is a unique-constraint violation (the database enforcing an invariant).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Whether an error is a foreign-key violation (a reference to a row that is gone).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// Upper bound of a prefix range: every string starting with `prefix` sorts below it (key
/// columns compare bytewise on both backends).
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Fresh, isolated databases for tests and benchmarks.
pub mod testing {
    use anyhow::Context;

    /// Returns the URL of a new empty database: a fresh PostgreSQL database when
    /// `LANYARD_TEST_DATABASE_URL` is set (its database is used to run `CREATE DATABASE`),
    /// otherwise a SQLite file in `dir`.
    pub async fn fresh_database_url(dir: &std::path::Path) -> anyhow::Result<String> {
        match std::env::var("LANYARD_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                use sqlx::Connection;
                let name = format!("lanyard_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    sqlx::PgConnection::connect(&admin).await.context("cannot reach LANYARD_TEST_DATABASE_URL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .context("cannot create test database")?;
                let mut url = url::Url::parse(&admin).context("LANYARD_TEST_DATABASE_URL is not a URL")?;
                url.set_path(&format!("/{name}"));
                Ok(url.to_string())
            }
            _ => Ok(format!("sqlite://{}", dir.join("lanyard.db").display())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(super::like_escape("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
