//! `lanyard creds`, `lanyard exec` and `lanyard configure aws`: role credentials for one account
//! and role, cached on disk (0600) until five minutes before they expire, so the AWS CLI, which
//! runs `credential_process` on every call, does not ask Lanyard each time.

use super::login::{self, Sso, Target, unix_now, write_private};
use super::{CmdResult, Failure};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;

/// Cached credentials are used until this many seconds before they expire.
const REFRESH_MARGIN: i64 = 300;

/// Which role.
#[derive(Debug, clap::Args)]
pub struct RoleArgs {
    /// The account: its 12-digit id or its name.
    #[arg(long)]
    pub account: String,
    /// The role (permission set) name.
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A JSON object (default).
    Json,
    /// `export AWS_…=…` lines for a shell's `eval`.
    Env,
    /// What the AWS SDKs' `credential_process` reads.
    CredentialProcess,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    url: String,
    account_id: String,
    role: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: i64,
}

fn cache_dir() -> Result<PathBuf, Failure> {
    Ok(login::home()?.join("credentials"))
}

fn cache_path(url: &str, account: &str, role: &str) -> Result<PathBuf, Failure> {
    let key = crate::crypto::sha256_hex(format!("{url}\n{account}\n{}", role.to_lowercase()).as_bytes());
    Ok(cache_dir()?.join(format!("{}.json", &key[..24])))
}

/// Forgets every cached credential of `url` (at logout).
pub fn forget(url: &str) -> Result<(), Failure> {
    let Ok(dir) = std::fs::read_dir(cache_dir()?) else { return Ok(()) };
    for entry in dir.flatten() {
        let path = entry.path();
        let mine = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Cached>(&t).ok())
            .is_some_and(|c| c.url == url);
        if mine {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(())
}

/// The 12-digit id of an account given by id or name.
async fn account_id(sso: &Sso, account: &str) -> Result<String, Failure> {
    let a = account.trim();
    if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(a.to_string());
    }
    let all = login::all_accounts(sso).await?;
    all.iter()
        .find(|(acc, _)| acc["accountName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(a)))
        .and_then(|(acc, _)| acc["accountId"].as_str().map(str::to_string))
        .ok_or_else(|| Failure::new(6, format!("you have no account named {a:?}: `lanyard accounts` lists yours")))
}

async fn credentials(url: &str, r: &RoleArgs) -> Result<Cached, Failure> {
    let sso = Sso::new(url)?;
    let account = account_id(&sso, &r.account).await?;
    let path = cache_path(url, &account, &r.role)?;
    if let Some(c) = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Cached>(&t).ok())
        && c.expiration - REFRESH_MARGIN > unix_now()
    {
        return Ok(c);
    }
    let v = login::portal_get(&sso, "/federation/credentials", &[("account_id", &account), ("role_name", &r.role)])
        .await
        .map_err(|f| {
            if f.code == 4 && !f.message.contains("lanyard login") {
                Failure::new(4, format!("you may not use the role {} in account {account}: {}", r.role, f.message))
            } else {
                f
            }
        })?;
    let rc = &v["roleCredentials"];
    let s = |k: &str| {
        rc[k].as_str().map(str::to_string).ok_or_else(|| Failure::new(1, format!("the server's answer has no {k}")))
    };
    let c = Cached {
        url: url.to_string(),
        account_id: account,
        role: r.role.clone(),
        access_key_id: s("accessKeyId")?,
        secret_access_key: s("secretAccessKey")?,
        session_token: s("sessionToken")?,
        expiration: rc["expiration"].as_i64().map(|ms| ms / 1000).unwrap_or(0),
    };
    let text = serde_json::to_vec(&c).map_err(|e| Failure::new(1, e.to_string()))?;
    write_private(&path, &text)?;
    Ok(c)
}

fn iso(unix: i64) -> String {
    crate::clock::format_unix(unix)
}

/// `lanyard creds`.
pub async fn creds(t: Target, r: RoleArgs, format: Format) -> CmdResult {
    let url = login::resolve_url(&t)?;
    let c = credentials(&url, &r).await?;
    match format {
        Format::CredentialProcess => println!(
            "{}",
            json!({"Version": 1, "AccessKeyId": c.access_key_id, "SecretAccessKey": c.secret_access_key,
                   "SessionToken": c.session_token, "Expiration": iso(c.expiration), "AccountId": c.account_id})
        ),
        Format::Env => {
            println!("export AWS_ACCESS_KEY_ID={}", c.access_key_id);
            println!("export AWS_SECRET_ACCESS_KEY={}", c.secret_access_key);
            println!("export AWS_SESSION_TOKEN={}", c.session_token);
            println!("export AWS_CREDENTIAL_EXPIRATION={}", iso(c.expiration));
        }
        Format::Json => println!(
            "{}",
            json!({"account_id": c.account_id, "role": c.role, "access_key_id": c.access_key_id,
                   "secret_access_key": c.secret_access_key, "session_token": c.session_token,
                   "expiration": iso(c.expiration)})
        ),
    }
    Ok(())
}

/// `lanyard exec … -- CMD`: runs the command with the role's credentials in its environment and
/// exits with its exit code.
pub async fn exec(t: Target, r: RoleArgs, command: Vec<String>) -> CmdResult {
    let url = login::resolve_url(&t)?;
    let Some((program, args)) = command.split_first() else {
        return Err(Failure::new(2, "give the command to run after --, e.g. `lanyard exec … -- aws s3 ls`"));
    };
    let c = credentials(&url, &r).await?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
        .env("AWS_SESSION_TOKEN", &c.session_token)
        .env("AWS_CREDENTIAL_EXPIRATION", iso(c.expiration))
        .env_remove("AWS_PROFILE")
        .status()
        .await
        .map_err(|e| Failure::new(127, format!("cannot run {program}: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(n) => Err(Failure::new(u8::try_from(n).unwrap_or(1), "")),
        None => Err(Failure::new(1, format!("{program} was killed by a signal"))),
    }
}

/// The AWS config file: `AWS_CONFIG_FILE`, else `~/.aws/config`.
fn aws_config_path() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os("AWS_CONFIG_FILE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".aws").join("config")),
        None => Err(Failure::new(1, "cannot find your home directory: set HOME or AWS_CONFIG_FILE")),
    }
}

/// A profile name from an account name and role: lower case, `-` between words.
fn profile_name(account: &str, role: &str) -> String {
    let slug: String = account
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{slug}-{role}")
}

/// Quotes an argument for both a shell and botocore's shlex split (only when it needs it).
fn quote(arg: &str) -> String {
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.:=@%+,".contains(&b)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Replaces or adds `[profile NAME]` sections in an AWS config file, keeping everything else.
fn merge_profiles(existing: &str, profiles: &[(String, Vec<(String, String)>)]) -> String {
    let headers: Vec<String> = profiles.iter().map(|(n, _)| format!("[profile {n}]")).collect();
    let mut out = String::new();
    let mut skipping = false;
    for line in existing.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = headers.iter().any(|h| h == trimmed);
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (name, keys) in profiles {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&format!("[profile {name}]\n# written by `lanyard configure aws`\n"));
        for (k, v) in keys {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    out
}

/// `lanyard configure aws`: one profile per role (or the one asked for) whose
/// `credential_process` is `lanyard creds … --format credential-process`.
pub async fn configure_aws(
    t: Target,
    account: Option<String>,
    role: Option<String>,
    profile: Option<String>,
    region: Option<String>,
) -> CmdResult {
    let url = login::resolve_url(&t)?;
    let sso = Sso::new(&url)?;
    let exe = std::env::current_exe().map_err(|e| Failure::new(1, format!("cannot find the lanyard binary: {e}")))?;
    let exe = exe.to_string_lossy().to_string();
    let mut wanted = Vec::new();
    for (a, roles) in login::all_accounts(&sso).await? {
        let id = a["accountId"].as_str().unwrap_or_default().to_string();
        let name = a["accountName"].as_str().unwrap_or_default().to_string();
        if account.as_deref().is_some_and(|x| x != id && !x.eq_ignore_ascii_case(&name)) {
            continue;
        }
        for r in roles {
            if role.as_deref().is_some_and(|x| !x.eq_ignore_ascii_case(&r)) {
                continue;
            }
            wanted.push((id.clone(), name.clone(), r));
        }
    }
    if wanted.is_empty() {
        return Err(Failure::new(6, "no matching role: `lanyard accounts` lists yours"));
    }
    if profile.is_some() && wanted.len() > 1 {
        return Err(Failure::new(2, "--profile names one profile: pick one role with --account and --role"));
    }
    let profiles: Vec<(String, Vec<(String, String)>)> = wanted
        .iter()
        .map(|(id, name, r)| {
            let process =
                [exe.as_str(), "creds", "--url", &url, "--account", id, "--role", r, "--format", "credential-process"]
                    .iter()
                    .map(|a| quote(a))
                    .collect::<Vec<_>>()
                    .join(" ");
            let mut keys = vec![("credential_process".to_string(), process)];
            if let Some(reg) = &region {
                keys.push(("region".to_string(), reg.clone()));
            }
            (profile.clone().unwrap_or_else(|| profile_name(name, r)), keys)
        })
        .collect();
    let path = aws_config_path()?;
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    write_private(&path, merge_profiles(&existing, &profiles).as_bytes())?;
    if t.json {
        let names: Vec<&String> = profiles.iter().map(|(n, _)| n).collect();
        println!("{}", json!({"config": path, "profiles": names}));
    } else {
        println!("Wrote {} profile(s) to {}:", profiles.len(), path.display());
        for (n, _) in &profiles {
            println!("  {n}    (use: aws --profile {n} sts get-caller-identity)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_merge_and_replace() {
        let existing = "[default]\nregion = eu-west-1\n\n[profile prod-ReadOnly]\ncredential_process = old\n\n[profile other]\nx = 1\n";
        let merged =
            merge_profiles(existing, &[("prod-ReadOnly".into(), vec![("credential_process".into(), "new".into())])]);
        assert!(merged.contains("[default]\nregion = eu-west-1"), "{merged}");
        assert!(merged.contains("[profile other]\nx = 1"), "{merged}");
        assert!(!merged.contains("old"), "{merged}");
        assert_eq!(merged.matches("[profile prod-ReadOnly]").count(), 1, "{merged}");
        assert!(merged.ends_with("credential_process = new\n"), "{merged}");
        assert_eq!(profile_name("Production EU", "ReadOnly"), "production-eu-ReadOnly");
        assert_eq!(quote("/usr/bin/lanyard"), "/usr/bin/lanyard");
        assert_eq!(quote("/my dir/lanyard"), "'/my dir/lanyard'");
    }
}
