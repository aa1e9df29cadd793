//! End to end in a real browser: headless Chromium through chromedriver (the W3C WebDriver
//! protocol, spoken directly over HTTP), with the WebAuthn spec's virtual authenticator.
//! `.ci/run` installs Debian's `chromium` and `chromium-driver` when they are missing. On
//! failure, a screenshot of every page visited is saved under target/tmp/browser-screens/.

use crate::helpers::*;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    shots: Vec<(String, String)>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Result<Browser> {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or_else(|| {
                anyhow!("chromedriver is not installed: apt-get install chromium chromium-driver (.ci/run does this)")
            })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chromedriver")?;
        let profile = tempfile::tempdir()?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>().await.map(|v| v["value"]["ready"] == true).unwrap_or(false)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut browser = Browser { driver, base, session: String::new(), http, shots: Vec::new(), _profile: profile };
        if !ready {
            bail!("chromedriver did not become ready");
        }
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "webauthn:virtualAuthenticators": true,
        }}});
        let v = browser.call(reqwest::Method::POST, "/session", Some(caps)).await?;
        browser.session = v["sessionId"].as_str().ok_or_else(|| anyhow!("no session id: {v}"))?.to_string();
        Ok(browser)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await?.json().await?;
        if v["value"].get("error").is_some() {
            bail!("webdriver {path}: {}", v["value"]);
        }
        Ok(v["value"].clone())
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        self.call(method, &format!("/session/{}{path}", self.session), body).await
    }

    /// Adds a platform authenticator with resident keys and user verification.
    async fn add_authenticator(&self) -> Result<()> {
        self.cmd(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            Some(json!({"protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true})),
        )
        .await?;
        Ok(())
    }

    async fn goto(&mut self, url: &str) -> Result<()> {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await?;
        self.snap(url).await;
        Ok(())
    }

    async fn find(&self, css: &str) -> Result<String> {
        let mut last = String::new();
        for _ in 0..50 {
            match self
                .cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
                .await
            {
                Ok(v) => match v[ELEMENT].as_str() {
                    Some(id) => return Ok(id.to_string()),
                    None => last = v.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no element {css} on {}: {last}", self.url().await.unwrap_or_default())
    }

    async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await?;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await?;
        Ok(())
    }

    async fn click(&mut self, css: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.snap(css).await;
        Ok(())
    }

    async fn url(&self) -> Result<String> {
        Ok(self.cmd(reqwest::Method::GET, "/url", None).await?.as_str().unwrap_or_default().to_string())
    }

    async fn source(&self) -> Result<String> {
        Ok(self.cmd(reqwest::Method::GET, "/source", None).await?.as_str().unwrap_or_default().to_string())
    }

    async fn text(&self, css: &str) -> Result<String> {
        let id = self.find(css).await?;
        Ok(self
            .cmd(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Waits until the path of the current URL satisfies `want`.
    async fn wait_path(&mut self, want: impl Fn(&str) -> bool) -> Result<String> {
        for _ in 0..100 {
            let u = self.url().await?;
            let path = url::Url::parse(&u).map(|u| u.path().to_string()).unwrap_or_default();
            if want(&path) {
                self.snap(&path).await;
                return Ok(path);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("still on {} after waiting", self.url().await.unwrap_or_default())
    }

    async fn snap(&mut self, label: &str) {
        if let Ok(v) = self.cmd(reqwest::Method::GET, "/screenshot", None).await
            && let Some(png) = v.as_str()
        {
            self.shots.push((label.to_string(), png.to_string()));
        }
    }

    /// Writes every screenshot taken so far (called when a flow fails).
    fn save_shots(&self, test: &str) -> std::path::PathBuf {
        use base64::Engine;
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screens").join(test);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        for (i, (label, png)) in self.shots.iter().enumerate() {
            let name: String =
                label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(60).collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(png) {
                let _ = std::fs::write(dir.join(format!("{i:02}-{name}.png")), bytes);
            }
        }
        dir
    }

    async fn quit(&self) {
        let _ = self.call(reqwest::Method::DELETE, &format!("/session/{}", self.session), None).await;
    }
}

async fn run(test: &str, flow: impl AsyncFnOnce(&mut Browser) -> Result<()>) {
    let mut b = Browser::start().await.expect("start the browser");
    let result = flow(&mut b).await;
    if let Err(e) = result {
        b.snap("failure").await;
        let dir = b.save_shots(test);
        b.quit().await;
        panic!("{e:#}\nscreenshots: {}", dir.display());
    }
    b.quit().await;
}

async fn sign_in_with_password(b: &mut Browser, t: &TestApp, user: &str) -> Result<()> {
    b.goto(&format!("{}/signin", t.config.public_base())).await?;
    b.type_into("#username", user).await?;
    b.type_into("#password", PASSWORD).await?;
    b.click("main form button[type=submit]").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_enrolment_then_passwordless_sign_in() {
    let t = spawn_app().await;
    t.user("paula", PASSWORD, false).await;
    run("passkey", async |b: &mut Browser| {
        b.add_authenticator().await?;
        sign_in_with_password(b, &t, "paula").await?;
        b.wait_path(|p| p == "/").await?;
        b.goto(&format!("{}/profile/mfa", t.config.public_base())).await?;
        b.type_into("#key-name", "This laptop").await?;
        b.click("#add-passkey").await?;
        b.wait_path(|p| p == "/profile/mfa/recovery-codes").await?;
        let codes = b.source().await?;
        if codes.matches("<li><code>").count() != 10 {
            bail!("expected ten recovery codes");
        }
        b.goto(&format!("{}/profile/mfa", t.config.public_base())).await?;
        if !b.source().await?.contains("This laptop") {
            bail!("the passkey is not listed");
        }
        b.click("form.signout button").await?;
        // Signed out, the sign-in page asks for a passkey through autofill (conditional UI), which
        // the virtual authenticator answers at once; if it has not, press the passkey button.
        let mut path = b.wait_path(|p| p == "/signin" || p == "/").await?;
        if path == "/signin" {
            path = match b.wait_path(|p| p == "/").await {
                Ok(p) => p,
                Err(_) => {
                    b.click("#passkey-signin").await?;
                    b.wait_path(|p| p == "/").await?
                }
            };
        }
        if path != "/" || !b.source().await?.contains("Welcome, paula Example") {
            bail!("not signed in with the passkey");
        }
        Ok(())
    })
    .await;
    let events = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("signin.success".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert!(events.iter().any(|e| e.details.contains("\"passwordless\":true")), "a passwordless sign-in was audited");
    let outs = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("signout".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert_eq!(outs.len(), 1, "the user really signed out before the passkey sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_from_the_qr_page_then_two_step_sign_in() {
    let t = spawn_app().await;
    t.user("tom", PASSWORD, false).await;
    let clock = t.clock.clone();
    run("totp", async |b: &mut Browser| {
        sign_in_with_password(b, &t, "tom").await?;
        b.wait_path(|p| p == "/").await?;
        b.goto(&format!("{}/profile/mfa", t.config.public_base())).await?;
        b.click("form[action='/profile/mfa/totp'] button").await?;
        b.wait_path(|p| p.starts_with("/profile/mfa/totp/")).await?;
        if !b.source().await?.contains("<svg") {
            bail!("no QR code on the enrolment page");
        }
        let secret: String = b.text("#totp-secret").await?.chars().filter(|c| !c.is_whitespace()).collect();
        let code = |offset: i64| -> Result<String> {
            let s = totp_rs::Secret::try_from_base32(&secret).map_err(|e| anyhow!("{e:?}"))?;
            let totp = totp_rs::Builder::new().with_secret(s).build().map_err(|e| anyhow!("{e:?}"))?;
            Ok(totp.generate(u64::try_from(lanyard::clock::Clock::unix(&clock) + offset)?).to_string())
        };
        b.type_into("#code", &code(0)?).await?;
        b.click("main form button[type=submit]").await?;
        if !b.source().await?.contains("Your recovery codes") {
            bail!("no recovery codes after confirming");
        }
        b.click("form.signout button").await?;
        b.wait_path(|p| p == "/signin").await?;
        sign_in_with_password(b, &t, "tom").await?;
        b.wait_path(|p| p == "/signin/mfa").await?;
        clock.advance(time::Duration::seconds(30));
        b.type_into("#code", &code(0)?).await?;
        b.click("main form button[type=submit]").await?;
        b.wait_path(|p| p == "/").await?;
        if !b.source().await?.contains("Welcome, tom Example") {
            bail!("not signed in after the code");
        }
        Ok(())
    })
    .await;
}
