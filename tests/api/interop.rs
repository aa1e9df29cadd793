//! Interop with client libraries outside Rust, installed by the test itself into a virtualenv
//! under the target directory (created once, reused): Python's authlib as an OIDC relying party,
//! and boto3 against the AWS-compatible API.

use crate::helpers::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

/// A virtualenv with authlib, requests and boto3; created (from PyPI) on first use.
pub fn python_env() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    let venv = target.join("interop-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(".deps-2");
    if !marker.exists() {
        let _ = std::fs::create_dir_all(&target);
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 -m venv").success();
        assert!(ok, "could not create a virtualenv (install python3-venv)");
        let ok = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "authlib==1.6.*",
                "requests==2.*",
                "boto3==1.*",
            ])
            .status()
            .expect("pip")
            .success();
        assert!(ok, "pip could not install authlib, requests and boto3 from PyPI");
        std::fs::write(&marker, "").expect("marker");
    }
    python
}

/// Runs `tests/interop/<script>` in the virtualenv with `env`; returns the one JSON line it
/// prints, failing the test with its output when it fails.
async fn run_script(script: &str, env: &[(&str, &str)]) -> Value {
    let path = format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(python_env())
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run the interop script");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.trim_ascii()).expect("one JSON line")
}

#[tokio::test]
async fn python_authlib_completes_discovery_code_pkce_refresh_and_userinfo() {
    let s = crate::oidc::setup(json!({"name": "Python app", "redirect_uris": ["http://127.0.0.1/cb"],
                                      "grant_types": ["authorization_code", "refresh_token"]}))
    .await;
    let t = &s.api.t;
    let issuer = t.config.public_url().as_str().trim_end_matches('/').to_string();
    let now = lanyard::clock::Clock::unix(&t.clock).to_string();
    let v = run_script(
        "oidc_authlib.py",
        &[
            ("LANYARD_ISSUER", &issuer),
            ("LANYARD_BASE", &t.base),
            ("CLIENT_ID", &s.client_id),
            ("CLIENT_SECRET", s.secret.as_deref().expect("secret")),
            ("USERNAME", "olga"),
            ("PASSWORD", PASSWORD),
            ("NOW", &now),
            ("REDIRECT_URI", "http://127.0.0.1/cb"),
            ("AUTHLIB_INSECURE_TRANSPORT", "1"),
        ],
    )
    .await;
    assert_eq!(v["sub"], s.user.id.to_string());
    assert_eq!(v["alg"], "ES256");
    assert_eq!(v["amr"], json!(["pwd"]));
    assert_eq!(v["preferred_username"], "olga");
    assert_eq!(v["email"], "olga@example.com");
    assert_eq!(v["refreshed"], true);
}

#[tokio::test]
async fn boto3_signs_in_with_sso_oidc_gets_role_credentials_and_calls_sts() {
    // boto3 signs with the machine's clock: the server's clock starts there too.
    let org = crate::sts::Org::on(Api::on(spawn_app_at_real_time().await).await).await;
    let t = &org.api.t;
    let work = tempfile::tempdir().expect("work dir");
    let issuer = t.config.public_url().as_str().trim_end_matches('/').to_string();
    let v = run_script(
        "aws_boto3.py",
        &[
            ("LANYARD_ISSUER", &issuer),
            ("LANYARD_BASE", &t.base),
            ("USERNAME", "alice"),
            ("PASSWORD", PASSWORD),
            ("ACCOUNT_ID", &org.account),
            ("ROLE", "ReadOnly"),
            ("WORK", work.path().to_str().expect("utf-8 path")),
        ],
    )
    .await;
    let arn = format!("arn:lanyard:sts::{}:assumed-role/ReadOnly/alice", org.account);
    assert_eq!(v["pending"], "AuthorizationPendingException");
    assert_eq!(v["refresh_rotated"], true);
    assert_eq!(v["accounts"], json!([org.account]));
    assert_eq!(v["roles"], json!(["ReadOnly"]));
    assert_eq!(v["key_prefix"], "ASIA");
    assert_eq!(v["arn"], arn);
    assert_eq!(v["account"], org.account);
    assert!(v["user_id"].as_str().is_some_and(|u| u.starts_with("AROA") && u.ends_with(":alice")), "{v}");
    assert_eq!(v["presigned"], 200, "{v}");
    assert_eq!(v["presigned_arn"], arn);
    assert_eq!(v["bad_secret"], "SignatureDoesNotMatch");
    assert_eq!(v["profile_arn"], arn, "the SDK's own SSO credential provider");
    // A resource service forwards the presigned URL to the decision API: the signer is decided for.
    let (st, d) = org
        .api
        .post(
            "/authorize",
            json!({"principal": {"presigned_url": v["presigned_url"]}, "action": "s3:GetObject", "resource": "*"}),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{d}");
    assert_eq!(d["principal_arn"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    assert_eq!(d["decision"], "deny", "ReadOnly has no policy yet: implicit deny, for the right principal");
    let (st, e) = org
        .api
        .post(
            "/authorize",
            json!({"principal": {"presigned_url": v["presigned_url_long"]}, "action": "s3:GetObject", "resource": "*"}),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "an hour-long proof is refused: {e}");
}

#[tokio::test]
async fn boto3_assumes_a_role_with_a_ci_token_file_from_a_trusted_issuer() {
    use crate::web_identity::{AUD, Issuer, SUB, Trusted, trusted};
    let org = crate::sts::Org::on(Api::on(spawn_app_at_real_time().await).await).await;
    let t = &org.api.t;
    let issuer = Issuer::start().await;
    let Trusted { role, staging, .. } = trusted(&org, &issuer).await;
    let work = tempfile::tempdir().expect("work dir");
    let token = issuer.token(t, json!({}));
    let v = run_script(
        "aws_web_identity.py",
        &[
            ("LANYARD_BASE", &t.base),
            ("ROLE_ARN", &role),
            ("TOKEN", &token),
            ("WORK", work.path().to_str().expect("utf-8 path")),
        ],
    )
    .await;
    assert_eq!(v["method"], "assume-role-with-web-identity", "the SDK's own provider: {v}");
    assert_eq!(v["arn"], format!("arn:lanyard:sts::{staging}:assumed-role/Deployer/ci-run"), "{v}");
    assert_eq!(v["key_prefix"], "ASIA");
    assert_eq!(v["subject"], SUB);
    assert_eq!(v["provider"], issuer.url);
    assert_eq!(v["audience"], AUD);
    assert_eq!(v["direct_arn"], format!("arn:lanyard:sts::{staging}:assumed-role/Deployer/direct"));
    assert_eq!(v["tampered"], "InvalidIdentityToken", "{v}");
}
