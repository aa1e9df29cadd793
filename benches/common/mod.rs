//! What the load benchmarks share: a fresh database (SQLite in a temporary directory, or a new
//! PostgreSQL database when LANYARD_TEST_DATABASE_URL is set), the real server on a random port
//! with the system clock, and latency percentiles.

use lanyard::app::App;
use lanyard::clock::SystemClock;
use lanyard::config::{Config, DatabaseUrl, Secret};
use lanyard::crypto::MasterKey;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A running server and what it runs on.
pub struct Server {
    pub app: Arc<App>,
    pub addr: SocketAddr,
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    /// Holds the SQLite file (and the data directory) until the bench ends.
    pub _dir: tempfile::TempDir,
}

/// Starts the server on a fresh database; `tweak` adjusts the configuration first.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    let url = lanyard::db::testing::fresh_database_url(dir.path()).await.expect("db");
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    config.database.url = Some(DatabaseUrl::new(url));
    config.master_key = Some(Secret::new(MasterKey::generate().expect("key").to_base64()));
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    config.listen = addr;
    let app = Arc::new(App::open(config, Arc::new(SystemClock), true).await.expect("app"));
    lanyard::server::launch(app.clone(), listener, std::future::pending()).await.expect("launch");
    Server { app, addr, backend, _dir: dir }
}

/// The `p` quantile (0–1) of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
