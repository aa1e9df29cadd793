//! Background jobs: clean-up of expired rows, and provisioning of permission sets whose roles
//! lag behind (an edit whose request was interrupted), and the signing-key rotation schedule. Each is idempotent, so running it on every instance at once is harmless.

use crate::app::App;
use std::sync::Arc;
use std::time::Duration;

/// Starts the periodic clean-up of expired sessions and stale throttle counters.
pub fn spawn(app: Arc<App>) {
    let app2 = app.clone();
    let app3 = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = crate::oidc::keys::run_schedule(&app3).await {
                tracing::warn!(error = %e.public_message(), "signing-key schedule failed; will retry");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = clean_up(&app).await {
                tracing::warn!(error = %e, "clean-up job failed; will retry");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            match crate::access::permission_sets::provision_stale(&app2).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(permission_sets = n, "provisioning job finished lagging roles"),
                Err(e) => tracing::warn!(error = %e.public_message(), "provisioning job failed; will retry"),
            }
        }
    });
}

/// Deletes expired sessions and sign-in counters whose window has passed.
pub async fn clean_up(app: &App) -> Result<(u64, u64), sqlx::Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let sessions = crate::authn::sessions::delete_expired(&mut tx, now, app.config.session.idle_timeout.secs()).await?;
    let window = app.config.signin.failure_window.secs().max(app.config.signin.lockout.secs());
    let counters = crate::authn::throttle::delete_expired(&mut tx, now, window).await?;
    crate::oidc::store::delete_expired(&mut tx, now).await?;
    crate::sts::credentials::delete_expired_in(&mut tx, now).await?;
    crate::sts::store::delete_expired_registrations(&mut tx, now).await?;
    tx.commit().await?;
    Ok((sessions, counters))
}
