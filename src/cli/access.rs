//! `lanyard admin accounts|org-units|policies|permission-sets|assignments …` (through the admin
//! API) and `lanyard policy validate|simulate`. Names or ids are accepted wherever a thing is
//! named; `--json` prints the API's JSON for scripts.

use super::admin::{Client, Conn, items, print_one, s, table};
use super::{CmdResult, Failure};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List accounts.
    List {
        /// Name or id prefix.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Show an account (by id or name).
    Get { account: String },
    /// Create an account (its 12-digit id is generated).
    Create {
        name: String,
        #[arg(long)]
        owner_email: String,
        #[command(flatten)]
        fields: AccountFields,
    },
    /// Change an account.
    Update {
        account: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        owner_email: Option<String>,
        #[command(flatten)]
        fields: AccountFields,
    },
    /// Delete an account with its assignments.
    Delete { account: String },
}

#[derive(Debug, Args)]
pub struct AccountFields {
    #[arg(long)]
    description: Option<String>,
    /// active or suspended.
    #[arg(long)]
    status: Option<String>,
    /// Organisational unit (name or id).
    #[arg(long)]
    ou: Option<String>,
    /// A tag KEY=VALUE; repeat for several (replaces all tags).
    #[arg(long = "tag")]
    tags: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum OrgUnitsCmd {
    /// List organisational units.
    List,
    /// Create an organisational unit.
    Create {
        name: String,
        /// The parent (name or id; default the root).
        #[arg(long)]
        parent: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete an empty organisational unit.
    Delete { ou: String },
}

#[derive(Debug, Subcommand)]
pub enum PoliciesCmd {
    /// List managed policies.
    List,
    /// Show a policy and its document.
    Get { policy: String },
    /// Create a managed policy from a JSON file (`-` for standard input).
    Create {
        name: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change a policy; a new document becomes the default version.
    Update {
        policy: String,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// The kept versions of a policy.
    Versions { policy: String },
    /// Delete a policy no permission set uses.
    Delete { policy: String },
}

#[derive(Debug, Subcommand)]
pub enum PermissionSetsCmd {
    /// List permission sets with their provisioning status.
    List,
    /// Show a permission set, its policies and where it is provisioned.
    Get { permission_set: String },
    /// Create a permission set.
    Create {
        name: String,
        #[command(flatten)]
        fields: PermissionSetFields,
    },
    /// Change a permission set (re-provisions it where it is assigned).
    Update {
        permission_set: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: PermissionSetFields,
    },
    /// Delete a permission set with no assignments.
    Delete { permission_set: String },
    /// Attach a managed policy.
    Attach { permission_set: String, policy: String },
    /// Detach a managed policy.
    Detach { permission_set: String, policy: String },
    /// Provision again in every account where it is assigned.
    Provision { permission_set: String },
    /// Show the trust policy: who may become the role through STS (AssumeRole, web identity).
    TrustPolicy { permission_set: String },
    /// Set the trust policy from a JSON file (`-` for standard input), or remove it with --none.
    SetTrustPolicy {
        permission_set: String,
        #[arg(long, required_unless_present = "none", conflicts_with = "none")]
        file: Option<PathBuf>,
        /// Remove it: nobody may assume the role through STS.
        #[arg(long)]
        none: bool,
    },
}

#[derive(Debug, Args)]
pub struct PermissionSetFields {
    #[arg(long)]
    description: Option<String>,
    /// PT1H, 8h, … (15 minutes to 12 hours).
    #[arg(long)]
    session_duration: Option<String>,
    /// Where the console link lands (https URL).
    #[arg(long)]
    relay_state: Option<String>,
    /// The inline policy, from a JSON file (`-` for standard input).
    #[arg(long)]
    inline_policy_file: Option<PathBuf>,
    /// Remove the inline policy.
    #[arg(long, conflicts_with = "inline_policy_file")]
    no_inline_policy: bool,
    /// A managed policy (name or id) as the permissions boundary; "" removes it.
    #[arg(long)]
    boundary: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AssignmentsCmd {
    /// List assignments, optionally of one account, permission set, user or group.
    List {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        permission_set: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Assign a permission set to a user or group in an account.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        permission_set: String,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Remove an assignment (by id).
    Delete { id: String },
    /// The accounts and roles a user can use.
    Access { user: String },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Check a policy document locally (no server needed): prints the JSON path of the fault.
    Validate {
        /// The document (`-` for standard input).
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Simulate decisions against a permission set or documents, through the admin API.
    Simulate(Box<SimulateArgs>),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    conn: Conn,
    /// A permission set (name or id), as currently defined.
    #[arg(long, conflicts_with = "policy_file", required_unless_present = "policy_file")]
    permission_set: Option<String>,
    /// Or a policy document; repeat for several.
    #[arg(long)]
    policy_file: Vec<PathBuf>,
    /// A permissions boundary document for --policy-file.
    #[arg(long)]
    boundary_file: Option<PathBuf>,
    /// Fill the principal variables from this user.
    #[arg(long)]
    user: Option<String>,
    /// The account (for ${lanyard:PrincipalAccount}).
    #[arg(long)]
    account: Option<String>,
    /// An action; repeat for several.
    #[arg(long = "action", required = true)]
    actions: Vec<String>,
    /// A resource; repeat for several (default *).
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// A context key KEY=VALUE; repeat (the same key twice gives it two values).
    #[arg(long = "context")]
    context: Vec<String>,
}

fn read_file(path: &PathBuf) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::new(1, format!("cannot read standard input: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| Failure::new(1, format!("cannot read {}: {e}", path.display())))
}

fn pairs(list: &[String], what: &str) -> Result<Vec<(String, String)>, Failure> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Failure::new(2, format!("{what} must be KEY=VALUE, not {p:?}")))
        })
        .collect()
}

pub(crate) fn out(c: &Client, v: &Value, human: &dyn Fn(&Value)) {
    if c.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        human(v);
    }
}

pub(crate) fn done(c: &Client, msg: String) {
    if !c.json {
        println!("{msg}");
    }
}

/// Finds an item's id in a list by one of its fields (case-insensitive), or takes an id as is.
pub(crate) async fn resolve(
    c: &Client,
    list_path: &str,
    field: &str,
    wanted: &str,
    what: &str,
) -> Result<String, Failure> {
    if uuid::Uuid::parse_str(wanted).is_ok() {
        return Ok(wanted.to_string());
    }
    let list = c.get(list_path).await?;
    items(&list)
        .iter()
        .find(|i| i.get(field).and_then(Value::as_str).is_some_and(|v| v.to_lowercase() == wanted.to_lowercase()))
        .and_then(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| Failure::new(6, format!("no {what} named {wanted:?}")))
}

async fn account_id(c: &Client, account: &str) -> Result<String, Failure> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(account.to_string());
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("name", account)
        .append_pair("limit", "1000")
        .finish();
    let list = c.get(&format!("/accounts?{q}")).await?;
    items(&list)
        .iter()
        .find(|i| i.get("name").and_then(Value::as_str).is_some_and(|v| v.to_lowercase() == account.to_lowercase()))
        .and_then(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| Failure::new(6, format!("no account named {account:?}")))
}

async fn ou_id(c: &Client, ou: &str) -> Result<String, Failure> {
    resolve(c, "/org-units", "name", ou, "organisational unit").await
}

async fn policy_id(c: &Client, p: &str) -> Result<String, Failure> {
    resolve(c, "/policies", "name", p, "policy").await
}

async fn ps_id(c: &Client, p: &str) -> Result<String, Failure> {
    resolve(c, "/permission-sets", "name", p, "permission set").await
}

fn print_accounts(v: &Value) {
    table(
        &["ID", "NAME", "OWNER", "STATUS"],
        items(v).iter().map(|a| vec![s(a, "id"), s(a, "name"), s(a, "owner_email"), s(a, "status")]).collect(),
    );
}

async fn account_body(
    c: &Client,
    name: Option<String>,
    owner_email: Option<String>,
    f: AccountFields,
) -> Result<Value, Failure> {
    let mut body = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            body.insert(k.into(), Value::String(v));
        }
    };
    put("name", name);
    put("owner_email", owner_email);
    put("description", f.description);
    put("status", f.status);
    if let Some(ou) = f.ou {
        body.insert("ou_id".into(), Value::String(ou_id(c, &ou).await?));
    }
    if !f.tags.is_empty() {
        let tags: Map<String, Value> =
            pairs(&f.tags, "--tag")?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        body.insert("tags".into(), Value::Object(tags));
    }
    Ok(Value::Object(body))
}

pub async fn accounts(c: &Client, cmd: AccountsCmd) -> CmdResult {
    match cmd {
        AccountsCmd::List { name, limit } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &limit.to_string());
            if let Some(n) = &name {
                q.append_pair("name", n);
            }
            out(c, &c.get(&format!("/accounts?{}", q.finish())).await?, &print_accounts);
        }
        AccountsCmd::Get { account } => {
            let id = account_id(c, &account).await?;
            out(c, &c.get(&format!("/accounts/{id}")).await?, &print_one);
        }
        AccountsCmd::Create { name, owner_email, fields } => {
            let body = account_body(c, Some(name), Some(owner_email), fields).await?;
            out(c, &c.call(Method::POST, "/accounts", Some(body)).await?, &print_one);
        }
        AccountsCmd::Update { account, name, owner_email, fields } => {
            let id = account_id(c, &account).await?;
            let body = account_body(c, name, owner_email, fields).await?;
            out(c, &c.call(Method::PATCH, &format!("/accounts/{id}"), Some(body)).await?, &print_one);
        }
        AccountsCmd::Delete { account } => {
            let id = account_id(c, &account).await?;
            c.call(Method::DELETE, &format!("/accounts/{id}"), None).await?;
            done(c, format!("deleted account {account} ({id})"));
        }
    }
    Ok(())
}

pub async fn org_units(c: &Client, cmd: OrgUnitsCmd) -> CmdResult {
    match cmd {
        OrgUnitsCmd::List => out(c, &c.get("/org-units").await?, &|v| {
            table(
                &["ID", "NAME", "PARENT", "DESCRIPTION"],
                items(v)
                    .iter()
                    .map(|o| vec![s(o, "id"), s(o, "name"), s(o, "parent_id"), s(o, "description")])
                    .collect(),
            )
        }),
        OrgUnitsCmd::Create { name, parent, description } => {
            let mut body = json!({"name": name, "description": description});
            if let Some(p) = parent {
                body["parent_id"] = Value::String(ou_id(c, &p).await?);
            }
            out(c, &c.call(Method::POST, "/org-units", Some(body)).await?, &print_one);
        }
        OrgUnitsCmd::Delete { ou } => {
            let id = ou_id(c, &ou).await?;
            c.call(Method::DELETE, &format!("/org-units/{id}"), None).await?;
            done(c, format!("deleted organisational unit {ou}"));
        }
    }
    Ok(())
}

fn print_policy(v: &Value) {
    println!("{}  {} (v{})", s(v, "id"), s(v, "name"), s(v, "version"));
    if !s(v, "description").is_empty() {
        println!("{}", s(v, "description"));
    }
    println!("{}", serde_json::to_string_pretty(&v["document"]).unwrap_or_default());
}

pub async fn policies(c: &Client, cmd: PoliciesCmd) -> CmdResult {
    match cmd {
        PoliciesCmd::List => out(c, &c.get("/policies").await?, &|v| {
            table(
                &["ID", "NAME", "VERSION", "DESCRIPTION"],
                items(v).iter().map(|p| vec![s(p, "id"), s(p, "name"), s(p, "version"), s(p, "description")]).collect(),
            )
        }),
        PoliciesCmd::Get { policy } => {
            let id = policy_id(c, &policy).await?;
            out(c, &c.get(&format!("/policies/{id}")).await?, &print_policy);
        }
        PoliciesCmd::Create { name, file, description } => {
            let body = json!({"name": name, "description": description, "document": read_file(&file)?});
            out(c, &c.call(Method::POST, "/policies", Some(body)).await?, &print_policy);
        }
        PoliciesCmd::Update { policy, file, name, description } => {
            let id = policy_id(c, &policy).await?;
            let mut body = Map::new();
            if let Some(f) = file {
                body.insert("document".into(), Value::String(read_file(&f)?));
            }
            if let Some(n) = name {
                body.insert("name".into(), Value::String(n));
            }
            if let Some(d) = description {
                body.insert("description".into(), Value::String(d));
            }
            out(c, &c.call(Method::PATCH, &format!("/policies/{id}"), Some(Value::Object(body))).await?, &print_policy);
        }
        PoliciesCmd::Versions { policy } => {
            let id = policy_id(c, &policy).await?;
            out(c, &c.get(&format!("/policies/{id}/versions")).await?, &|v| {
                table(
                    &["VERSION", "CREATED", "DEFAULT"],
                    items(v).iter().map(|x| vec![s(x, "version"), s(x, "created_at"), s(x, "is_default")]).collect(),
                )
            });
        }
        PoliciesCmd::Delete { policy } => {
            let id = policy_id(c, &policy).await?;
            c.call(Method::DELETE, &format!("/policies/{id}"), None).await?;
            done(c, format!("deleted policy {policy}"));
        }
    }
    Ok(())
}

fn print_ps(v: &Value) {
    let names = |k: &str| -> String {
        v[k].as_array().map(|a| a.iter().map(|p| s(p, "name")).collect::<Vec<_>>().join(", ")).unwrap_or_default()
    };
    println!("{}  {}", s(v, "id"), s(v, "name"));
    println!("session duration  {}", s(v, "session_duration"));
    println!("managed policies  {}", names("managed_policies"));
    println!("inline policy     {}", if v["inline_policy"].is_object() { "yes" } else { "none" });
    println!("boundary          {}", v["permissions_boundary"].get("name").and_then(Value::as_str).unwrap_or("none"));
    println!("revision          {}", s(v, "revision"));
    let p = &v["provisioning"];
    println!("provisioning      {} ({} of {} accounts current)", s(p, "status"), s(p, "current"), s(p, "accounts"));
    for r in p["roles"].as_array().into_iter().flatten() {
        println!("  {}  revision {}", s(r, "role_arn"), s(r, "revision"));
    }
}

async fn ps_body(c: &Client, name: Option<String>, f: PermissionSetFields) -> Result<Value, Failure> {
    let mut body = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            body.insert(k.into(), Value::String(v));
        }
    };
    put("name", name);
    put("description", f.description);
    put("session_duration", f.session_duration);
    put("relay_state", f.relay_state);
    if let Some(b) = f.boundary {
        let id = if b.is_empty() { b } else { policy_id(c, &b).await? };
        body.insert("permissions_boundary".into(), Value::String(id));
    }
    if let Some(file) = f.inline_policy_file {
        body.insert("inline_policy".into(), Value::String(read_file(&file)?));
    } else if f.no_inline_policy {
        body.insert("inline_policy".into(), Value::Null);
    }
    Ok(Value::Object(body))
}

pub async fn permission_sets(c: &Client, cmd: PermissionSetsCmd) -> CmdResult {
    match cmd {
        PermissionSetsCmd::List => out(c, &c.get("/permission-sets").await?, &|v| {
            table(
                &["ID", "NAME", "SESSION", "PROVISIONING", "ACCOUNTS"],
                items(v)
                    .iter()
                    .map(|p| {
                        vec![
                            s(p, "id"),
                            s(p, "name"),
                            s(p, "session_duration"),
                            s(&p["provisioning"], "status"),
                            s(&p["provisioning"], "accounts"),
                        ]
                    })
                    .collect(),
            )
        }),
        PermissionSetsCmd::Get { permission_set } => {
            let id = ps_id(c, &permission_set).await?;
            out(c, &c.get(&format!("/permission-sets/{id}")).await?, &print_ps);
        }
        PermissionSetsCmd::Create { name, fields } => {
            let body = ps_body(c, Some(name), fields).await?;
            out(c, &c.call(Method::POST, "/permission-sets", Some(body)).await?, &print_ps);
        }
        PermissionSetsCmd::Update { permission_set, name, fields } => {
            let id = ps_id(c, &permission_set).await?;
            let body = ps_body(c, name, fields).await?;
            out(c, &c.call(Method::PATCH, &format!("/permission-sets/{id}"), Some(body)).await?, &print_ps);
        }
        PermissionSetsCmd::Delete { permission_set } => {
            let id = ps_id(c, &permission_set).await?;
            c.call(Method::DELETE, &format!("/permission-sets/{id}"), None).await?;
            done(c, format!("deleted permission set {permission_set}"));
        }
        PermissionSetsCmd::Attach { permission_set, policy } => attach(c, &permission_set, &policy, true).await?,
        PermissionSetsCmd::Detach { permission_set, policy } => attach(c, &permission_set, &policy, false).await?,
        PermissionSetsCmd::Provision { permission_set } => {
            let id = ps_id(c, &permission_set).await?;
            out(c, &c.call(Method::POST, &format!("/permission-sets/{id}/provision"), None).await?, &print_ps);
        }
        PermissionSetsCmd::TrustPolicy { permission_set } => {
            let id = ps_id(c, &permission_set).await?;
            out(c, &c.get(&format!("/permission-sets/{id}/trust-policy")).await?, &print_trust);
        }
        PermissionSetsCmd::SetTrustPolicy { permission_set, file, none } => {
            let id = ps_id(c, &permission_set).await?;
            let doc = match (file, none) {
                (Some(f), false) => Value::String(read_file(&f)?),
                _ => Value::Null,
            };
            let body = serde_json::json!({"trust_policy": doc});
            let v = c.call(Method::PUT, &format!("/permission-sets/{id}/trust-policy"), Some(body)).await?;
            out(c, &v, &print_trust);
        }
    }
    Ok(())
}

fn print_trust(v: &Value) {
    match &v["trust_policy"] {
        Value::Null => println!("no trust policy: nobody may assume this role through STS"),
        doc => println!("{}", serde_json::to_string_pretty(doc).unwrap_or_default()),
    }
}

async fn attach(c: &Client, permission_set: &str, policy: &str, attach: bool) -> CmdResult {
    let id = ps_id(c, permission_set).await?;
    let pid = policy_id(c, policy).await?;
    let method = if attach { Method::PUT } else { Method::DELETE };
    c.call(method, &format!("/permission-sets/{id}/policies/{pid}"), None).await?;
    done(
        c,
        if attach {
            format!("attached {policy} to {permission_set}")
        } else {
            format!("detached {policy} from {permission_set}")
        },
    );
    Ok(())
}

pub async fn assignments(c: &Client, cmd: AssignmentsCmd) -> CmdResult {
    match cmd {
        AssignmentsCmd::List { account, permission_set, user, group } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", "1000");
            if let Some(a) = account {
                q.append_pair("account_id", &account_id(c, &a).await?);
            }
            if let Some(p) = permission_set {
                q.append_pair("permission_set_id", &ps_id(c, &p).await?);
            }
            if let Some(u) = user {
                q.append_pair("user_id", &c.user_id(&u).await?);
            }
            if let Some(g) = group {
                q.append_pair("group_id", &c.group_id(&g).await?);
            }
            out(c, &c.get(&format!("/assignments?{}", q.finish())).await?, &|v| {
                table(
                    &["ID", "ACCOUNT", "PERMISSION SET", "PRINCIPAL", "TYPE"],
                    items(v)
                        .iter()
                        .map(|a| {
                            vec![
                                s(a, "id"),
                                format!("{} ({})", s(a, "account_name"), s(a, "account_id")),
                                s(a, "permission_set_name"),
                                s(a, "principal_name"),
                                s(a, "principal_type"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        AssignmentsCmd::Create { account, permission_set, user, group } => {
            let (kind, principal) = match (user, group) {
                (Some(u), _) => ("user", c.user_id(&u).await?),
                (None, Some(g)) => ("group", c.group_id(&g).await?),
                (None, None) => return Err(Failure::new(2, "name a --user or a --group")),
            };
            let body = json!({"account_id": account_id(c, &account).await?, "permission_set_id": ps_id(c, &permission_set).await?,
                              "principal_type": kind, "principal_id": principal});
            out(c, &c.call(Method::POST, "/assignments", Some(body)).await?, &print_one);
        }
        AssignmentsCmd::Delete { id } => {
            let id = uuid::Uuid::parse_str(id.trim())
                .map_err(|_| Failure::new(2, format!("{id:?} is not an assignment id (see `assignments list`)")))?;
            c.call(Method::DELETE, &format!("/assignments/{id}"), None).await?;
            done(c, format!("removed assignment {id}"));
        }
        AssignmentsCmd::Access { user } => {
            let id = c.user_id(&user).await?;
            out(c, &c.get(&format!("/users/{id}/access")).await?, &|v| {
                let mut rows = Vec::new();
                for a in items(v) {
                    for r in a["roles"].as_array().into_iter().flatten() {
                        rows.push(vec![
                            s(&a, "account_id"),
                            s(&a, "account_name"),
                            s(r, "role_name"),
                            s(r, "session_duration"),
                        ]);
                    }
                }
                table(&["ACCOUNT", "NAME", "ROLE", "SESSION"], rows);
            });
        }
    }
    Ok(())
}

pub async fn policy(config_path: &Option<PathBuf>, cmd: PolicyCmd) -> CmdResult {
    match cmd {
        PolicyCmd::Validate { file, json } => {
            let text = read_file(&file)?;
            match crate::access::policy::parse(&text) {
                Ok(p) => {
                    if json {
                        println!("{}", json!({"valid": true, "statements": p.statements.len()}));
                    } else {
                        println!("valid: {} statements", p.statements.len());
                    }
                    Ok(())
                }
                Err(e) => {
                    if json {
                        println!("{}", json!({"valid": false, "path": e.path, "reason": e.reason}));
                    }
                    Err(Failure::new(1, format!("invalid policy at {}: {}", e.path, e.reason)))
                }
            }
        }
        PolicyCmd::Simulate(args) => {
            let SimulateArgs {
                conn,
                permission_set,
                policy_file,
                boundary_file,
                user,
                account,
                actions,
                resources,
                context,
            } = *args;
            let c = Client::new(config_path, conn)?;
            let mut ctx: Map<String, Value> = Map::new();
            for (k, v) in pairs(&context, "--context")? {
                match ctx.get_mut(&k) {
                    Some(Value::Array(a)) => a.push(Value::String(v)),
                    Some(prev) => *prev = Value::Array(vec![prev.clone(), Value::String(v)]),
                    None => {
                        ctx.insert(k, Value::String(v));
                    }
                }
            }
            let policies = policy_file.iter().map(read_file).collect::<Result<Vec<_>, _>>()?;
            let body = json!({
                "permission_set": permission_set,
                "policies": policies,
                "permissions_boundary": boundary_file.as_ref().map(read_file).transpose()?,
                "user": user,
                "account_id": account,
                "actions": actions,
                "resources": resources,
                "context": ctx,
            });
            let v = c.call(Method::POST, "/simulate", Some(body)).await?;
            out(&c, &v, &|v| {
                table(
                    &["ACTION", "RESOURCE", "DECISION", "REASON"],
                    v["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            vec![s(r, "action"), s(r, "resource"), s(r, "decision").to_uppercase(), s(r, "reason")]
                        })
                        .collect(),
                )
            });
            Ok(())
        }
    }
}
