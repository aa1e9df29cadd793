//! `lanyard admin apps …`: applications (OAuth/OIDC clients) through the admin API.

use super::CmdResult;
use super::Failure;
use super::access::{done, out, resolve};
use super::admin::{Client, items, print_one, s, table};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

#[derive(Debug, Subcommand)]
pub enum AppsCmd {
    /// List applications.
    List,
    /// Show an application (by id, client id or name).
    Get { app: String },
    /// Register an application; prints its client secret once.
    Create {
        name: String,
        /// Choose the client id (default: generated).
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Change an application.
    Update {
        app: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Delete an application with its grants.
    Delete { app: String },
    /// Issue a new client secret; the old ones keep working for --overlap seconds.
    RotateSecret {
        app: String,
        #[arg(long, default_value_t = 0)]
        overlap: i64,
    },
    /// Who may use the application.
    Assignments { app: String },
    /// Let a user or a group use the application.
    Assign {
        app: String,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Remove an assignment (its id from `assignments`).
    Unassign { app: String, assignment: String },
}

#[derive(Debug, Args)]
pub struct AppFields {
    #[arg(long)]
    description: Option<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt, or none (public client).
    #[arg(long)]
    auth_method: Option<String>,
    /// A redirect URI (repeat for more); replaces the list.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for more); replaces the list.
    #[arg(long = "post-logout-uri")]
    post_logout_uris: Vec<String>,
    /// A grant type (repeat): authorization_code, refresh_token, client_credentials,
    /// urn:ietf:params:oauth:grant-type:device_code.
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// A scope the app may ask for (repeat); replaces the list.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// ES256 (default), RS256 or EdDSA.
    #[arg(long)]
    alg: Option<String>,
    /// Where the portal's launcher starts the app's sign-in.
    #[arg(long)]
    launch_url: Option<String>,
    #[arg(long)]
    consent_required: Option<bool>,
    #[arg(long)]
    enabled: Option<bool>,
    #[arg(long)]
    access_token_ttl: Option<i64>,
    #[arg(long)]
    refresh_token_ttl: Option<i64>,
}

fn body(name: Option<String>, client_id: Option<String>, f: AppFields) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    if let Some(v) = name {
        put("name", json!(v));
    }
    if let Some(v) = client_id {
        put("client_id", json!(v));
    }
    if let Some(v) = f.description {
        put("description", json!(v));
    }
    if let Some(v) = f.auth_method {
        put("token_endpoint_auth_method", json!(v));
    }
    if !f.redirect_uris.is_empty() {
        put("redirect_uris", json!(f.redirect_uris));
    }
    if !f.post_logout_uris.is_empty() {
        put("post_logout_redirect_uris", json!(f.post_logout_uris));
    }
    if !f.grants.is_empty() {
        put("grant_types", json!(f.grants));
    }
    if !f.scopes.is_empty() {
        put("scopes", json!(f.scopes));
    }
    if let Some(v) = f.alg {
        put("id_token_signed_response_alg", json!(v));
    }
    if let Some(v) = f.launch_url {
        put("launch_url", json!(v));
    }
    if let Some(v) = f.consent_required {
        put("consent_required", json!(v));
    }
    if let Some(v) = f.enabled {
        put("enabled", json!(v));
    }
    if let Some(v) = f.access_token_ttl {
        put("access_token_ttl", json!(v));
    }
    if let Some(v) = f.refresh_token_ttl {
        put("refresh_token_ttl", json!(v));
    }
    Value::Object(m)
}

async fn app_id(c: &Client, app: &str) -> Result<String, Failure> {
    match resolve(c, "/applications?limit=1000", "client_id", app, "application").await {
        Ok(id) => Ok(id),
        Err(_) => resolve(c, "/applications?limit=1000", "name", app, "application").await,
    }
}

fn print_created(v: &Value) {
    print_one(v);
    if let Some(secret) = v.get("client_secret").and_then(Value::as_str) {
        println!("\nclient secret (shown only now; store it in the app's secret store):\n{secret}");
    }
}

pub async fn run(c: &Client, cmd: AppsCmd) -> CmdResult {
    match cmd {
        AppsCmd::List => out(c, &c.get("/applications?limit=1000").await?, &|v| {
            table(
                &["ID", "CLIENT ID", "NAME", "AUTH", "ENABLED"],
                items(v)
                    .iter()
                    .map(|a| {
                        vec![
                            s(a, "id"),
                            s(a, "client_id"),
                            s(a, "name"),
                            s(a, "token_endpoint_auth_method"),
                            s(a, "enabled"),
                        ]
                    })
                    .collect(),
            )
        }),
        AppsCmd::Get { app } => {
            let id = app_id(c, &app).await?;
            out(c, &c.get(&format!("/applications/{id}")).await?, &print_one);
        }
        AppsCmd::Create { name, client_id, fields } => {
            let v = c.call(Method::POST, "/applications", Some(body(Some(name), client_id, fields))).await?;
            out(c, &v, &print_created);
        }
        AppsCmd::Update { app, name, fields } => {
            let id = app_id(c, &app).await?;
            out(
                c,
                &c.call(Method::PATCH, &format!("/applications/{id}"), Some(body(name, None, fields))).await?,
                &print_one,
            );
        }
        AppsCmd::Delete { app } => {
            let id = app_id(c, &app).await?;
            c.call(Method::DELETE, &format!("/applications/{id}"), None).await?;
            done(c, format!("deleted application {app}"));
        }
        AppsCmd::RotateSecret { app, overlap } => {
            let id = app_id(c, &app).await?;
            let v = c
                .call(Method::POST, &format!("/applications/{id}/secrets"), Some(json!({"overlap_seconds": overlap})))
                .await?;
            out(c, &v, &|v| {
                println!("new client secret (shown only now):\n{}", s(v, "client_secret"));
                if overlap > 0 {
                    println!("the previous secrets keep working for {overlap} seconds");
                }
            });
        }
        AppsCmd::Assignments { app } => {
            let id = app_id(c, &app).await?;
            out(c, &c.get(&format!("/applications/{id}/assignments")).await?, &|v| {
                table(
                    &["ID", "KIND", "NAME"],
                    items(v)
                        .iter()
                        .map(|a| {
                            let kind = if a.get("user_id").is_some_and(|u| !u.is_null()) { "user" } else { "group" };
                            vec![s(a, "id"), kind.to_string(), s(a, "principal_name")]
                        })
                        .collect(),
                )
            });
        }
        AppsCmd::Assign { app, user, group } => {
            let id = app_id(c, &app).await?;
            let b = match (user, group) {
                (Some(u), _) => json!({"user_id": c.user_id(&u).await?}),
                (None, Some(g)) => json!({"group_id": c.group_id(&g).await?}),
                (None, None) => return Err(Failure::new(2, "give --user or --group")),
            };
            let v = c.call(Method::POST, &format!("/applications/{id}/assignments"), Some(b)).await?;
            out(c, &v, &|v| println!("assigned ({})", s(v, "id")));
        }
        AppsCmd::Unassign { app, assignment } => {
            let id = app_id(c, &app).await?;
            c.call(Method::DELETE, &format!("/applications/{id}/assignments/{assignment}"), None).await?;
            done(c, "assignment removed".into());
        }
    }
    Ok(())
}
