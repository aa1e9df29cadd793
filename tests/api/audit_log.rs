use crate::helpers::*;
use lanyard::db_run;

async fn activity(t: &TestApp) {
    t.user("amy", PASSWORD, false).await;
    t.signed_in("amy", PASSWORD).await;
    t.sign_in(&client(), "amy", "wrong password entirely").await;
}

#[tokio::test]
async fn the_chain_verifies_after_activity() {
    let t = spawn_app().await;
    activity(&t).await;
    let v = lanyard::audit::verify(&t.app.db).await.expect("verify");
    assert!(v.rows >= 3);
    assert_eq!(v.first_broken, None);
}

#[tokio::test]
async fn a_modified_row_is_named() {
    let t = spawn_app().await;
    activity(&t).await;
    let mut tx = t.app.db.begin().await.expect("tx");
    db_run!(&mut tx, c => sqlx::query("UPDATE audit_log SET details = '{\"reason\":\"nothing to see\"}' WHERE seq = 2").execute(c).await.map(|_| ()))
        .expect("tamper");
    tx.commit().await.expect("commit");
    let v = lanyard::audit::verify(&t.app.db).await.expect("verify");
    assert_eq!(v.first_broken.expect("broken").0, 2);
}

#[tokio::test]
async fn deleted_rows_are_detected() {
    let t = spawn_app().await;
    activity(&t).await;
    let before = lanyard::audit::verify(&t.app.db).await.expect("verify").rows;
    let mut tx = t.app.db.begin().await.expect("tx");
    db_run!(&mut tx, c => sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(c).await.map(|_| ()))
        .expect("delete");
    tx.commit().await.expect("commit");
    assert_eq!(lanyard::audit::verify(&t.app.db).await.expect("verify").first_broken.expect("broken").0, 2);
    let mut tx = t.app.db.begin().await.expect("tx");
    db_run!(&mut tx, c => sqlx::query("DELETE FROM audit_log WHERE seq >= 2").execute(c).await.map(|_| ()))
        .expect("truncate");
    tx.commit().await.expect("commit");
    let v = lanyard::audit::verify(&t.app.db).await.expect("verify");
    assert!(before > 2);
    assert_eq!(v.first_broken.expect("truncation detected").0, 2);
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    let t = spawn_app().await;
    let before = lanyard::audit::verify(&t.app.db).await.expect("verify").rows;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("test"), origin: Default::default() };
            lanyard::directory::service::create_group(&app, &ctx, &format!("g{i}"), "").await.expect("group");
        }));
    }
    for task in tasks {
        task.await.expect("join");
    }
    let v = lanyard::audit::verify(&t.app.db).await.expect("verify");
    assert_eq!((v.rows, v.first_broken), (before + 20, None));
}

#[tokio::test]
async fn a_large_batch_is_written_in_chunks_in_order_and_keeps_the_chain() {
    use lanyard::audit::batch::{OwnedEvent, append};
    let t = spawn_app().await;
    activity(&t).await;
    // 3 × 32 + 8 + 2 + 1: every chunk size but two.
    let events: Vec<OwnedEvent> = (0..107)
        .map(|i| OwnedEvent {
            at: lanyard::clock::Clock::unix(&t.clock),
            actor: lanyard::audit::Actor::cli("batch test"),
            action: "test.batch".into(),
            target_kind: "row".into(),
            target_id: i.to_string(),
            outcome: "success",
            details: serde_json::json!({"i": i}),
            origin: Default::default(),
        })
        .collect();
    let mut tx = t.app.db.begin().await.expect("begin");
    append(&mut tx, &events).await.expect("append");
    tx.commit().await.expect("commit");
    let mut tx = t.app.db.conn().await.expect("conn");
    let rows: Vec<(i64, String, String)> = db_run!(&mut tx, c => sqlx::query_as(
        "SELECT seq, target_id, details FROM audit_log WHERE action = 'test.batch' ORDER BY seq").fetch_all(c).await)
    .expect("rows");
    drop(tx);
    assert_eq!(rows.len(), 107);
    for (i, (seq, target, details)) in rows.iter().enumerate() {
        assert_eq!((target.as_str(), seq - rows[0].0), (i.to_string().as_str(), i as i64), "in order, no gaps");
        assert!(details.contains(&format!("\"i\":{i}")), "{details}");
    }
    let v = lanyard::audit::verify(&t.app.db).await.expect("verify");
    assert_eq!(v.first_broken, None);
}
