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
