//! Operator commands that work directly on the configured database, with no server running:
//! `bootstrap`, `keys`, `audit`, `admin token create`.

use super::{AuditCmd, CmdResult, Failure, KeysCmd};
use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::crypto::master::{self, KeySource};
use crate::crypto::{MasterKey, keyring};
use std::io::BufRead;
use std::sync::Arc;

async fn open(config: Config, create_key: bool) -> Result<App, Failure> {
    super::init_quiet_logging();
    Ok(App::open(config, Arc::new(SystemClock), create_key).await?)
}

pub async fn bootstrap(config: Config, admin: &str, password_stdin: bool, force_reset: bool) -> CmdResult {
    let signin_url = format!("{}/signin", config.public_base());
    let app = open(config, true).await?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::new(1, format!("cannot read the password from stdin: {e}")))?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (crate::crypto::random_token::<15>().map_err(|e| Failure::new(1, e.to_string()))?, true)
    };
    let user = crate::directory::service::bootstrap_admin(&app, admin, &password, force_reset).await?;
    println!("Administrator {:?} is ready.", user.username);
    if generated {
        println!("One-time password: {password}");
    }
    println!("Sign in at {signin_url}; you will be asked to choose a new password.");
    Ok(())
}

pub async fn keys(config: Config, cmd: KeysCmd) -> CmdResult {
    match cmd {
        KeysCmd::RotateMaster => rotate_master(config).await,
        KeysCmd::List { json } => {
            let app = open(config, false).await?;
            let keys = keyring::list(&app.db).await.map_err(crate::error::Error::from)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default());
            } else {
                println!("{:<38} {:<6} {:<8} CREATED", "ID", "ALG", "STATE");
                for k in keys {
                    println!("{:<38} {:<6} {:<8} {}", k.id, k.alg, k.state, crate::clock::format_unix(k.created_at));
                }
            }
            Ok(())
        }
        KeysCmd::Generate { alg } => {
            let alg: keyring::Alg = alg.parse().map_err(|e: String| Failure::new(2, e))?;
            let app = open(config, false).await?;
            let key =
                keyring::generate(&app.db, &app.sealer, alg, app.now()).await.map_err(crate::error::Error::from)?;
            record(&app, "keys.generate", &key.id.to_string(), serde_json::json!({"alg": key.alg})).await?;
            println!("generated pending {} key {}", key.alg, key.id);
            Ok(())
        }
        KeysCmd::Rotate { alg, immediately, json } => {
            let app = open(config, false).await?;
            let r = crate::oidc::keys::rotate(&app, &alg, immediately)
                .await
                .map_err(|e| Failure::new(2, e.public_message()))?;
            record(&app, "keys.rotate", &r.key_id, serde_json::json!({"alg": r.alg, "activates_at": r.activates_at}))
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else if immediately {
                println!(
                    "new {} key {} signs from now on; the old key stays published until its tokens expire",
                    r.alg, r.key_id
                );
            } else {
                println!(
                    "new {} key {} is published and starts signing at {}",
                    r.alg,
                    r.key_id,
                    crate::clock::format_unix(r.activates_at)
                );
            }
            Ok(())
        }
        KeysCmd::Activate { id } => {
            let app = open(config, false).await?;
            if !keyring::activate(&app.db, id, app.now()).await.map_err(crate::error::Error::from)? {
                return Err(Failure::new(6, format!("no pending key {id}")));
            }
            record(&app, "keys.activate", &id.to_string(), serde_json::json!({})).await?;
            println!("key {id} is now active");
            Ok(())
        }
    }
}

async fn record(app: &App, action: &str, target: &str, details: serde_json::Value) -> CmdResult {
    let mut tx = app.db.begin().await.map_err(crate::error::Error::from)?;
    audit::record(
        &mut tx,
        app.now(),
        &Origin::default(),
        audit::Event::new(&Actor::cli(action), action, "key", target.to_string()).details(details),
    )
    .await
    .map_err(crate::error::Error::from)?;
    tx.commit().await.map_err(crate::error::Error::from)?;
    Ok(())
}

/// Re-wraps every data key under a new master key. With a key file, the new key is written
/// beside it first (`.new`), the database is re-wrapped, then the file is moved into place; a
/// crash in between is finished at the next start. With `LANYARD_MASTER_KEY`, the new key is
/// printed for the operator to install on every instance.
async fn rotate_master(config: Config) -> CmdResult {
    let keys = master::load(&config, false)?;
    let app = open(config, false).await?;
    let old = app.sealer.master().clone();
    let new = MasterKey::generate().map_err(|e| Failure::new(1, e.to_string()))?;
    if let KeySource::File(path) = &keys.source {
        master::write_key_file(&master::pending_path(path), &new)?;
    }
    let n = crate::crypto::seal::rewrap_all(&app.db, &old, &new).await.map_err(crate::error::Error::from)?;
    record(&app, "keys.rotate_master", &new.id(), serde_json::json!({"old_key": old.id(), "data_keys": n})).await?;
    match &keys.source {
        KeySource::File(path) => {
            std::fs::rename(master::pending_path(path), path).map_err(|e| {
                Failure::new(
                    1,
                    format!(
                        "re-wrapped, but could not move the new key into {}: {e}; move {}.new there by hand",
                        path.display(),
                        path.display()
                    ),
                )
            })?;
            println!("master key rotated: {n} data keys re-wrapped; {} now holds key {}", path.display(), new.id());
            println!("restart every instance (they share this key file or must receive a copy of it)");
        }
        KeySource::Env => {
            println!("master key rotated: {n} data keys re-wrapped under key {}", new.id());
            println!("set LANYARD_MASTER_KEY to this value on every instance, then restart them:");
            println!("{}", new.to_base64());
        }
    }
    Ok(())
}

pub async fn audit(config: Config, cmd: AuditCmd) -> CmdResult {
    let app = open(config, false).await?;
    match cmd {
        AuditCmd::Verify { json } => {
            let v = audit::verify(&app.db).await.map_err(crate::error::Error::from)?;
            if json {
                println!("{}", serde_json::to_string(&v).unwrap_or_default());
            }
            match v.first_broken {
                None => {
                    if !json {
                        println!("audit log intact: {} events, hash chain verified", v.rows);
                    }
                    Ok(())
                }
                Some((seq, why)) => Err(Failure::new(1, format!("audit log broken at row {seq}: {why}"))),
            }
        }
        AuditCmd::Tail { lines, follow, json } => {
            let mut rows = audit::list(&app.db, &audit::Filter { limit: lines.clamp(1, 1000), ..Default::default() })
                .await
                .map_err(crate::error::Error::from)?;
            rows.reverse();
            let mut last = 0;
            for r in &rows {
                print_event(r, json);
                last = r.seq;
            }
            if !follow {
                return Ok(());
            }
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                let mut tx = app.db.read().await.map_err(crate::error::Error::from)?;
                let newer: Vec<audit::Record> = crate::db_run!(&mut tx, c => sqlx::query_as("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000")
                    .bind(last).fetch_all(c).await)
                .map_err(crate::error::Error::from)?;
                for r in &newer {
                    print_event(r, json);
                    last = r.seq;
                }
            }
        }
    }
}

fn print_event(r: &audit::Record, json: bool) {
    if json {
        println!("{}", serde_json::to_string(&crate::api::views::AuditView::from(r)).unwrap_or_default());
    } else {
        let actor = if r.actor_name.is_empty() { r.actor_kind.clone() } else { r.actor_name.clone() };
        println!(
            "{:>6}  {}  {:<22} {:<8} {:<20} {} {}",
            r.seq,
            crate::clock::format_unix(r.at),
            r.action,
            r.outcome,
            actor,
            r.ip,
            r.details
        );
    }
}

/// `lanyard admin token create NAME`: mints an admin API token directly in the database.
pub async fn create_token(
    config: Config,
    name: &str,
    expires_in: Option<crate::config::Dur>,
    scope: &str,
    json: bool,
) -> CmdResult {
    let app = open(config, false).await?;
    let (token, secret) = crate::authn::api_tokens::create_scoped(
        &app,
        &Actor::cli("admin token create"),
        &Origin::default(),
        name,
        expires_in.map(|d| d.secs()),
        scope,
    )
    .await?;
    if json {
        let view = crate::api::views::CreatedToken {
            token: crate::api::views::TokenView::from(&token),
            secret: secret.expose().to_string(),
        };
        println!("{}", serde_json::to_string(&view).unwrap_or_default());
    } else {
        eprintln!("created token {:?} ({}); it is shown only once:", token.name, token.id);
        println!("{}", secret.expose());
    }
    Ok(())
}
