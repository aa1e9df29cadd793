use crate::helpers::*;
use lanyard::config::Config;
use reqwest::StatusCode;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lanyard(config: &Config, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    cmd.args(args)
        .env_remove("LANYARD_CONFIG")
        .env("LANYARD_DATA_DIR", &config.data_dir)
        .env("LANYARD_DATABASE_URL", config.database.url.as_ref().expect("url").expose())
        .env("LANYARD_MASTER_KEY", config.master_key.as_ref().expect("key").expose())
        .current_dir(&config.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn lanyard");
    if let Some(input) = stdin {
        child.stdin.as_mut().expect("stdin").write_all(input.as_bytes()).expect("write");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_the_first_admin_once() {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("tmp"));
    let config = test_config(&dir).await;
    let out = lanyard(&config, &["bootstrap", "--admin", "alice"], None);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("One-time password: "))
        .expect("prints a one-time password")
        .trim()
        .to_string();
    let again = lanyard(&config, &["bootstrap", "--admin", "bob"], None);
    assert_eq!(again.status.code(), Some(3), "refuses a second administrator: {}", text(&again));
    assert!(text(&again).contains("--force-reset"));
    let weak =
        lanyard(&config, &["bootstrap", "--admin", "alice", "--force-reset", "--password-stdin"], Some("short\n"));
    assert!(!weak.status.success());
    assert!(text(&weak).contains("password"), "{}", text(&weak));
    let t = spawn_on(config.clone(), dir.clone(), lanyard::clock::FixedClock::new(start_time())).await;
    let c = client();
    let r = t.sign_in(&c, "alice", &password).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/profile/password", "the one-time password must be changed");
    let reset = lanyard(
        &config,
        &["bootstrap", "--admin", "alice", "--force-reset", "--password-stdin"],
        Some("a fresh admin passphrase\n"),
    );
    assert!(reset.status.success(), "{}", text(&reset));
    assert_eq!(t.sign_in(&client(), "alice", "a fresh admin passphrase").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cli_manages_users_and_groups_through_the_api() {
    let t = spawn_app().await;
    let config = t.config.clone();
    let out = lanyard(&config, &["admin", "token", "create", "automation"], None);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("lyd_at_"));
    let api = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--url", &t.base, "--token", &token]);
        lanyard(&config, &all, stdin)
    };
    let created = api(
        &["users", "create", "bob", "--email", "bob@example.com", "--password-stdin", "--json"],
        Some("a long passphrase here\n"),
    );
    assert!(created.status.success(), "{}", text(&created));
    let user: serde_json::Value = serde_json::from_slice(&created.stdout).expect("json");
    assert_eq!(user["username"], "bob");
    assert!(api(&["groups", "create", "eng", "--description", "Engineering"], None).status.success());
    let added = api(&["groups", "add-member", "eng", "bob"], None);
    assert!(added.status.success(), "{}", text(&added));
    let members = api(&["groups", "members", "eng"], None);
    let table = String::from_utf8_lossy(&members.stdout).to_string();
    assert!(table.starts_with("ID") && table.contains("bob") && table.contains("bob@example.com"), "{table}");
    let list = api(&["users", "list", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(v["items"][0]["username"], "bob");
    let missing = api(&["users", "get", "nobody"], None);
    assert_eq!(missing.status.code(), Some(6), "{}", text(&missing));
    let dup = api(&["users", "create", "BOB"], None);
    assert_eq!(dup.status.code(), Some(3), "{}", text(&dup));
    let disabled = api(&["users", "disable", "bob", "--json"], None);
    assert!(String::from_utf8_lossy(&disabled.stdout).contains("disabled"));
    let bad_token = lanyard(&config, &["admin", "users", "list", "--url", &t.base, "--token", "lyd_at_nope"], None);
    assert_eq!(bad_token.status.code(), Some(4));
    let down = lanyard(&config, &["admin", "users", "list", "--url", "http://127.0.0.1:9", "--token", &token], None);
    assert_eq!(down.status.code(), Some(5));
    assert!(text(&down).contains("cannot reach Lanyard"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_print_config_verify_audit_and_rotate_keys() {
    let t = spawn_app().await;
    t.user("ola", PASSWORD, false).await;
    let mut config = t.config.clone();
    let printed = lanyard(&config, &["config", "print"], None);
    assert!(printed.status.success(), "{}", text(&printed));
    let out = String::from_utf8_lossy(&printed.stdout).to_string();
    assert!(
        out.contains("master_key = \"<redacted>\"") && !out.contains(config.master_key.as_ref().expect("k").expose()),
        "{out}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["config", "print"])
        .env("LANYARD_PUBLIC_URL", "nonsense")
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("public_url"));
    let verify = lanyard(&config, &["audit", "verify"], None);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("intact"));
    let tail = lanyard(&config, &["audit", "tail", "-n", "5", "--json"], None);
    assert!(String::from_utf8_lossy(&tail.stdout).contains("user.create"));
    assert!(lanyard(&config, &["keys", "generate", "--alg", "RS256"], None).status.success());
    let rotated = lanyard(&config, &["keys", "rotate-master"], None);
    assert!(rotated.status.success(), "{}", text(&rotated));
    let new_key = String::from_utf8_lossy(&rotated.stdout).lines().last().expect("key").trim().to_string();
    assert_eq!(
        lanyard(&config, &["keys", "list"], None).status.code(),
        Some(1),
        "the old key no longer opens the database"
    );
    config.master_key = Some(lanyard::config::Secret::new(new_key));
    let list = lanyard(&config, &["keys", "list", "--json"], None);
    assert!(list.status.success(), "{}", text(&list));
    assert!(String::from_utf8_lossy(&list.stdout).contains("RS256"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cli_sets_up_multi_account_access_and_simulates() {
    let t = spawn_app().await;
    let config = t.config.clone();
    t.user("alice", PASSWORD, false).await;
    let out = lanyard(&config, &["admin", "token", "create", "automation"], None);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let api = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--url", &t.base, "--token", &token]);
        lanyard(&config, &all, None)
    };
    let ok = |o: Output| {
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let policy = config.data_dir.join("read.json");
    std::fs::write(&policy, r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}"#)
        .expect("write");
    let bad = config.data_dir.join("bad.json");
    std::fs::write(&bad, r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*"}]}"#)
        .expect("write");

    let created: serde_json::Value = serde_json::from_str(&ok(api(&[
        "accounts",
        "create",
        "Prod",
        "--owner-email",
        "ops@example.com",
        "--tag",
        "env=prod",
        "--json",
    ])))
    .expect("json");
    let account = created["id"].as_str().expect("id").to_string();
    assert_eq!(account.len(), 12);
    ok(api(&["org-units", "create", "Engineering"]));
    ok(api(&["accounts", "update", "Prod", "--ou", "Engineering"]));
    ok(api(&["policies", "create", "ReadS3", "--file", policy.to_str().expect("path")]));
    let refused = api(&["policies", "create", "Bad", "--file", bad.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("Statement[0]"), "{}", text(&refused));
    ok(api(&["permission-sets", "create", "ReadOnly", "--session-duration", "PT2H"]));
    ok(api(&["permission-sets", "attach", "ReadOnly", "ReadS3"]));
    ok(api(&["groups", "create", "eng"]));
    ok(api(&["groups", "add-member", "eng", "alice"]));
    ok(api(&["assignments", "create", "--account", "Prod", "--permission-set", "ReadOnly", "--group", "eng"]));
    let listed = ok(api(&["assignments", "list", "--account", &account]));
    assert!(listed.contains("ReadOnly") && listed.contains("eng"), "{listed}");
    let access: serde_json::Value =
        serde_json::from_str(&ok(api(&["assignments", "access", "alice", "--json"]))).expect("json");
    assert_eq!(access["items"][0]["roles"][0]["role_arn"], format!("arn:lanyard:iam::{account}:role/ReadOnly"));
    let shown = ok(api(&["permission-sets", "get", "ReadOnly"]));
    assert!(shown.contains("provisioned") && shown.contains("ReadS3"), "{shown}");
    let missing = api(&["permission-sets", "get", "Nope"]);
    assert_eq!(missing.status.code(), Some(6), "{}", text(&missing));
    // Trust policies: none by default, set from a file, refused when invalid, removed.
    assert!(ok(api(&["permission-sets", "trust-policy", "ReadOnly"])).contains("no trust policy"));
    let trust = t.dir.path().join("trust.json");
    std::fs::write(
        &trust,
        format!(r#"{{"Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {{"AWS": "arn:lanyard:iam::{account}:role/Admin"}}}}]}}"#),
    )
    .expect("write");
    let set = ok(api(&["permission-sets", "set-trust-policy", "ReadOnly", "--file", trust.to_str().expect("path")]));
    assert!(set.contains("sts:AssumeRole"), "{set}");
    std::fs::write(&trust, r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}"#).expect("write");
    let bad_trust = api(&["permission-sets", "set-trust-policy", "ReadOnly", "--file", trust.to_str().expect("path")]);
    assert_eq!(bad_trust.status.code(), Some(1), "{}", text(&bad_trust));
    assert!(text(&bad_trust).contains("Principal"), "{}", text(&bad_trust));
    assert!(ok(api(&["permission-sets", "set-trust-policy", "ReadOnly", "--none"])).contains("no trust policy"));

    let sim = lanyard(
        &config,
        &[
            "policy",
            "simulate",
            "--permission-set",
            "ReadOnly",
            "--action",
            "s3:GetObject",
            "--action",
            "s3:PutObject",
            "--resource",
            "arn:aws:s3:::r/x",
            "--url",
            &t.base,
            "--token",
            &token,
        ],
        None,
    );
    let table = ok(sim);
    assert!(table.contains("ALLOW") && table.contains("DENY") && table.contains("ReadS3 (Read)"), "{table}");

    let valid = lanyard(&config, &["policy", "validate", policy.to_str().expect("path")], None);
    assert!(valid.status.success(), "{}", text(&valid));
    let invalid = lanyard(&config, &["policy", "validate", bad.to_str().expect("path"), "--json"], None);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stdout).contains("\"path\":\"Statement[0]"), "{}", text(&invalid));

    // Web identity providers: add, list, narrow, remove, by issuer URL.
    let ci = "https://token.actions.githubusercontent.com";
    let added: serde_json::Value = serde_json::from_str(&ok(api(&[
        "web-identity-providers",
        "add",
        ci,
        "--audience",
        "sts.amazonaws.com",
        "--json",
    ])))
    .expect("json");
    assert_eq!(added["condition_prefix"], "token.actions.githubusercontent.com", "{added}");
    let dup = api(&["web-identity-providers", "add", ci, "--audience", "sts.amazonaws.com"]);
    assert_eq!(dup.status.code(), Some(3), "a second registration conflicts: {}", text(&dup));
    let plain = api(&["web-identity-providers", "add", "http://ci.example.com", "--audience", "x"]);
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert!(text(&plain).contains("https"), "{}", text(&plain));
    ok(api(&["web-identity-providers", "set-audiences", ci, "--audience", "a", "--audience", "b"]));
    let listed = ok(api(&["web-identity-providers", "list"]));
    assert!(listed.contains(ci) && listed.contains("a,b"), "{listed}");
    let removed = ok(api(&["web-identity-providers", "remove", ci]));
    assert!(removed.contains("0 live credentials ended"), "{removed}");
    let gone = api(&["web-identity-providers", "remove", ci]);
    assert_eq!(gone.status.code(), Some(6), "{}", text(&gone));

    // A decisions-only token for a resource service.
    let out = lanyard(&config, &["admin", "token", "create", "orders", "--scope", "authorize"], None);
    let svc = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let http = reqwest::Client::new();
    let r = http
        .post(t.url("/api/v1/authorize"))
        .bearer_auth(&svc)
        .json(&serde_json::json!({"principal": {"username": "alice", "role_arn": format!("arn:lanyard:iam::{account}:role/ReadOnly")},
                                  "action": "s3:GetObject", "resource": "arn:aws:s3:::r/x"}))
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json")["decision"], "allow");
    let denied = lanyard(&config, &["admin", "accounts", "list", "--url", &t.base, "--token", &svc], None);
    assert_eq!(denied.status.code(), Some(4), "{}", text(&denied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cli_registers_an_application_rotates_its_secret_and_the_signing_key() {
    let t = spawn_app().await;
    let config = t.config.clone();
    t.user("alice", PASSWORD, false).await;
    let out = lanyard(&config, &["admin", "token", "create", "automation"], None);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let api = |args: &[&str]| {
        let mut all = vec!["admin", "apps"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--url", &t.base, "--token", &token]);
        lanyard(&config, &all, None)
    };
    let ok = |o: Output| {
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let created: serde_json::Value = serde_json::from_str(&ok(api(&[
        "create",
        "Wiki",
        "--client-id",
        "wiki",
        "--redirect-uri",
        "https://wiki.example/cb",
        "--launch-url",
        "https://wiki.example/login",
        "--json",
    ])))
    .expect("json");
    let secret = created["client_secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("lyd_cs_") && secret.len() >= 7 + 43, "≥ 256 bits");
    ok(api(&["assign", "wiki", "--user", "alice"]));
    assert!(ok(api(&["assignments", "Wiki"])).contains("alice"));
    let rotated: serde_json::Value =
        serde_json::from_str(&ok(api(&["rotate-secret", "wiki", "--overlap", "3600", "--json"]))).expect("json");
    assert_eq!(rotated["secrets"].as_array().map(Vec::len), Some(2), "old and new work during the overlap");
    let cc = |secret: &str| {
        reqwest::Client::new()
            .post(t.url("/oauth2/introspect"))
            .basic_auth("wiki", Some(secret))
            .form(&[("token", "x")])
            .send()
    };
    assert_eq!(cc(&secret).await.expect("old").status(), StatusCode::OK);
    t.clock.advance(time::Duration::seconds(3601));
    assert_eq!(
        cc(&secret).await.expect("old").status(),
        StatusCode::UNAUTHORIZED,
        "the old secret stops after the overlap"
    );
    assert_eq!(cc(rotated["client_secret"].as_str().expect("new")).await.expect("new").status(), StatusCode::OK);
    // The launcher lists it for alice.
    let home =
        t.signed_in("alice", PASSWORD).await.get(t.url("/")).send().await.expect("home").text().await.expect("body");
    assert!(home.contains("https://wiki.example/login") && home.contains("Wiki"));
    let missing = api(&["get", "nope"]);
    assert_eq!(missing.status.code(), Some(6), "{}", text(&missing));

    let out = lanyard(&config, &["keys", "rotate", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let keys = lanyard(&config, &["keys", "list", "--json"], None);
    assert!(String::from_utf8_lossy(&keys.stdout).contains(r["key_id"].as_str().expect("kid")));
}

/// The employee's `lanyard` command, with its own home, AWS config file and no server config.
fn employee(home: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lanyard"));
    cmd.env_remove("LANYARD_CONFIG")
        .env_remove("LANYARD_URL")
        .env("HOME", home)
        .env("LANYARD_CLI_HOME", home.join("lanyard"))
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env_remove("DISPLAY")
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn run(home: &std::path::Path, args: &[&str]) -> Output {
    employee(home).args(args).output().await.expect("run lanyard")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employee_cli_logs_in_lists_roles_caches_credentials_execs_and_configures_aws() {
    use tokio::io::AsyncBufReadExt;
    let org = crate::sts::Org::on(Api::on(spawn_app_at_real_time().await).await).await;
    let t = &org.api.t;
    let dir = tempfile::tempdir().expect("home");
    let home = dir.path();

    let o = run(home, &["accounts"]).await;
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("lanyard login"), "{}", text(&o));
    let o = run(home, &["login", "--url", "http://127.0.0.1:1", "--no-browser"]).await;
    assert_eq!(o.status.code(), Some(5), "unreachable: {}", text(&o));
    assert!(text(&o).contains("cannot reach Lanyard"), "{}", text(&o));

    // `lanyard login`: the code is shown, the test approves it in the portal, the CLI polls.
    let mut child = employee(home).args(["login", "--url", &t.base, "--no-browser"]).spawn().expect("spawn login");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let code = loop {
        let line = lines.next_line().await.expect("read").expect("the code is printed");
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.trim().to_string();
        }
    };
    crate::sts::approve(t, "alice", &code).await;
    let status = loop {
        // The server's clock stands still: move it past the poll interval while the CLI waits.
        t.clock.advance(time::Duration::seconds(6));
        match tokio::time::timeout(std::time::Duration::from_secs(2), child.wait()).await {
            Ok(s) => break s.expect("wait"),
            Err(_) => continue,
        }
    };
    assert!(status.success(), "login failed");
    let login_dir = home.join("lanyard/logins");
    let file = std::fs::read_dir(&login_dir).expect("logins").next().expect("one").expect("entry").path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    let o = run(home, &["accounts", "--json"]).await;
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v[0]["account_id"], org.account.as_str());
    assert_eq!(v[0]["roles"], serde_json::json!(["ReadOnly"]));

    // Credentials, then the same ones from the cache (asked by account name this time).
    let o =
        run(home, &["creds", "--account", &org.account, "--role", "ReadOnly", "--format", "credential-process"]).await;
    assert!(o.status.success(), "{}", text(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(c["Version"], 1);
    let key = c["AccessKeyId"].as_str().expect("key").to_string();
    assert!(key.starts_with("ASIA") && c["Expiration"].as_str().is_some_and(|e| e.ends_with('Z')), "{c}");
    let o = run(home, &["creds", "--account", "production", "--role", "ReadOnly", "--format", "env"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("export AWS_ACCESS_KEY_ID={key}")), "cached");
    t.app.audit_batch.flush().await;
    let (_, log) = org.api.get("/audit?action=sts.credentials.issue").await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(1), "the second call was served from the cache: {log}");

    // `exec` puts them in the command's environment and passes its exit code on.
    let check = format!("test \"$AWS_ACCESS_KEY_ID\" = {key} && test -n \"$AWS_SESSION_TOKEN\" && exit 7");
    let o = run(home, &["exec", "--account", &org.account, "--role", "ReadOnly", "--", "sh", "-c", &check]).await;
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));

    // No such role: a clear refusal and exit code 4.
    let o = run(home, &["creds", "--account", &org.account, "--role", "Admin"]).await;
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("Admin"), "{}", text(&o));

    // `configure aws` writes a profile whose credential_process boto3 runs.
    std::fs::write(home.join("aws-config"), "[default]\nregion = eu-west-1\n").expect("config");
    let o = run(home, &["configure", "aws"]).await;
    assert!(o.status.success(), "{}", text(&o));
    let config = std::fs::read_to_string(home.join("aws-config")).expect("config");
    assert!(
        config.contains("[default]\nregion = eu-west-1") && config.contains("[profile production-ReadOnly]"),
        "{config}"
    );
    assert!(config.contains("credential_process = ") && config.contains("--format credential-process"), "{config}");
    let python = crate::interop::python_env();
    let script = "import boto3,sys; print(boto3.session.Session(profile_name='production-ReadOnly', region_name='us-east-1')\
                  .client('sts', endpoint_url=sys.argv[1]).get_caller_identity()['Arn'])";
    let o = tokio::process::Command::new(python)
        .args(["-c", script, &format!("{}/aws", t.base)])
        .env("HOME", home)
        .env("LANYARD_CLI_HOME", home.join("lanyard"))
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .output()
        .await
        .expect("python");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("arn:lanyard:sts::{}:assumed-role/ReadOnly/alice", org.account)
    );

    // `logout` ends the sign-in and forgets the cached credentials.
    let o = run(home, &["logout"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&login_dir).expect("logins").count(), 0);
    assert_eq!(std::fs::read_dir(home.join("lanyard/credentials")).expect("creds").count(), 0);
    let o = run(home, &["creds", "--account", &org.account, "--role", "ReadOnly"]).await;
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("lanyard login"), "{}", text(&o));
}
