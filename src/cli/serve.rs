//! `lanyard serve` and `lanyard migrate`.

use super::{CmdResult, Failure};
use crate::app::App;
use crate::clock::SystemClock;
use crate::config::{Config, LogFormat};
use std::sync::Arc;

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn serve(config: Config) -> CmdResult {
    init_logging(&config);
    let listen = config.listen;
    let app = Arc::new(App::open(config, Arc::new(SystemClock), true).await?);
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::new(1, format!("cannot listen on {listen}: {e} (set LANYARD_LISTEN to another address)"))
    })?;
    let handle = crate::server::launch(app.clone(), listener, crate::server::shutdown_signal()).await?;
    if !crate::directory::service::is_admin_configured(&app).await? {
        tracing::warn!("no administrator yet: run `lanyard bootstrap --admin <name>` to create one");
    }
    let served = match handle.task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::new(1, format!("server error: {e}"))),
        Err(e) => Err(Failure::new(1, format!("server task failed: {e}"))),
    };
    // Every request has finished: write what the batched audit writer still holds, however the
    // server stopped, but do not hang for ever on a database that is gone.
    if tokio::time::timeout(std::time::Duration::from_secs(30), app.audit_batch.flush()).await.is_err() {
        tracing::error!("the audit writer could not write its queued events within 30 s; they are lost");
    }
    served?;
    app.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate(config: Config) -> CmdResult {
    super::init_quiet_logging();
    if config.database.url.is_none() {
        crate::config::ensure_data_dir(&config.data_dir)?;
    }
    let db = crate::db::Db::connect(&config.database_url(), 2).await?;
    db.migrate().await?;
    println!("migrations are up to date ({:?})", db.backend());
    Ok(())
}
