//! Role trust policies: who may become a role with STS (AssumeRole, AssumeRoleWithWebIdentity).
//! A trust policy is IAM's resource-policy grammar with a `Principal` and no `Resource`:
//!
//! ```json
//! {"Version": "2012-10-17", "Statement": [
//!   {"Effect": "Allow", "Principal": {"AWS": "arn:lanyard:iam::123456789012:role/Admin"}, "Action": "sts:AssumeRole"},
//!   {"Effect": "Allow", "Principal": {"Federated": "https://lanyard.example.com"},
//!    "Action": "sts:AssumeRoleWithWebIdentity",
//!    "Condition": {"StringEquals": {"lanyard.example.com:aud": "app-ci"}}}]}
//! ```
//!
//! Each statement's `Principal` is matched here; its effect, action and conditions are the
//! identity-policy grammar's, parsed and evaluated by [`super::parse`] and [`super::eval`].
//! Explicit deny wins, then allow; nothing matching is a deny.

use super::eval::{Context, Decision, NamedPolicy, Request};
use super::parse::{MAX_BYTES, MAX_STATEMENTS, PolicyError};
use serde_json::{Map, Value, json};

/// Who asks to assume a role.
#[derive(Debug, Clone)]
pub enum Principal<'a> {
    /// A role session: the role's ARN (`arn:lanyard:iam::<account>:role/<name>`) and its account.
    Role { arn: &'a str, account: &'a str },
    /// The issuer of a web identity token (its `iss`).
    Federated { issuer: &'a str },
}

#[derive(Debug, Clone)]
enum Principals {
    Any,
    List { aws: Vec<String>, federated: Vec<String> },
}

#[derive(Debug, Clone)]
struct TrustStatement {
    principals: Principals,
    /// A Deny statement: `"*"` then covers token issuers too.
    deny: bool,
    /// The statement without its principal, as an identity policy over `Resource: *`.
    policy: NamedPolicy,
}

/// A parsed trust policy.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    statements: Vec<TrustStatement>,
}

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError { path: path.to_string(), reason: reason.into() })
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() && a.len() <= 100 => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<_, _>>()
            .or_else(|_| err(path, "must be a string or a list of strings")),
        _ => err(path, "must be a string or a non-empty list of at most 100 strings"),
    }
}

/// Parses and validates a trust policy.
pub fn parse(text: &str) -> Result<TrustPolicy, PolicyError> {
    if text.len() > MAX_BYTES {
        return err("$", format!("the document is larger than {MAX_BYTES} bytes"));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| PolicyError { path: "$".into(), reason: format!("not valid JSON: {e}") })?;
    let Some(obj) = v.as_object() else { return err("$", "a trust policy is a JSON object") };
    for k in obj.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            return err(&format!("$.{k}"), "unknown key (expected Version, Id, Statement)");
        }
    }
    let version = obj.get("Version").cloned().unwrap_or(json!("2012-10-17"));
    let list = match obj.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => return err("Statement", "a trust policy needs at least one statement"),
    };
    if list.is_empty() || list.len() > MAX_STATEMENTS {
        return err("Statement", format!("1–{MAX_STATEMENTS} statements"));
    }
    let mut statements = Vec::new();
    for (i, st) in list.iter().enumerate() {
        let path = format!("Statement[{i}]");
        let Some(st) = st.as_object() else { return err(&path, "a statement is a JSON object") };
        if st.contains_key("Resource") || st.contains_key("NotResource") {
            return err(
                &format!("{path}.Resource"),
                "a trust policy's resource is the role itself: leave Resource out",
            );
        }
        if st.contains_key("NotPrincipal") {
            return err(&format!("{path}.NotPrincipal"), "NotPrincipal is not supported: name the principals");
        }
        let principals = match st.get("Principal") {
            Some(Value::String(s)) if s == "*" => Principals::Any,
            Some(Value::Object(p)) => {
                let (mut aws, mut federated) = (Vec::new(), Vec::new());
                for (k, v) in p {
                    let at = format!("{path}.Principal.{k}");
                    match k.as_str() {
                        "AWS" => aws = strings(v, &at)?,
                        "Federated" => federated = strings(v, &at)?,
                        _ => {
                            return err(
                                &at,
                                "principals are AWS (role ARNs, account roots) or Federated (token issuers)",
                            );
                        }
                    }
                }
                for a in &aws {
                    if a != "*" && !a.starts_with("arn:lanyard:iam::") && !a.starts_with("arn:lanyard:sts::") {
                        return err(
                            &format!("{path}.Principal.AWS"),
                            format!("{a:?} is not an arn:lanyard:iam:: role or account ARN"),
                        );
                    }
                }
                for f in &federated {
                    if !(f.starts_with("https://") || f.starts_with("http://")) {
                        return err(
                            &format!("{path}.Principal.Federated"),
                            "a federated principal is the issuer URL of its tokens",
                        );
                    }
                }
                Principals::List { aws, federated }
            }
            _ => {
                return err(
                    &format!("{path}.Principal"),
                    "every statement names a Principal ({\"AWS\": …}, {\"Federated\": …} or \"*\")",
                );
            }
        };
        // As AWS asks of an OIDC provider's client ids: a federated statement names the
        // audience of each issuer it trusts, or any app's tokens would do. (`"*"` never matches
        // a token issuer: issuers are trusted by name.)
        let actions = st.get("Action").map(|a| strings(a, &format!("{path}.Action"))).transpose()?.unwrap_or_default();
        let web = actions.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "*" || a == "sts:*" || a == "sts:assumerolewithwebidentity"
        });
        let deny = st.get("Effect").and_then(Value::as_str) == Some("Deny");
        if let Principals::List { federated, .. } = &principals
            && web
            && !deny
            && let Some(issuer) = federated.iter().find(|f| !names_audience(st.get("Condition"), f))
        {
            let prefix = condition_prefix(issuer);
            return err(
                &format!("{path}.Condition"),
                format!(
                    "a statement letting tokens assume the role must require their audience: StringEquals on \"{prefix}:aud\""
                ),
            );
        }
        let mut rest: Map<String, Value> = st.clone();
        rest.remove("Principal");
        rest.insert("Resource".into(), json!("*"));
        let doc = json!({"Version": version, "Statement": [Value::Object(rest)]});
        let policy = super::parse::from_value(&doc)
            .map_err(|e| PolicyError { path: e.path.replacen("Statement[0]", &path, 1), reason: e.reason })?;
        let name = st.get("Sid").and_then(Value::as_str).map_or_else(|| format!("trust statement {i}"), str::to_string);
        statements.push(TrustStatement { principals, deny, policy: NamedPolicy { name, policy } });
    }
    Ok(TrustPolicy { statements })
}

/// `https://id.example.com/path/` → `id.example.com/path`: the prefix of an issuer's claims in
/// condition keys (`id.example.com/path:aud`), as in IAM.
pub fn condition_prefix(issuer: &str) -> &str {
    let s = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    s.trim_end_matches('/')
}

/// Whether a condition block pins `issuer`'s audience (`<prefix>:aud` under a String equality
/// or pattern operator that needs the key present: not negated, not `ForAllValues:`, which
/// holds when the token has no audience at all).
fn names_audience(cond: Option<&Value>, issuer: &str) -> bool {
    let Some(Value::Object(ops)) = cond else { return false };
    let key = format!("{}:aud", condition_prefix(issuer)).to_ascii_lowercase();
    ops.iter().any(|(op, keys)| {
        let op = op.strip_prefix("ForAnyValue:").unwrap_or(op);
        matches!(op, "StringEquals" | "StringEqualsIgnoreCase" | "StringLike")
            && keys.as_object().is_some_and(|k| k.keys().any(|k| k.to_ascii_lowercase() == key))
    })
}

/// Whether a statement's principal covers `who`. An Allow with `"*"` covers every role but no
/// token issuer (issuers are trusted by name, each with its audience pinned); a Deny with `"*"`
/// covers everyone.
fn principal_matches(s: &TrustStatement, who: &Principal<'_>) -> bool {
    let Principals::List { aws, federated } = &s.principals else {
        return s.deny || matches!(who, Principal::Role { .. });
    };
    match who {
        Principal::Role { arn, account } => {
            let root = format!("arn:lanyard:iam::{account}:root");
            aws.iter().any(|a| a == "*" || a == arn || *a == root || a == account)
        }
        Principal::Federated { issuer } => {
            federated.iter().any(|f| f.trim_end_matches('/') == issuer.trim_end_matches('/'))
        }
    }
}

impl TrustPolicy {
    /// Whether `who` may do `action` (`sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`) given
    /// the request's condition keys.
    pub fn allows(&self, who: &Principal<'_>, action: &str, context: &Context) -> bool {
        let applicable: Vec<NamedPolicy> =
            self.statements.iter().filter(|s| principal_matches(s, who)).map(|s| s.policy.clone()).collect();
        let req = Request { action, resource: "*", context };
        super::eval::evaluate(&applicable, None, &req).decision == Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Version": "2012-10-17", "Statement": [
      {"Sid": "Chain", "Effect": "Allow", "Principal": {"AWS": "arn:lanyard:iam::111111111111:role/Admin"}, "Action": "sts:AssumeRole"},
      {"Effect": "Allow", "Principal": {"Federated": "https://id.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
       "Condition": {"StringEquals": {"id.example.com:aud": "ci"}, "StringLike": {"id.example.com:sub": "repo:acme/*"}}},
      {"Effect": "Deny", "Principal": {"AWS": "arn:lanyard:iam::111111111111:role/Admin"}, "Action": "sts:AssumeRole",
       "Condition": {"Bool": {"lanyard:MultiFactorAuthPresent": "false"}}}]}"#;

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.set(k, vec![v.to_string()]);
        }
        c
    }

    #[test]
    fn principals_actions_and_conditions_decide() {
        let t = parse(DOC).expect("parses");
        let admin = Principal::Role { arn: "arn:lanyard:iam::111111111111:role/Admin", account: "111111111111" };
        let other = Principal::Role { arn: "arn:lanyard:iam::111111111111:role/Dev", account: "111111111111" };
        let mfa = ctx(&[("lanyard:MultiFactorAuthPresent", "true")]);
        assert!(t.allows(&admin, "sts:AssumeRole", &mfa));
        assert!(
            !t.allows(&admin, "sts:AssumeRole", &ctx(&[("lanyard:MultiFactorAuthPresent", "false")])),
            "explicit deny wins"
        );
        assert!(!t.allows(&other, "sts:AssumeRole", &mfa), "another role is not trusted");
        assert!(!t.allows(&admin, "sts:AssumeRoleWithWebIdentity", &mfa), "nor another action");
        let idp = Principal::Federated { issuer: "https://id.example.com/" };
        assert!(t.allows(
            &idp,
            "sts:AssumeRoleWithWebIdentity",
            &ctx(&[("id.example.com:aud", "ci"), ("id.example.com:sub", "repo:acme/web")])
        ));
        assert!(!t.allows(
            &idp,
            "sts:AssumeRoleWithWebIdentity",
            &ctx(&[("id.example.com:aud", "ci"), ("id.example.com:sub", "repo:evil/web")])
        ));
        assert!(!t.allows(
            &Principal::Federated { issuer: "https://evil.example.com" },
            "sts:AssumeRoleWithWebIdentity",
            &ctx(&[("id.example.com:aud", "ci")])
        ));
        let root = parse(r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:lanyard:iam::111111111111:root"}, "Action": "sts:AssumeRole"}}"#).expect("root");
        assert!(root.allows(&other, "sts:AssumeRole", &Context::new()), "the account root trusts every role there");
    }

    #[test]
    fn token_issuers_are_trusted_by_name_with_their_audience_pinned() {
        let idp = Principal::Federated { issuer: "https://id.example.com" };
        let any_aud = ctx(&[("id.example.com:sub", "x")]);
        let open = parse(r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}]}"#).expect("parses");
        assert!(!open.allows(&idp, "sts:AssumeRoleWithWebIdentity", &any_aud), "\"*\" trusts no token issuer");
        let denied = parse(r#"{"Statement": [
            {"Effect": "Allow", "Principal": {"Federated": "https://id.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {"id.example.com:aud": "ci"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {"id.example.com:sub": "repo:evil/*"}}}]}"#)
        .expect("parses");
        assert!(denied.allows(&idp, "sts:AssumeRoleWithWebIdentity", &ctx(&[("id.example.com:aud", "ci")])));
        assert!(
            !denied.allows(
                &idp,
                "sts:AssumeRoleWithWebIdentity",
                &ctx(&[("id.example.com:aud", "ci"), ("id.example.com:sub", "repo:evil/x")])
            ),
            "a Deny with \"*\" covers token issuers"
        );
        for unpinned in [
            // ForAllValues holds when the token has no audience at all.
            r#"{"ForAllValues:StringEquals": {"id.example.com:aud": "ci"}}"#,
            // Another issuer's audience.
            r#"{"StringEquals": {"other.example.com:aud": "ci"}}"#,
            r#"{"StringNotEquals": {"id.example.com:aud": "ci"}}"#,
        ] {
            let doc = format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": {{"Federated": "https://id.example.com"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {unpinned}}}]}}"#
            );
            assert_eq!(parse(&doc).err().map(|e| e.path), Some("Statement[0].Condition".into()), "{doc}");
        }
        let any = r#"{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "https://id.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"ForAnyValue:StringLike": {"id.example.com:aud": "ci-*"}}}]}"#;
        assert!(parse(any).is_ok(), "ForAnyValue needs the key present");
    }

    #[test]
    fn invalid_trust_policies_name_the_path() {
        for (doc, path) in [
            (r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}"#, "Statement[0].Principal"),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"}]}"#,
                "Statement[0].Resource",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2"}, "Action": "sts:AssumeRole"}]}"#,
                "Statement[0].Principal.Service",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}]}"#,
                "Statement[0].Principal.AWS",
            ),
            (
                r#"{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "sts:AssumeRole"}]}"#,
                "Statement[0].Effect",
            ),
            (r#"{"Statement": []}"#, "Statement"),
            ("[]", "$"),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "https://id.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}"#,
                "Statement[0].Condition",
            ),
        ] {
            assert_eq!(parse(doc).err().map(|e| e.path), Some(path.to_string()), "{doc}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }
    }
}
