//! `lanyard login`, `lanyard logout` and `lanyard accounts`: an employee's terminal sign-in
//! through the SSO OIDC device flow under `/aws` (the same API the AWS CLI uses), with the
//! token kept under the user's config directory (0600) and refreshed silently.

use super::{CmdResult, Failure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where to reach Lanyard: `--url`, `LANYARD_URL`, or the URL of the last login.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Lanyard's URL (default: the one you last logged in to).
    #[arg(long, env = "LANYARD_URL")]
    pub url: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

/// The CLI's own directory: `$LANYARD_CLI_HOME`, else `$XDG_CONFIG_HOME/lanyard`, else
/// `~/.config/lanyard`.
pub fn home() -> Result<PathBuf, Failure> {
    if let Some(d) = std::env::var_os("LANYARD_CLI_HOME") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("lanyard"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config").join("lanyard")),
        None => Err(Failure::new(1, "cannot find your home directory: set HOME or LANYARD_CLI_HOME")),
    }
}

/// Now, from the system clock: the CLI runs on the user's machine, and the credentials' expiry
/// is judged by the clock the SDKs use there.
pub fn unix_now() -> i64 {
    crate::clock::Clock::unix(&crate::clock::SystemClock)
}

/// Writes a file only its owner can read, atomically: a fresh temporary file beside it (mode
/// 0600 from creation), then a rename. A symlinked target (a dotfiles-managed
/// `~/.aws/config`) is written through, not replaced; directories it creates are 0700, existing
/// ones are left as they are.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let fail = |e: std::io::Error| Failure::new(1, format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let suffix = crate::crypto::random_token::<8>().map_err(|e| Failure::new(1, e.to_string()))?;
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(".{suffix}.tmp"));
    let tmp = PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = opts.open(&tmp).map_err(fail)?;
        f.write_all(contents).and_then(|()| f.sync_all()).map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// A login as cached on disk: the SDK registration and the SSO tokens for one Lanyard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    pub registration_expires_at: i64,
    pub access_token: String,
    pub expires_at: i64,
    pub refresh_token: Option<String>,
}

/// The file holding the login for `url`.
fn login_path(url: &str) -> Result<PathBuf, Failure> {
    let key = &crate::crypto::sha256_hex(url.as_bytes())[..16];
    Ok(home()?.join("logins").join(format!("{key}.json")))
}

fn default_url_path() -> Result<PathBuf, Failure> {
    Ok(home()?.join("default-url"))
}

/// The Lanyard to talk to, without a trailing slash.
pub fn resolve_url(t: &Target) -> Result<String, Failure> {
    let url = match &t.url {
        Some(u) => u.clone(),
        None => std::fs::read_to_string(default_url_path()?)
            .map(|s| s.trim().to_string())
            .map_err(|_| Failure::new(4, "you are not logged in: run `lanyard login --url https://<your lanyard>`"))?,
    };
    let parsed = url::Url::parse(&url)
        .map_err(|_| Failure::new(2, format!("{url:?} is not a URL: give it as https://lanyard.example.com")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Failure::new(2, "the URL must start with https:// (or http:// for a local test server)"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// An HTTP client for the AWS-compatible API of one Lanyard.
pub struct Sso {
    pub url: String,
    http: reqwest::Client,
}

/// A refusal from the API: the status, the AWS error type and its message.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

impl Sso {
    pub fn new(url: &str) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("lanyard-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::new(1, e.to_string()))?;
        Ok(Self { url: url.to_string(), http })
    }

    fn unreachable(&self, e: reqwest::Error) -> Failure {
        Failure::new(5, format!("cannot reach Lanyard at {}: {e} (check the URL and your network)", self.url))
    }

    async fn finish(&self, r: reqwest::Response) -> Result<Result<Value, Refused>, Failure> {
        let status = r.status();
        let kind = r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = r.text().await.map_err(|e| self.unreachable(e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(body));
        }
        let message = body
            .get("message")
            .or_else(|| body.get("error_description"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Ok(Err(Refused { status: status.as_u16(), kind, message }))
    }

    /// POSTs JSON to an SSO OIDC path.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Result<Value, Refused>, Failure> {
        let r = self
            .http
            .post(format!("{}/aws{path}", self.url))
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.finish(r).await
    }

    /// GETs an SSO portal path with the bearer token.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: &str,
    ) -> Result<Result<Value, Refused>, Failure> {
        let r = self
            .http
            .get(format!("{}/aws{path}", self.url))
            .query(query)
            .header(crate::sts::sso_portal::BEARER_HEADER, token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.finish(r).await
    }
}

fn refused(r: Refused) -> Failure {
    let code = match r.status {
        401 | 403 => 4,
        404 => 6,
        _ => 1,
    };
    Failure::new(code, r.message)
}

fn field(v: &Value, k: &str) -> Result<String, Failure> {
    v.get(k)
        .and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string())))
        .ok_or_else(|| Failure::new(1, format!("the server's answer has no {k}: is this a Lanyard?")))
}

/// `lanyard login`.
pub async fn login(t: Target, no_browser: bool) -> CmdResult {
    let url = resolve_url(&t)?;
    let sso = Sso::new(&url)?;
    let now = unix_now();
    // Reuse the registration while it lasts, as the AWS CLI does.
    let previous = load(&url).ok().filter(|l| l.registration_expires_at > now + 3600);
    let (client_id, client_secret, registration_expires_at) = match previous {
        Some(l) => (l.client_id, l.client_secret, l.registration_expires_at),
        None => {
            let reg = sso
                .post("/client/register", &json!({"clientName": "lanyard-cli", "clientType": "public"}))
                .await?
                .map_err(refused)?;
            let exp = reg.get("clientSecretExpiresAt").and_then(Value::as_i64).unwrap_or(now + 86_400);
            (field(&reg, "clientId")?, field(&reg, "clientSecret")?, exp)
        }
    };
    let creds = json!({"clientId": client_id, "clientSecret": client_secret});
    let mut start = creds.clone();
    start["startUrl"] = json!(format!("{url}/"));
    let dev = sso.post("/device_authorization", &start).await?.map_err(refused)?;
    let code = field(&dev, "userCode")?;
    let complete = field(&dev, "verificationUriComplete")?;
    eprintln!("To sign in, open {} and enter the code {code}", field(&dev, "verificationUri")?);
    eprintln!("(or open {complete} directly)");
    if !no_browser && open_browser(&complete) {
        eprintln!("A browser window should have opened.");
    }
    let mut interval = dev.get("interval").and_then(Value::as_u64).unwrap_or(5).clamp(1, 60);
    let deadline = now + dev.get("expiresIn").and_then(Value::as_i64).unwrap_or(600);
    let mut poll = creds.clone();
    poll["grantType"] = json!(crate::oidc::model::GRANT_DEVICE);
    poll["deviceCode"] = dev["deviceCode"].clone();
    let tokens = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        match sso.post("/token", &poll).await? {
            Ok(v) => break v,
            Err(r) if r.kind == "AuthorizationPendingException" => {}
            Err(r) if r.kind == "SlowDownException" => interval += 5,
            Err(r) if r.kind == "ExpiredTokenException" => {
                return Err(Failure::new(4, "the code expired before it was approved: run `lanyard login` again"));
            }
            Err(r) if r.kind == "AccessDeniedException" => {
                return Err(Failure::new(4, "the sign-in was denied in the browser"));
            }
            Err(r) => return Err(refused(r)),
        }
        if unix_now() > deadline {
            return Err(Failure::new(4, "the code expired before it was approved: run `lanyard login` again"));
        }
    };
    let l = Login {
        url: url.clone(),
        client_id,
        client_secret,
        registration_expires_at,
        access_token: field(&tokens, "accessToken")?,
        expires_at: unix_now() + tokens.get("expiresIn").and_then(Value::as_i64).unwrap_or(3600),
        refresh_token: tokens.get("refreshToken").and_then(Value::as_str).map(str::to_string),
    };
    save(&l)?;
    write_private(&default_url_path()?, url.as_bytes())?;
    if t.json {
        println!("{}", json!({"url": url, "expires_at": l.expires_at}));
    } else {
        println!("Logged in to {url}. `lanyard accounts` lists your roles.");
    }
    Ok(())
}

fn open_browser(url: &str) -> bool {
    let has_display = std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if has_display {
        "xdg-open"
    } else {
        return false;
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

fn load(url: &str) -> Result<Login, Failure> {
    let text = std::fs::read_to_string(login_path(url)?)
        .map_err(|_| Failure::new(4, format!("you are not logged in to {url}: run `lanyard login --url {url}`")))?;
    serde_json::from_str(&text).map_err(|_| Failure::new(4, "your saved login is unreadable: run `lanyard login`"))
}

fn save(l: &Login) -> Result<(), Failure> {
    let text = serde_json::to_vec_pretty(l).map_err(|e| Failure::new(1, e.to_string()))?;
    write_private(&login_path(&l.url)?, &text)
}

/// A usable access token for `url`, refreshed (and saved) when it has less than a minute left.
/// SDKs run `credential_process` several times at once: the refresh happens under a file lock,
/// and the login is read again once it is held, so a refresh token is spent once (spending it
/// twice would look like theft and end the sign-in).
pub async fn access_token(sso: &Sso) -> Result<String, Failure> {
    let l = load(&sso.url)?;
    if l.expires_at > unix_now() + 60 {
        return Ok(l.access_token);
    }
    let lock_path = login_path(&sso.url)?.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Failure::new(1, format!("cannot open {}: {e}", lock_path.display())))?;
    let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .map_err(|e| Failure::new(1, e.to_string()))?
        .map_err(|e| Failure::new(1, format!("cannot lock {}: {e}", lock_path.display())))?;
    let result = refresh_locked(sso).await;
    drop(lock);
    result
}

async fn refresh_locked(sso: &Sso) -> Result<String, Failure> {
    let mut l = load(&sso.url)?;
    if l.expires_at > unix_now() + 60 {
        // Another process refreshed while this one waited.
        return Ok(l.access_token);
    }
    let expired = || Failure::new(4, format!("your login to {} has expired: run `lanyard login`", sso.url));
    let Some(rt) = l.refresh_token.clone() else { return Err(expired()) };
    let body = json!({"clientId": l.client_id, "clientSecret": l.client_secret, "grantType": "refresh_token", "refreshToken": rt});
    match sso.post("/token", &body).await? {
        Ok(v) => {
            l.access_token = field(&v, "accessToken")?;
            l.expires_at = unix_now() + v.get("expiresIn").and_then(Value::as_i64).unwrap_or(3600);
            l.refresh_token = v.get("refreshToken").and_then(Value::as_str).map(str::to_string);
            save(&l)?;
            Ok(l.access_token)
        }
        Err(r) if r.status < 500 => Err(expired()),
        Err(r) => Err(refused(r)),
    }
}

/// Calls the SSO portal API, mapping an expired session to "run `lanyard login`".
pub async fn portal_get(sso: &Sso, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
    let token = access_token(sso).await?;
    match sso.get(path, query, &token).await? {
        Ok(v) => Ok(v),
        Err(r) if r.kind == "UnauthorizedException" => {
            Err(Failure::new(4, format!("your login to {} has ended: run `lanyard login`", sso.url)))
        }
        Err(r) => Err(refused(r)),
    }
}

/// `lanyard logout`: ends the sign-in on the server and forgets it, and its cached credentials.
pub async fn logout(t: Target) -> CmdResult {
    let url = resolve_url(&t)?;
    let sso = Sso::new(&url)?;
    if let Ok(l) = load(&url) {
        // Best effort: a token that already expired has nothing left to end.
        let _ = sso
            .http
            .post(format!("{url}/aws/logout"))
            .header(crate::sts::sso_portal::BEARER_HEADER, &l.access_token)
            .send()
            .await;
    }
    let _ = std::fs::remove_file(login_path(&url)?);
    super::creds::forget(&url)?;
    if t.json {
        println!("{}", json!({"url": url, "logged_out": true}));
    } else {
        println!("Logged out of {url}.");
    }
    Ok(())
}

/// Every account the user can use, with its roles.
pub async fn all_accounts(sso: &Sso) -> Result<Vec<(Value, Vec<String>)>, Failure> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q = vec![("max_result", "100")];
        if let Some(n) = &next {
            q.push(("next_token", n.as_str()));
        }
        let page = portal_get(sso, "/assignment/accounts", &q).await?;
        for a in page["accountList"].as_array().cloned().unwrap_or_default() {
            let id = field(&a, "accountId")?;
            let roles = portal_get(sso, "/assignment/roles", &[("account_id", &id), ("max_result", "100")]).await?;
            let names = roles["roleList"]
                .as_array()
                .map(|r| r.iter().filter_map(|x| x["roleName"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            out.push((a, names));
        }
        match page.get("nextToken").and_then(Value::as_str) {
            Some(n) if out.len() < 10_000 => next = Some(n.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// `lanyard accounts`.
pub async fn accounts(t: Target) -> CmdResult {
    let url = resolve_url(&t)?;
    let sso = Sso::new(&url)?;
    let list = all_accounts(&sso).await?;
    if t.json {
        let v: Vec<Value> = list
            .iter()
            .map(|(a, roles)| json!({"account_id": a["accountId"], "account_name": a["accountName"], "email": a["emailAddress"], "roles": roles}))
            .collect();
        println!("{}", Value::Array(v));
        return Ok(());
    }
    if list.is_empty() {
        println!("You have no accounts yet: ask an administrator for an assignment.");
        return Ok(());
    }
    println!("{:<14} {:<30} ROLES", "ACCOUNT", "NAME");
    for (a, roles) in &list {
        println!(
            "{:<14} {:<30} {}",
            a["accountId"].as_str().unwrap_or(""),
            a["accountName"].as_str().unwrap_or(""),
            roles.join(", ")
        );
    }
    Ok(())
}
