//! `lanyard admin …`: token creation (direct database access, for automation and the first
//! token), and an admin API client for users and groups with tables for people and `--json`
//! for scripts.

use super::{CmdResult, Failure};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Admin API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Users (through the admin API).
    Users {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: UsersCmd,
    },
    /// Groups and memberships (through the admin API).
    Groups {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: GroupsCmd,
    },
    /// Accounts (through the admin API).
    Accounts {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::access::AccountsCmd,
    },
    /// Organisational units (through the admin API).
    OrgUnits {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::access::OrgUnitsCmd,
    },
    /// Managed policies (through the admin API).
    Policies {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::access::PoliciesCmd,
    },
    /// Permission sets (through the admin API).
    PermissionSets {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::access::PermissionSetsCmd,
    },
    /// Assignments of permission sets to users and groups in accounts (through the admin API).
    Assignments {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::access::AssignmentsCmd,
    },
    /// Applications: OAuth/OIDC clients, their secrets and assignments (through the admin API).
    Apps {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: super::apps::AppsCmd,
    },
    /// Web identity providers: external OIDC issuers whose tokens STS AssumeRoleWithWebIdentity
    /// accepts (through the admin API).
    WebIdentityProviders {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: WebIdentityCmd,
    },
    /// The MFA policy (through the admin API).
    MfaPolicy {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: MfaPolicyCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum MfaPolicyCmd {
    /// Show the policy.
    Get,
    /// Replace the policy.
    Set {
        /// optional, required, or groups.
        #[arg(long)]
        mode: String,
        /// A group (name or id) whose members must use MFA; repeat for several (mode groups).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Admin pages demand a second factor within this many minutes (0: off).
        #[arg(long, default_value_t = 0)]
        step_up_minutes: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token directly in the database and print it (shown once).
    Create {
        name: String,
        /// Lifetime, e.g. 30d or 12h (default: until revoked).
        #[arg(long)]
        expires_in: Option<crate::config::Dur>,
        /// admin (the whole admin API) or authorize (only POST /api/v1/authorize, for
        /// resource services).
        #[arg(long, default_value = "admin")]
        scope: String,
        #[arg(long)]
        json: bool,
    },
}

/// How to reach the admin API.
#[derive(Debug, Args)]
pub struct Conn {
    /// Lanyard's URL (default: the configured public URL).
    #[arg(long, env = "LANYARD_URL", global = true)]
    url: Option<String>,
    /// An admin API token (`lanyard admin token create`).
    #[arg(long, env = "LANYARD_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// List users.
    List {
        /// Username prefix.
        #[arg(long)]
        username: Option<String>,
        /// Email prefix.
        #[arg(long)]
        email: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Follow `next` cursors to list every match.
        #[arg(long)]
        all: bool,
    },
    /// Show a user (by id or username).
    Get { user: String },
    /// Create a user.
    Create {
        username: String,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Read an initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Do not require a password change at first sign-in.
        #[arg(long)]
        no_must_change: bool,
        /// Create the user disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change a user's fields.
    Update {
        user: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable a user (ends their sessions).
    Disable { user: String },
    /// Enable a user.
    Enable { user: String },
    /// Delete a user.
    Delete { user: String },
    /// Set a user's password from standard input (ends their sessions).
    SetPassword {
        user: String,
        /// Do not require a change at next sign-in.
        #[arg(long)]
        no_must_change: bool,
    },
    /// Lift a sign-in lockout.
    Unlock { user: String },
    /// List a user's sessions.
    Sessions { user: String },
    /// End every session of a user.
    RevokeSessions { user: String },
    /// List a user's groups.
    Groups { user: String },
    /// List a user's second factors (no secrets).
    Factors { user: String },
    /// Remove every second factor of a user (ends their sessions).
    ResetFactors { user: String },
}

#[derive(Debug, Subcommand)]
pub enum WebIdentityCmd {
    /// List the trusted issuers.
    List,
    /// Trust an issuer's tokens (a role's trust policy must still name it as `Federated`).
    Add {
        /// The tokens' `iss`, e.g. https://token.actions.githubusercontent.com.
        issuer: String,
        /// An accepted `aud` (repeat for several).
        #[arg(long = "audience", required = true)]
        audiences: Vec<String>,
    },
    /// Replace an issuer's accepted audiences (by id or issuer URL).
    SetAudiences {
        provider: String,
        #[arg(long = "audience", required = true)]
        audiences: Vec<String>,
    },
    /// Stop trusting an issuer (by id or issuer URL); its workloads' credentials end at once.
    Remove { provider: String },
}

#[derive(Debug, Subcommand)]
pub enum GroupsCmd {
    /// List groups.
    List {
        /// Name prefix.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Show a group (by id or name).
    Get { group: String },
    /// Create a group.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Rename or describe a group.
    Update {
        group: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group.
    Delete { group: String },
    /// List a group's members.
    Members { group: String },
    /// Add a user to a group.
    AddMember { group: String, user: String },
    /// Remove a user from a group.
    RemoveMember { group: String, user: String },
}

pub async fn run(config_path: &Option<PathBuf>, cmd: AdminCmd) -> CmdResult {
    match cmd {
        AdminCmd::Token(TokenCmd::Create { name, expires_in, scope, json }) => {
            let config = super::load_config(config_path)?;
            super::local::create_token(config, &name, expires_in, &scope, json).await
        }
        AdminCmd::Apps { conn, cmd } => super::apps::run(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::Accounts { conn, cmd } => super::access::accounts(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::OrgUnits { conn, cmd } => super::access::org_units(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::Policies { conn, cmd } => super::access::policies(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::PermissionSets { conn, cmd } => {
            super::access::permission_sets(&Client::new(config_path, conn)?, cmd).await
        }
        AdminCmd::Assignments { conn, cmd } => super::access::assignments(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::Users { conn, cmd } => {
            let client = Client::new(config_path, conn)?;
            users(&client, cmd).await
        }
        AdminCmd::Groups { conn, cmd } => {
            let client = Client::new(config_path, conn)?;
            groups(&client, cmd).await
        }
        AdminCmd::WebIdentityProviders { conn, cmd } => web_identity(&Client::new(config_path, conn)?, cmd).await,
        AdminCmd::MfaPolicy { conn, cmd } => {
            let client = Client::new(config_path, conn)?;
            mfa_policy(&client, cmd).await
        }
    }
}

/// A small admin API client.
pub struct Client {
    base: String,
    token: String,
    pub(crate) json: bool,
    http: reqwest::Client,
}

impl Client {
    pub(crate) fn new(config_path: &Option<PathBuf>, conn: Conn) -> Result<Self, Failure> {
        let base = match conn.url {
            Some(u) => u,
            None => super::load_config(config_path)?.public_base(),
        };
        let token = conn.token.ok_or_else(|| {
            Failure::new(
                4,
                "no admin token: pass --token or set LANYARD_TOKEN (create one with `lanyard admin token create NAME`)",
            )
        })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::new(1, e.to_string()))?;
        Ok(Self { base: base.trim_end_matches('/').to_string(), token, json: conn.json, http })
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| {
            Failure::new(
                5,
                format!(
                    "cannot reach Lanyard at {}: {e} (is `lanyard serve` running? set --url or LANYARD_URL)",
                    self.base
                ),
            )
        })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            });
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        let code = match status.as_u16() {
            401 | 403 => 4,
            404 => 6,
            409 => 3,
            _ => 1,
        };
        Err(Failure::new(code, message))
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn user_id(&self, user: &str) -> Result<String, Failure> {
        if uuid::Uuid::parse_str(user).is_ok() {
            return Ok(user.to_string());
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", user)
            .append_pair("limit", "1000")
            .finish();
        let list = self.get(&format!("/users?{q}")).await?;
        find_by(&list, "username", user).ok_or_else(|| Failure::new(6, format!("no user named {user:?}")))
    }

    pub(crate) async fn group_id(&self, group: &str) -> Result<String, Failure> {
        if uuid::Uuid::parse_str(group).is_ok() {
            return Ok(group.to_string());
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("name", group)
            .append_pair("limit", "1000")
            .finish();
        let list = self.get(&format!("/groups?{q}")).await?;
        find_by(&list, "name", group).ok_or_else(|| Failure::new(6, format!("no group named {group:?}")))
    }
}

fn find_by(list: &Value, field: &str, wanted: &str) -> Option<String> {
    list.get("items")?.as_array()?.iter().find_map(|item| {
        let v = item.get(field)?.as_str()?;
        v.eq_ignore_ascii_case(wanted).then(|| item.get("id")?.as_str().map(str::to_string)).flatten()
    })
}

fn read_stdin_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::new(1, format!("cannot read {what} from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Prints rows as an aligned table.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        println!("{}", line(r));
    }
}

pub(crate) fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn print_users(items: &[Value]) {
    table(
        &["ID", "USERNAME", "NAME", "EMAIL", "STATUS"],
        items
            .iter()
            .map(|u| vec![s(u, "id"), s(u, "username"), s(u, "display_name"), s(u, "email"), s(u, "status")])
            .collect(),
    );
}

fn print_groups(items: &[Value]) {
    table(
        &["ID", "NAME", "DESCRIPTION"],
        items.iter().map(|g| vec![s(g, "id"), s(g, "name"), s(g, "description")]).collect(),
    );
}

pub(crate) fn print_one(v: &Value) {
    if let Some(obj) = v.as_object() {
        let width = obj.keys().map(String::len).max().unwrap_or(0);
        for (k, val) in obj {
            let text = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{k:<width$}  {text}");
        }
    }
}

pub(crate) fn items(v: &Value) -> Vec<Value> {
    v.get("items").and_then(Value::as_array).cloned().unwrap_or_default()
}

async fn users(c: &Client, cmd: UsersCmd) -> CmdResult {
    use reqwest::Method;
    let out = |v: &Value, f: &dyn Fn(&Value)| {
        if c.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { f(v) }
    };
    match cmd {
        UsersCmd::List { username, email, limit, all } => {
            let mut collected = Vec::new();
            let mut next: Option<String> = None;
            loop {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("limit", &limit.to_string());
                if let Some(u) = &username {
                    q.append_pair("username", u);
                }
                if let Some(e) = &email {
                    q.append_pair("email", e);
                }
                if let Some(n) = &next {
                    q.append_pair("next", n);
                }
                let page = c.get(&format!("/users?{}", q.finish())).await?;
                collected.extend(items(&page));
                next = page.get("next").and_then(Value::as_str).map(str::to_string);
                if !all || next.is_none() {
                    break;
                }
            }
            let v = json!({"items": collected, "next": next});
            out(&v, &|v| print_users(&items(v)));
        }
        UsersCmd::Get { user } => {
            let id = c.user_id(&user).await?;
            out(&c.get(&format!("/users/{id}")).await?, &print_one);
        }
        UsersCmd::Create { username, display_name, email, password_stdin, no_must_change, disabled } => {
            let password = if password_stdin { Some(read_stdin_line("the password")?) } else { None };
            let body = json!({
                "username": username, "display_name": display_name, "email": email, "password": password,
                "must_change_password": password.is_some() && !no_must_change,
                "status": if disabled { "disabled" } else { "active" },
            });
            out(&c.call(Method::POST, "/users", Some(body)).await?, &print_one);
        }
        UsersCmd::Update { user, username, display_name, email } => {
            let id = c.user_id(&user).await?;
            let body = json!({"username": username, "display_name": display_name, "email": email});
            let body = Value::Object(
                body.as_object().cloned().unwrap_or_default().into_iter().filter(|(_, v)| !v.is_null()).collect(),
            );
            out(&c.call(Method::PATCH, &format!("/users/{id}"), Some(body)).await?, &print_one);
        }
        UsersCmd::Disable { user } => {
            let id = c.user_id(&user).await?;
            out(
                &c.call(Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "disabled"}))).await?,
                &print_one,
            );
        }
        UsersCmd::Enable { user } => {
            let id = c.user_id(&user).await?;
            out(&c.call(Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "active"}))).await?, &print_one);
        }
        UsersCmd::Delete { user } => {
            let id = c.user_id(&user).await?;
            c.call(Method::DELETE, &format!("/users/{id}"), None).await?;
            if !c.json {
                println!("deleted user {user}");
            }
        }
        UsersCmd::SetPassword { user, no_must_change } => {
            let id = c.user_id(&user).await?;
            let password = read_stdin_line("the password")?;
            c.call(
                Method::POST,
                &format!("/users/{id}/password"),
                Some(json!({"password": password, "must_change_password": !no_must_change})),
            )
            .await?;
            if !c.json {
                println!("password set for {user}; their sessions have ended");
            }
        }
        UsersCmd::Unlock { user } => {
            let id = c.user_id(&user).await?;
            c.call(Method::POST, &format!("/users/{id}/unlock"), None).await?;
            if !c.json {
                println!("sign-in lockout lifted for {user}");
            }
        }
        UsersCmd::Sessions { user } => {
            let id = c.user_id(&user).await?;
            out(&c.get(&format!("/users/{id}/sessions")).await?, &|v| {
                table(
                    &["ID", "CREATED", "LAST SEEN", "IP", "USER AGENT"],
                    items(v)
                        .iter()
                        .map(|x| {
                            vec![s(x, "id"), s(x, "created_at"), s(x, "last_seen_at"), s(x, "ip"), s(x, "user_agent")]
                        })
                        .collect(),
                )
            });
        }
        UsersCmd::RevokeSessions { user } => {
            let id = c.user_id(&user).await?;
            c.call(Method::DELETE, &format!("/users/{id}/sessions"), None).await?;
            if !c.json {
                println!("all sessions of {user} have ended");
            }
        }
        UsersCmd::Groups { user } => {
            let id = c.user_id(&user).await?;
            out(&c.get(&format!("/users/{id}/groups")).await?, &|v| print_groups(&items(v)));
        }
        UsersCmd::Factors { user } => {
            let id = c.user_id(&user).await?;
            out(&c.get(&format!("/users/{id}/factors")).await?, &|v| {
                let rows = v.get("factors").and_then(Value::as_array).cloned().unwrap_or_default();
                table(
                    &["KIND", "ID", "NAME", "CONFIRMED", "CREATED", "LAST USED"],
                    rows.iter()
                        .map(|f| {
                            vec![
                                s(f, "kind"),
                                s(f, "id"),
                                s(f, "name"),
                                s(f, "confirmed"),
                                s(f, "created_at"),
                                s(f, "last_used_at"),
                            ]
                        })
                        .collect(),
                );
                println!(
                    "recovery codes left: {}; MFA required by policy: {}",
                    s(v, "recovery_codes_remaining"),
                    s(v, "mfa_required")
                );
            });
        }
        UsersCmd::ResetFactors { user } => {
            let id = c.user_id(&user).await?;
            c.call(Method::DELETE, &format!("/users/{id}/factors"), None).await?;
            if !c.json {
                println!("removed every second factor of {user}; their sessions have ended");
            }
        }
    }
    Ok(())
}

async fn groups(c: &Client, cmd: GroupsCmd) -> CmdResult {
    use reqwest::Method;
    let out = |v: &Value, f: &dyn Fn(&Value)| {
        if c.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { f(v) }
    };
    match cmd {
        GroupsCmd::List { name, limit } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &limit.to_string());
            if let Some(n) = &name {
                q.append_pair("name", n);
            }
            out(&c.get(&format!("/groups?{}", q.finish())).await?, &|v| print_groups(&items(v)));
        }
        GroupsCmd::Get { group } => {
            let id = c.group_id(&group).await?;
            out(&c.get(&format!("/groups/{id}")).await?, &print_one);
        }
        GroupsCmd::Create { name, description } => {
            out(
                &c.call(Method::POST, "/groups", Some(json!({"name": name, "description": description}))).await?,
                &print_one,
            );
        }
        GroupsCmd::Update { group, name, description } => {
            let id = c.group_id(&group).await?;
            let mut body = serde_json::Map::new();
            if let Some(n) = name {
                body.insert("name".into(), Value::String(n));
            }
            if let Some(d) = description {
                body.insert("description".into(), Value::String(d));
            }
            out(&c.call(Method::PATCH, &format!("/groups/{id}"), Some(Value::Object(body))).await?, &print_one);
        }
        GroupsCmd::Delete { group } => {
            let id = c.group_id(&group).await?;
            c.call(Method::DELETE, &format!("/groups/{id}"), None).await?;
            if !c.json {
                println!("deleted group {group}");
            }
        }
        GroupsCmd::Members { group } => {
            let id = c.group_id(&group).await?;
            out(&c.get(&format!("/groups/{id}/members?limit=1000")).await?, &|v| print_users(&items(v)));
        }
        GroupsCmd::AddMember { group, user } => {
            let gid = c.group_id(&group).await?;
            let uid = c.user_id(&user).await?;
            c.call(Method::PUT, &format!("/groups/{gid}/members/{uid}"), None).await?;
            if !c.json {
                println!("{user} is a member of {group}");
            }
        }
        GroupsCmd::RemoveMember { group, user } => {
            let gid = c.group_id(&group).await?;
            let uid = c.user_id(&user).await?;
            c.call(Method::DELETE, &format!("/groups/{gid}/members/{uid}"), None).await?;
            if !c.json {
                println!("{user} is no longer a member of {group}");
            }
        }
    }
    Ok(())
}

async fn mfa_policy(c: &Client, cmd: MfaPolicyCmd) -> CmdResult {
    let print = |v: &Value| {
        if c.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { print_one(v) }
    };
    match cmd {
        MfaPolicyCmd::Get => print(&c.get("/mfa-policy").await?),
        MfaPolicyCmd::Set { mode, groups, step_up_minutes } => {
            let mut ids = Vec::new();
            for g in &groups {
                ids.push(c.group_id(g).await?);
            }
            let body = json!({"mode": mode, "groups": ids, "step_up_minutes": step_up_minutes});
            print(&c.call(reqwest::Method::PUT, "/mfa-policy", Some(body)).await?);
        }
    }
    Ok(())
}

async fn web_identity(c: &Client, cmd: WebIdentityCmd) -> CmdResult {
    use reqwest::Method;
    let out = |v: &Value, f: &dyn Fn(&Value)| {
        if c.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { f(v) }
    };
    let print_list = |v: &Value| {
        table(
            &["ID", "ISSUER", "AUDIENCES", "CONDITION PREFIX"],
            items(v)
                .iter()
                .map(|p| {
                    let auds = p["audiences"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
                    vec![s(p, "id"), s(p, "issuer"), auds.unwrap_or_default(), s(p, "condition_prefix")]
                })
                .collect(),
        )
    };
    // A provider by id, or by its issuer URL.
    let resolve = |name: String| async move {
        if uuid::Uuid::parse_str(&name).is_ok() {
            return Ok::<String, Failure>(name);
        }
        let list = c.get("/web-identity-providers").await?;
        items(&list)
            .iter()
            .find(|p| s(p, "issuer").trim_end_matches('/') == name.trim_end_matches('/'))
            .map(|p| s(p, "id"))
            .ok_or_else(|| {
                Failure::new(
                    6,
                    format!("no web identity provider {name}: see `lanyard admin web-identity-providers list`"),
                )
            })
    };
    match cmd {
        WebIdentityCmd::List => out(&c.get("/web-identity-providers").await?, &print_list),
        WebIdentityCmd::Add { issuer, audiences } => {
            let body = json!({"issuer": issuer, "audiences": audiences});
            out(&c.call(Method::POST, "/web-identity-providers", Some(body)).await?, &print_one);
        }
        WebIdentityCmd::SetAudiences { provider, audiences } => {
            let id = resolve(provider).await?;
            let body = json!({"audiences": audiences});
            out(&c.call(Method::PATCH, &format!("/web-identity-providers/{id}"), Some(body)).await?, &print_one);
        }
        WebIdentityCmd::Remove { provider } => {
            let id = resolve(provider.clone()).await?;
            let v = c.call(Method::DELETE, &format!("/web-identity-providers/{id}"), None).await?;
            out(&v, &|v| println!("removed {provider}; {} live credentials ended", s(v, "credentials_ended")));
        }
    }
    Ok(())
}
