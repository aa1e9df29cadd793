//! Multi-account access over HTTP: accounts and OUs, managed policies and permission sets,
//! assignments through groups, provisioning, decisions, the simulator and the portal listing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const READ_S3: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Read", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
  {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secrets/*"}]}"#;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}")).to_string()
}

/// An account, a permission set with a managed policy, a group with `alice` in it.
struct Org {
    api: Api,
    account: String,
    ps: String,
    policy: String,
    group: String,
    alice: lanyard::directory::User,
}

impl Org {
    async fn new() -> Self {
        let api = Api::new().await;
        let account = api.create("/accounts", json!({"name": "Production", "owner_email": "ops@example.com"})).await;
        let policy = api.create("/policies", json!({"name": "ReadS3", "document": READ_S3})).await;
        let ps = api.create("/permission-sets", json!({"name": "ReadOnly", "session_duration": "PT2H"})).await;
        let (st, _) = api.put(&format!("/permission-sets/{}/policies/{}", s(&ps, "id"), s(&policy, "id"))).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let group = api.create("/groups", json!({"name": "engineers"})).await;
        let alice = api.t.user("alice", PASSWORD, false).await;
        let (st, _) = api.put(&format!("/groups/{}/members/{}", s(&group, "id"), alice.id)).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        Org {
            account: s(&account, "id"),
            ps: s(&ps, "id"),
            policy: s(&policy, "id"),
            group: s(&group, "id"),
            api,
            alice,
        }
    }

    async fn assign(&self, principal_type: &str, principal_id: &str) -> Value {
        self.api
            .create(
                "/assignments",
                json!({"account_id": self.account, "permission_set_id": self.ps, "principal_type": principal_type, "principal_id": principal_id}),
            )
            .await
    }

    async fn decide(&self, action: &str, resource: &str) -> Value {
        let (st, d) = self
            .api
            .post(
                "/authorize",
                json!({"principal": {"user_id": self.alice.id, "account_id": self.account, "permission_set": "ReadOnly"},
                       "action": action, "resource": resource}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        d
    }
}

#[tokio::test]
async fn accounts_get_twelve_digit_ids_and_live_in_an_ou_tree() {
    let api = Api::new().await;
    let (st, ous) = api.get("/org-units").await;
    assert_eq!(st, StatusCode::OK);
    let root = ous["items"].as_array().expect("items").iter().find(|o| o["parent_id"].is_null()).expect("root").clone();
    let eng = api.create("/org-units", json!({"name": "Engineering", "tags": {"cost-center": "42"}})).await;
    assert_eq!(eng["parent_id"], root["id"], "a new OU goes under the root by default");
    let platform = api.create("/org-units", json!({"name": "Platform", "parent_id": eng["id"]})).await;
    let (st, e) = api.post("/org-units", json!({"name": "platform", "parent_id": eng["id"]})).await;
    assert_eq!(st, StatusCode::CONFLICT, "names are unique per parent, regardless of case: {e}");
    let mut parent = platform["id"].clone();
    for depth in 3..=5 {
        parent =
            api.create("/org-units", json!({"name": format!("L{depth}"), "parent_id": parent})).await["id"].clone();
    }
    let (st, e) = api.post("/org-units", json!({"name": "TooDeep", "parent_id": parent})).await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("parent_id")), "{e}");

    let a = api
        .create("/accounts", json!({"name": "Billing", "owner_email": "billing@example.com", "ou_id": platform["id"], "tags": {"env": "prod"}}))
        .await;
    let id = s(&a, "id");
    assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!((a["status"].clone(), a["tags"]["env"].clone()), (json!("active"), json!("prod")));
    let (st, e) = api.post("/accounts", json!({"name": "BILLING", "owner_email": "x@example.com"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let (st, e) = api.post("/accounts", json!({"name": "NoOwner"})).await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("owner_email")));
    let (st, e) = api
        .post("/accounts", json!({"name": "Bad", "owner_email": "x@example.com", "ou_id": uuid::Uuid::now_v7()}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    let (st, e) = api.delete(&format!("/org-units/{}", platform["id"].as_str().expect("id"))).await;
    assert_eq!(st, StatusCode::CONFLICT, "an OU holding accounts is not deleted: {e}");
    let (st, moved) = api.patch(&format!("/accounts/{id}"), json!({"ou_id": eng["id"], "status": "suspended"})).await;
    assert_eq!(
        (st, moved["ou_id"].clone(), moved["status"].clone()),
        (StatusCode::OK, eng["id"].clone(), json!("suspended"))
    );
    let (st, e) = api.patch(&format!("/accounts/{id}"), json!({"status": "closed"})).await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("status")));
    let (st, listed) = api.get("/accounts?name=bil").await;
    assert_eq!((st, listed["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let (st, listed) = api.get(&format!("/accounts?name={}", &id[..6])).await;
    assert_eq!((st, listed["items"][0]["id"].clone()), (StatusCode::OK, json!(id)), "the prefix also matches ids");
    let (st, _) = api.get("/accounts/12345").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = api.get("/accounts/000000000000").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = api.delete(&format!("/org-units/{}", s(&root, "id"))).await;
    assert_eq!(st, StatusCode::CONFLICT, "the root stays");
    let (st, _) = api.delete(&format!("/accounts/{id}")).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_invalid_policy_is_refused_with_its_json_path_and_nothing_is_stored() {
    let api = Api::new().await;
    let bad = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEqualz": {"aws:username": "a"}}}]});
    let (st, e) = api.post("/policies", json!({"name": "Broken", "document": bad})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "document");
    assert!(s(&e, "message").contains("Statement[1].Condition"), "{e}");
    let (st, e) = api.post("/policies", json!({"name": "NotJson", "document": "{\"Version\": "})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(s(&e, "message").contains("not valid JSON"), "{e}");
    let (_, list) = api.get("/policies").await;
    assert_eq!(list["items"], json!([]), "a refused document is never stored");
    let (st, e) = api
        .post(
            "/permission-sets",
            json!({"name": "X", "inline_policy": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}),
        )
        .await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("inline_policy")), "{e}");
    assert!(s(&e, "message").contains("Statement[0].Effect"), "{e}");
    for (body, field) in [
        (json!({"name": "has space"}), "name"),
        (json!({"name": "A".repeat(33)}), "name"),
        (json!({"name": "Short", "session_duration": "PT10M"}), "session_duration"),
        (json!({"name": "Long", "session_duration": 43201}), "session_duration"),
        (json!({"name": "Relay", "relay_state": "javascript:alert(1)"}), "relay_state"),
        (json!({"name": "Bound", "permissions_boundary": "NoSuchPolicy"}), "boundary"),
    ] {
        let (st, e) = api.post("/permission-sets", body.clone()).await;
        assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(field)), "{body}: {e}");
    }
    let (_, list) = api.get("/permission-sets").await;
    assert_eq!(list["items"], json!([]));
    let ps = api.create("/permission-sets", json!({"name": "Default"})).await;
    assert_eq!((ps["session_duration"].clone(), ps["session_duration_secs"].clone()), (json!("PT1H"), json!(3600)));
}

#[tokio::test]
async fn a_group_assignment_grants_and_leaving_the_group_revokes_at_once() {
    let org = Org::new().await;
    let d = org.decide("s3:GetObject", "arn:aws:s3:::reports/q1.csv").await;
    assert_eq!(d["decision"], "deny", "nothing is assigned yet: {d}");
    assert!(s(&d, "reason").contains("not assigned"), "{d}");
    let a = org.assign("group", &org.group).await;
    assert_eq!(a["role_arn"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    let d = org.decide("s3:GetObject", "arn:aws:s3:::reports/q1.csv").await;
    assert_eq!(
        (d["decision"].clone(), d["policy"].clone(), d["sid"].clone()),
        (json!("allow"), json!("ReadS3"), json!("Read")),
        "{d}"
    );
    assert_eq!(d["principal_arn"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    let d = org.decide("s3:GetObject", "arn:aws:s3:::secrets/key").await;
    assert_eq!(
        (d["decision"].clone(), d["explicit"].clone(), d["sid"].clone()),
        (json!("deny"), json!(true), json!("NoSecrets"))
    );
    let d = org.decide("s3:PutObject", "arn:aws:s3:::reports/q1.csv").await;
    assert_eq!((d["decision"].clone(), d["explicit"].clone()), (json!("deny"), json!(false)));
    assert!(s(&d, "reason").contains("no statement allows"), "{d}");

    // The user's view of their access.
    let (st, access) = org.api.get(&format!("/users/{}/access", org.alice.id)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(access["items"][0]["account_id"], json!(org.account));
    assert_eq!(access["items"][0]["roles"][0]["role_name"], "ReadOnly");
    assert_eq!(access["items"][0]["roles"][0]["session_duration"], "PT2H");

    let (st, _) = org.api.delete(&format!("/groups/{}/members/{}", org.group, org.alice.id)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let d = org.decide("s3:GetObject", "arn:aws:s3:::reports/q1.csv").await;
    assert_eq!(d["decision"], "deny", "membership removal takes effect on the next decision: {d}");
    let (_, access) = org.api.get(&format!("/users/{}/access", org.alice.id)).await;
    assert_eq!(access["items"], json!([]));

    // A direct assignment, then its removal.
    let direct = org.assign("user", &org.alice.id.to_string()).await;
    let (st, e) = org
        .api
        .post("/assignments", json!({"account_id": org.account, "permission_set_id": org.ps, "principal_type": "user", "principal_id": org.alice.id}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(org.decide("s3:ListBucket", "arn:aws:s3:::reports").await["decision"], "allow");
    let (st, _) = org.api.delete(&format!("/assignments/{}", s(&direct, "id"))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(org.decide("s3:ListBucket", "arn:aws:s3:::reports").await["decision"], "deny");

    let (st, e) = org
        .api
        .post("/assignments", json!({"account_id": org.account, "permission_set_id": org.ps, "principal_type": "user", "principal_id": uuid::Uuid::now_v7()}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
}

#[tokio::test]
async fn suspended_accounts_and_disabled_users_get_nothing() {
    let org = Org::new().await;
    org.assign("user", &org.alice.id.to_string()).await;
    assert_eq!(org.decide("s3:GetObject", "*").await["decision"], "allow");
    let (st, _) = org.api.patch(&format!("/accounts/{}", org.account), json!({"status": "suspended"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(org.decide("s3:GetObject", "*").await["decision"], "deny");
    org.api.patch(&format!("/accounts/{}", org.account), json!({"status": "active"})).await;
    assert_eq!(org.decide("s3:GetObject", "*").await["decision"], "allow");
    let (st, _) = org.api.patch(&format!("/users/{}", org.alice.id), json!({"status": "disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(org.decide("s3:GetObject", "*").await["decision"], "deny");
}

#[tokio::test]
async fn editing_a_permission_set_reprovisions_it_everywhere() {
    let org = Org::new().await;
    let second = org.api.create("/accounts", json!({"name": "Staging", "owner_email": "ops@example.com"})).await;
    org.assign("group", &org.group).await;
    org.api
        .create("/assignments", json!({"account_id": second["id"], "permission_set_id": org.ps, "principal_type": "group", "principal_id": org.group}))
        .await;
    let (_, ps) = org.api.get(&format!("/permission-sets/{}", org.ps)).await;
    assert_eq!(ps["provisioning"]["status"], "provisioned", "{ps}");
    assert_eq!(ps["provisioning"]["accounts"], 2);
    let (_, list) = org.api.get("/permission-sets").await;
    let listed = &list["items"][0];
    assert_eq!(
        (listed["provisioning"]["status"].clone(), listed["provisioning"]["current"].clone()),
        (json!("provisioned"), json!(2))
    );
    assert_eq!(listed["managed_policies"][0]["name"], "ReadS3", "{list}");
    let rev = ps["revision"].as_i64().expect("revision");

    // A new inline policy denies what the managed policy allows.
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Freeze", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]});
    let (st, ps) = org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": deny})).await;
    assert_eq!(st, StatusCode::OK, "{ps}");
    assert_eq!(ps["revision"].as_i64(), Some(rev + 1));
    assert_eq!(ps["provisioning"]["status"], "provisioned");
    assert!(
        ps["provisioning"]["roles"].as_array().expect("roles").iter().all(|r| r["revision"].as_i64() == Some(rev + 1))
    );
    let d = org.decide("s3:GetObject", "arn:aws:s3:::reports/x").await;
    assert_eq!(
        (d["decision"].clone(), d["sid"].clone(), d["policy"].clone()),
        (json!("deny"), json!("Freeze"), json!("ReadOnly/inline")),
        "{d}"
    );

    // Removing the inline policy, then changing the managed policy's document, re-provisions too.
    let (st, _) = org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": null})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(org.decide("s3:GetObject", "arn:aws:s3:::reports/x").await["decision"], "allow");
    let narrower = json!({"Version": "2012-10-17", "Statement": [{"Sid": "OnlyList", "Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]});
    let (st, p) = org.api.patch(&format!("/policies/{}", org.policy), json!({"document": narrower})).await;
    assert_eq!((st, p["version"].clone()), (StatusCode::OK, json!(2)), "{p}");
    assert_eq!(org.decide("s3:GetObject", "arn:aws:s3:::reports/x").await["decision"], "deny");
    assert_eq!(org.decide("s3:ListBucket", "arn:aws:s3:::reports").await["sid"], "OnlyList");
    let (_, versions) = org.api.get(&format!("/policies/{}/versions", org.policy)).await;
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(2));

    // A lagging role (an interrupted provisioning) is shown as updating until the job runs.
    {
        let mut tx = org.api.t.app.db.begin().await.expect("tx");
        lanyard::access::store::bump_revision(&mut tx, org.ps.parse().expect("uuid"), 0).await.expect("bump");
        tx.commit().await.expect("commit");
    }
    let (_, ps) = org.api.get(&format!("/permission-sets/{}", org.ps)).await;
    assert_eq!(ps["provisioning"]["status"], "updating", "{ps}");
    assert_eq!(lanyard::access::permission_sets::provision_stale(&org.api.t.app).await.expect("job"), 1);
    let (_, ps) = org.api.get(&format!("/permission-sets/{}", org.ps)).await;
    assert_eq!(ps["provisioning"]["status"], "provisioned", "{ps}");

    // Each revision's snapshot is written once; those no role carries any more are gone.
    let mut tx = org.api.t.app.db.conn().await.expect("conn");
    let ps_id: uuid::Uuid = org.ps.parse().expect("uuid");
    let kept: i64 = lanyard::db_run!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM permission_set_snapshots WHERE permission_set_id = $1")
        .bind(ps_id).fetch_one(c).await)
    .expect("count");
    assert_eq!(kept, 1, "only the revision the roles carry is kept");
    drop(tx);

    // Still assigned: neither the policy nor the permission set can be deleted.
    let (st, _) = org.api.delete(&format!("/policies/{}", org.policy)).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = org.api.delete(&format!("/permission-sets/{}", org.ps)).await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_permissions_boundary_limits_but_never_grants() {
    let org = Org::new().await;
    org.assign("user", &org.alice.id.to_string()).await;
    let only_list = org
        .api
        .create("/policies", json!({"name": "ListOnly", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:List*", "ec2:*"], "Resource": "*"}]}}))
        .await;
    let (st, ps) =
        org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"permissions_boundary": "ListOnly"})).await;
    assert_eq!((st, ps["permissions_boundary"]["id"].clone()), (StatusCode::OK, only_list["id"].clone()), "{ps}");
    let d = org.decide("s3:GetObject", "*").await;
    assert_eq!(d["decision"], "deny");
    assert!(s(&d, "reason").contains("permissions boundary"), "{d}");
    assert_eq!(org.decide("s3:ListBucket", "*").await["decision"], "allow");
    assert_eq!(org.decide("ec2:RunInstances", "*").await["decision"], "deny", "the boundary alone grants nothing");
}

#[tokio::test]
async fn callers_cannot_claim_another_principal_in_the_context() {
    let org = Org::new().await;
    let own = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Home", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"}]});
    org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": own})).await;
    org.assign("user", &org.alice.id.to_string()).await;
    let api = &org.api;
    let ask = |resource: &str, context: Value| {
        let body = json!({"principal": {"username": "alice", "role_arn": format!("arn:lanyard:iam::{}:role/ReadOnly", org.account)},
                          "action": "s3:PutObject", "resource": resource, "context": context});
        async move { api.post("/authorize", body).await }
    };
    let (st, d) = ask("arn:aws:s3:::home/alice/notes", json!({})).await;
    assert_eq!((st, d["decision"].clone()), (StatusCode::OK, json!("allow")), "{d}");
    let (_, d) = ask("arn:aws:s3:::home/bob/notes", json!({"aws:username": "bob", "lanyard:username": "bob"})).await;
    assert_eq!(d["decision"], "deny", "the username comes from Lanyard, not the caller: {d}");
    let (st, e) = ask("*", json!({"k": {"nested": true}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (st, e) = org
        .api
        .post("/authorize", json!({"principal": {"user_id": org.alice.id}, "action": "s3:GetObject", "resource": "*"}))
        .await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("principal")));
    let (st, d) = org
        .api
        .post("/authorize", json!({"principal": {"username": "nobody", "role_arn": format!("arn:lanyard:iam::{}:role/ReadOnly", org.account)}, "action": "s3:GetObject", "resource": "*"}))
        .await;
    assert_eq!((st, d["decision"].clone()), (StatusCode::OK, json!("deny")));
}

#[tokio::test]
async fn an_authorize_token_may_ask_for_decisions_and_nothing_else() {
    let org = Org::new().await;
    org.assign("group", &org.group).await;
    let (st, created) = org.api.post("/tokens", json!({"name": "orders-service", "scope": "authorize"})).await;
    assert_eq!((st, created["scope"].clone()), (StatusCode::CREATED, json!("authorize")), "{created}");
    let secret = s(&created, "secret");
    let http = reqwest::Client::new();
    let r = http
        .post(org.api.t.url("/api/v1/authorize"))
        .bearer_auth(&secret)
        .json(&json!({"principal": {"user_id": org.alice.id, "account_id": org.account, "permission_set": "readonly"}, "action": "s3:GetObject", "resource": "*"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.expect("json")["decision"], "allow", "role names match regardless of case");
    for path in ["/api/v1/users", "/api/v1/accounts", "/api/v1/tokens"] {
        let r = http.get(org.api.t.url(path)).bearer_auth(&secret).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = http
        .post(org.api.t.url("/api/v1/simulate"))
        .bearer_auth(&secret)
        .json(&json!({"actions": ["s3:GetObject"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(org.api.t.url("/api/v1/authorize"))
        .bearer_auth("lyd_at_unknown")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (st, _) = org.api.post("/tokens", json!({"name": "x", "scope": "root"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_simulator_tries_permission_sets_and_documents_before_assignment() {
    let org = Org::new().await;
    let (st, sim) = org
        .api
        .post("/simulate", json!({"permission_set": "ReadOnly", "actions": ["s3:GetObject", "s3:DeleteObject"], "resources": ["arn:aws:s3:::a/b", "arn:aws:s3:::secrets/x"]}))
        .await;
    assert_eq!(st, StatusCode::OK, "{sim}");
    let results = sim["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "every action against every resource");
    let find =
        |a: &str, r: &str| results.iter().find(|x| x["action"] == a && x["resource"] == r).expect("result").clone();
    assert_eq!(find("s3:GetObject", "arn:aws:s3:::a/b")["decision"], "allow");
    assert_eq!(find("s3:GetObject", "arn:aws:s3:::secrets/x")["sid"], "NoSecrets");
    assert_eq!(find("s3:DeleteObject", "arn:aws:s3:::a/b")["decision"], "deny");

    let timed = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Until2030", "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}, "StringEquals": {"aws:username": "alice"}}}]});
    let api = &org.api;
    let ask = |ctx: Value| {
        let body =
            json!({"policies": [timed.clone()], "user": "alice", "actions": ["ec2:StartInstances"], "context": ctx});
        async move { api.post("/simulate", body).await }
    };
    let (st, sim) = ask(json!({})).await;
    assert_eq!((st, sim["results"][0]["decision"].clone()), (StatusCode::OK, json!("allow")), "{sim}");
    let (_, sim) = ask(json!({"aws:CurrentTime": "2031-06-01T00:00:00Z"})).await;
    assert_eq!(sim["results"][0]["decision"], "deny", "the simulator lets an admin try another time: {sim}");
    let (st, e) =
        org.api.post("/simulate", json!({"policies": [{"Statement": "nope"}], "actions": ["s3:GetObject"]})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(s(&e, "message").contains("policies[0]"), "{e}");
    let (st, _) = org.api.post("/simulate", json!({"permission_set": "Nope", "actions": ["s3:GetObject"]})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let many: Vec<String> = (0..1001).map(|i| format!("s3:Get{i}")).collect();
    let (st, _) = org.api.post("/simulate", json!({"permission_set": "ReadOnly", "actions": many})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "the work per request is bounded");
}

#[tokio::test]
async fn access_changes_are_audited() {
    let org = Org::new().await;
    let a = org.assign("group", &org.group).await;
    org.api.delete(&format!("/assignments/{}", s(&a, "id"))).await;
    let (_, log) = org.api.get("/audit?limit=200").await;
    let actions: Vec<String> = log["items"].as_array().expect("items").iter().map(|e| s(e, "action")).collect();
    for wanted in [
        "account.create",
        "policy.create",
        "permission_set.create",
        "permission_set.attach_policy",
        "assignment.create",
        "assignment.delete",
    ] {
        assert!(actions.iter().any(|x| x == wanted), "{wanted} in {actions:?}");
    }
    let (_, verify) = org.api.get("/audit/verify").await;
    assert_eq!(verify["intact"], true, "{verify}");
}

#[tokio::test]
async fn the_portal_lists_the_accounts_and_roles_a_person_can_use() {
    let org = Org::new().await;
    let other = org.api.create("/accounts", json!({"name": "Sandbox", "owner_email": "dev@example.com"})).await;
    let admin_ps =
        org.api.create("/permission-sets", json!({"name": "Administrator", "session_duration": "PT8H"})).await;
    org.assign("group", &org.group).await;
    org.api
        .create("/assignments", json!({"account_id": other["id"], "permission_set_id": admin_ps["id"], "principal_type": "user", "principal_id": org.alice.id}))
        .await;
    org.api.create("/accounts", json!({"name": "Hidden", "owner_email": "x@example.com"})).await;
    let c = org.api.t.signed_in("alice", PASSWORD).await;
    let html = c.get(org.api.t.url("/")).send().await.expect("home").text().await.expect("body");
    assert!(html.contains("Production") && html.contains("Sandbox"), "{html}");
    assert!(html.contains("ReadOnly") && html.contains("Administrator"));
    assert!(html.contains(&org.account), "the account id is shown");
    assert!(!html.contains("Hidden"), "accounts without an assignment are not listed");
    assert!(html.contains("8 hours") || html.contains("PT8H") || html.contains("8h"), "session duration shown");
    let html = c.get(org.api.t.url("/?q=sand")).send().await.expect("search").text().await.expect("body");
    assert!(html.contains("Sandbox") && !html.contains("Production"), "search narrows the list");
    let html = c.get(org.api.t.url("/?q=readonly")).send().await.expect("search").text().await.expect("body");
    assert!(html.contains("Production") && !html.contains("Sandbox"), "search matches role names too");
}

#[tokio::test]
async fn admin_pages_manage_accounts_policies_permission_sets_and_simulate() {
    let t = spawn_app().await;
    t.user("root", PASSWORD, true).await;
    t.user("bob", PASSWORD, false).await;
    let c = t.signed_in("root", PASSWORD).await;
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let t = &t;
        async move {
            let token = t.csrf(&c, "/admin/accounts").await;
            let mut form = form;
            form.push(("csrf_token", token));
            c.post(t.url(path)).form(&form).send().await.expect("post")
        }
    };
    // An account through the form.
    let r =
        post("/admin/accounts", vec![("name", "Analytics".into()), ("owner_email", "data@example.com".into())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let account_page = r.headers()["location"].to_str().expect("location").split('?').next().expect("path").to_string();
    let account_id = account_page.rsplit('/').next().expect("id").to_string();
    assert_eq!(account_id.len(), 12);
    let r = post("/admin/accounts", vec![("name", "Bad".into()), ("owner_email", "not-an-email".into())]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("body").contains("owner email"));

    // A policy: a broken document is shown again with the JSON path of the fault.
    let broken = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "maybe"}}}]}"#;
    let r = post("/admin/policies", vec![("name", "Reports".into()), ("document", broken.into())]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("body");
    assert!(html.contains("Statement[0].Condition"), "{html}");
    assert!(html.contains("maybe"), "the typed document is kept");
    let r = post("/admin/policies", vec![("name", "Reports".into()), ("document", READ_S3.into())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let policy_id = r.headers()["location"]
        .to_str()
        .expect("loc")
        .split('?')
        .next()
        .expect("p")
        .rsplit('/')
        .next()
        .expect("id")
        .to_string();

    // A permission set, the policy attached, assigned to bob in the account.
    let r = post("/admin/permission-sets", vec![("name", "Analyst".into()), ("session_duration", "PT4H".into())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ps_page = r.headers()["location"].to_str().expect("loc").split('?').next().expect("p").to_string();
    let ps_id = ps_page.rsplit('/').next().expect("id").to_string();
    let token = t.csrf(&c, &ps_page).await;
    let r = c
        .post(t.url(&format!("{ps_page}/policies")))
        .form(&[("policy_id", policy_id.as_str()), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("attach");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = t.csrf(&c, &account_page).await;
    let r = c
        .post(t.url(&format!("{account_page}/assignments")))
        .form(&[
            ("principal_type", "user"),
            ("principal", "bob"),
            ("permission_set_id", ps_id.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("assign");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = c.get(t.url(&account_page)).send().await.expect("page").text().await.expect("body");
    assert!(html.contains("bob") && html.contains(&format!("arn:lanyard:iam::{account_id}:role/Analyst")), "{html}");
    let html = c.get(t.url(&ps_page)).send().await.expect("page").text().await.expect("body");
    assert!(html.contains("provisioned") && html.contains("Reports"), "{html}");
    let r = c
        .post(t.url(&format!("{account_page}/assignments")))
        .form(&[
            ("principal_type", "group"),
            ("principal", "nobody"),
            ("permission_set_id", ps_id.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("assign");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The simulator page.
    let r = post(
        "/admin/simulator",
        vec![
            ("permission_set", ps_id.clone()),
            ("actions", "s3:GetObject\ns3:PutObject".into()),
            ("resources", "*".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("body");
    assert!(html.contains("allowed by Reports (Read)") && html.contains("no statement allows"), "{html}");
    let r = post("/admin/simulator", vec![("policy", "{".into()), ("actions", "s3:GetObject".into())]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bob sees the role on his home page; without the CSRF token nothing changes.
    let bc = t.signed_in("bob", PASSWORD).await;
    let html = bc.get(t.url("/")).send().await.expect("home").text().await.expect("body");
    assert!(html.contains("Analytics") && html.contains("Analyst") && html.contains("4 hours"), "{html}");
    let r = c
        .post(t.url("/admin/accounts"))
        .form(&[("name", "NoCsrf"), ("owner_email", "x@example.com")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = bc.get(t.url("/admin/accounts")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "non-administrators get no admin pages");
}

#[tokio::test]
async fn decisions_are_audited_through_the_batched_writer() {
    let org = Org::new().await;
    org.assign("group", &org.group).await;
    assert_eq!(org.decide("s3:GetObject", "arn:aws:s3:::reports/a").await["decision"], "allow");
    assert_eq!(org.decide("s3:PutObject", "arn:aws:s3:::reports/a").await["decision"], "deny");
    org.api.t.app.audit_batch.flush().await;
    let (_, log) = org.api.get("/audit?action=access.decision").await;
    let items = log["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{log}");
    let deny = items.iter().find(|e| e["outcome"] == "failure").expect("the deny");
    assert_eq!(deny["details"]["action"], "s3:PutObject");
    assert_eq!(deny["target_id"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    assert_eq!(deny["actor_kind"], "token", "the resource service that asked is the actor");
    let allow = items.iter().find(|e| e["outcome"] == "success").expect("the allow");
    assert_eq!((allow["details"]["policy"].clone(), allow["details"]["sid"].clone()), (json!("ReadS3"), json!("Read")));
    let (_, verify) = org.api.get("/audit/verify").await;
    assert_eq!(verify["intact"], true, "{verify}");
}

#[tokio::test]
async fn batched_and_direct_audit_appends_keep_one_chain() {
    let org = Org::new().await;
    org.assign("group", &org.group).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let http = org.api.http.clone();
        let url = org.api.t.url("/api/v1/authorize");
        let token = org.api.token.clone();
        let body = json!({"principal": {"user_id": org.alice.id, "account_id": org.account, "permission_set": "ReadOnly"},
                          "action": if i % 2 == 0 { "s3:GetObject" } else { "s3:PutObject" }, "resource": "*"});
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let r = http.post(&url).bearer_auth(&token).json(&body).send().await.expect("send");
                assert_eq!(r.status(), StatusCode::OK);
            }
        }));
    }
    for i in 0..10 {
        org.api.create("/groups", json!({"name": format!("g{i}")})).await;
    }
    for t in tasks {
        t.await.expect("join");
    }
    org.api.t.app.audit_batch.flush().await;
    let (_, log) = org.api.get("/audit?action=access.decision&limit=1000").await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(200), "every decision is recorded");
    let (_, verify) = org.api.get("/audit/verify").await;
    assert_eq!(verify["intact"], true, "{verify}");
}

#[tokio::test]
async fn audit_of_decisions_can_be_limited_to_denials() {
    let t = spawn_app_with(|c| c.audit.decisions = "deny".into()).await;
    let token = t.token().await;
    let api = Api { t, token, http: reqwest::Client::new() };
    let account = api.create("/accounts", json!({"name": "P", "owner_email": "p@example.com"})).await;
    let ps = api.create("/permission-sets", json!({"name": "R", "inline_policy": READ_S3})).await;
    let alice = api.t.user("alice", PASSWORD, false).await;
    api.create("/assignments", json!({"account_id": account["id"], "permission_set_id": ps["id"], "principal_type": "user", "principal_id": alice.id}))
        .await;
    for action in ["s3:GetObject", "s3:GetObject", "s3:PutObject"] {
        let (st, _) = api
            .post("/authorize", json!({"principal": {"user_id": alice.id, "account_id": account["id"], "permission_set": "R"}, "action": action, "resource": "*"}))
            .await;
        assert_eq!(st, StatusCode::OK);
    }
    api.t.app.audit_batch.flush().await;
    let (_, log) = api.get("/audit?action=access.decision").await;
    let items = log["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["details"]["action"], "s3:PutObject");
}

#[tokio::test]
async fn a_persons_access_is_listed_in_pages() {
    let org = Org::new().await;
    for name in ["Beta", "Alpha", "Gamma"] {
        let a = org.api.create("/accounts", json!({"name": name, "owner_email": "o@example.com"})).await;
        org.api
            .create("/assignments", json!({"account_id": a["id"], "permission_set_id": org.ps, "principal_type": "group", "principal_id": org.group}))
            .await;
    }
    let mut names = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(n) => format!("/users/{}/access?limit=2&next={n}", org.alice.id),
            None => format!("/users/{}/access?limit=2", org.alice.id),
        };
        let (st, page) = org.api.get(&path).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 3);
        for a in page["items"].as_array().expect("items") {
            assert_eq!(a["roles"][0]["role_name"], "ReadOnly", "{a}");
            names.push(s(a, "account_name"));
        }
        next = page["next"].as_str().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(names, ["Alpha", "Beta", "Gamma"], "every account once, by name");
    let (st, _) = org.api.get(&format!("/users/{}/access?next=%%%", org.alice.id)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "a cursor this API did not return is refused");
}

#[tokio::test]
async fn the_principal_arn_uses_the_roles_own_name_whatever_the_caller_types() {
    let org = Org::new().await;
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NotThisRole", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalArn": format!("arn:lanyard:iam::{}:role/ReadOnly", org.account)}}}]});
    org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": deny})).await;
    org.assign("user", &org.alice.id.to_string()).await;
    for spelling in ["ReadOnly", "readonly", "READONLY"] {
        let (st, d) = org
            .api
            .post("/authorize", json!({"principal": {"user_id": org.alice.id, "account_id": org.account, "permission_set": spelling}, "action": "s3:GetObject", "resource": "*"}))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!((d["decision"].clone(), d["sid"].clone()), (json!("deny"), json!("NotThisRole")), "{spelling}: {d}");
        assert_eq!(d["principal_arn"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    }
    let (st, e) = org
        .api
        .post("/authorize", json!({"principal": {"user_id": org.alice.id, "account_id": org.account, "permission_set": "Read Only!"}, "action": "s3:GetObject", "resource": "*"}))
        .await;
    assert_eq!((st, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("permission_set")));
    let (st, ps) =
        org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"permissions_boundary": "ReadS3"})).await;
    assert_eq!((st, ps["permissions_boundary"]["name"].clone()), (StatusCode::OK, json!("ReadS3")));
    let (st, ps) = org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"permissions_boundary": null})).await;
    assert_eq!(st, StatusCode::OK);
    assert!(ps.get("permissions_boundary").is_none(), "null removes the boundary: {ps}");
}

#[tokio::test]
async fn nul_bytes_in_filters_and_names_are_client_errors() {
    let org = Org::new().await;
    org.assign("user", &org.alice.id.to_string()).await;
    for path in
        ["/accounts?name=%00", "/assignments?account_id=%00", &format!("/users/{}/access?q=a%00b", org.alice.id)]
    {
        let (st, e) = org.api.get(path).await;
        assert!(st.is_success() || st.is_client_error(), "{path}: {st} {e}");
    }
    let (st, e) = org
        .api
        .post("/authorize", json!({"principal": {"username": "al\u{0}ice", "account_id": org.account, "permission_set": "ReadOnly"}, "action": "s3:GetObject", "resource": "*"}))
        .await;
    assert!(st.is_success() || st.is_client_error(), "{st} {e}");
    let c = org.api.t.signed_in("alice", PASSWORD).await;
    let r = c.get(org.api.t.url("/?q=%00")).send().await.expect("home");
    assert!(r.status().is_success() || r.status().is_client_error(), "{}", r.status());
}
