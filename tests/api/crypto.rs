use crate::helpers::*;
use lanyard::crypto::keyring::{self, Alg};
use lanyard::crypto::master::{KeySource, LoadedKeys};
use lanyard::crypto::{MasterKey, Sealer};

#[tokio::test]
async fn master_key_rotation_keeps_sealed_data_readable() {
    let t = spawn_app().await;
    let now = t.app.now();
    let es = keyring::generate(&t.app.db, &t.app.sealer, Alg::ES256, now).await.expect("es256");
    let rs = keyring::generate(&t.app.db, &t.app.sealer, Alg::RS256, now).await.expect("rs256");
    let old = t.app.sealer.master().clone();
    let new = MasterKey::generate().expect("key");
    let n = lanyard::crypto::seal::rewrap_all(&t.app.db, &old, &new).await.expect("rewrap");
    assert!(n >= 1);
    // A process started with the new key reads what was sealed under the old one.
    let sealer = Sealer::open(&t.app.db, &LoadedKeys { source: KeySource::Env, current: new, pending: None }, now)
        .await
        .expect("opens");
    let mut tx = t.app.db.read().await.expect("tx");
    for k in [&es, &rs] {
        let private = keyring::private_key(&mut tx, &sealer, k.id).await.expect("unseals");
        assert!(keyring::check_pair(&k.alg, &private, &k.public_key), "{} key intact", k.alg);
    }
    drop(tx);
    // The old key no longer opens this database, and says why.
    let err = Sealer::open(&t.app.db, &LoadedKeys { source: KeySource::Env, current: old, pending: None }, now)
        .await
        .expect_err("old key refused");
    assert!(err.to_string().contains("master key"), "{err}");
}

#[tokio::test]
async fn signing_keys_move_from_pending_to_active_to_retired() {
    let t = spawn_app().await;
    let now = t.app.now();
    let a = keyring::generate(&t.app.db, &t.app.sealer, Alg::ES256, now).await.expect("a");
    assert_eq!(a.state, "pending");
    assert!(keyring::activate(&t.app.db, a.id, now).await.expect("activate"));
    let b = keyring::generate(&t.app.db, &t.app.sealer, Alg::ES256, now).await.expect("b");
    assert!(keyring::activate(&t.app.db, b.id, now + 10).await.expect("activate"));
    assert!(
        !keyring::activate(&t.app.db, a.id, now + 20).await.expect("no re-activation"),
        "retired keys stay retired"
    );
    let keys = keyring::list(&t.app.db).await.expect("list");
    let state = |id| keys.iter().find(|k| k.id == id).map(|k| k.state.clone()).expect("key");
    assert_eq!((state(a.id), state(b.id)), ("retired".to_string(), "active".to_string()));
    // Private keys are sealed: the stored bytes are not the PKCS#8 document.
    let mut tx = t.app.db.read().await.expect("tx");
    let private = keyring::private_key(&mut tx, &t.app.sealer, b.id).await.expect("unseal");
    let stored: Vec<u8> = lanyard::db_run!(&mut tx, c => sqlx::query_scalar("SELECT private_sealed FROM signing_keys WHERE id = $1").bind(b.id).fetch_one(c).await)
        .expect("row");
    assert!(!stored.windows(private.len().min(32)).any(|w| w == &private[..private.len().min(32)]));
}
