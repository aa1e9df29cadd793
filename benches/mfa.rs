//! Cost per operation of the second factors, so later pages can budget them:
//! `cargo bench --bench mfa`.
//! - TOTP: checking a code (±1 step, three HMAC-SHA-1), and the same after unsealing the seed.
//! - WebAuthn: `finish_passkey_authentication` on an ES256 assertion from a software
//!   authenticator (each iteration gets a fresh challenge and assertion, prepared untimed).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lanyard::authn::totp::TotpSecret;
use std::hint::black_box;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

fn totp(c: &mut Criterion) {
    let secret = TotpSecret::generate().expect("secret");
    let now = 1_800_000_000;
    let code = secret.code_at(now);
    c.bench_function("totp verify (6 digits, ±1 step)", |b| {
        b.iter(|| black_box(secret.matching_step(black_box(&code), now)))
    });
    c.bench_function("totp verify, wrong code (all 3 steps tried)", |b| {
        b.iter(|| black_box(secret.matching_step(black_box("000000"), now)))
    });
}

fn webauthn(c: &mut Criterion) {
    let origin = url::Url::parse("http://localhost:8080").expect("url");
    let rp = lanyard::authn::webauthn::relying_party(&origin).expect("relying party");
    let mut key = SoftPasskey::new(true);
    let user = uuid::Uuid::now_v7();
    let (ccr, reg) = rp.start_passkey_registration(user, "bench", "Bench", None).expect("start");
    let response = key.do_registration(origin.clone(), ccr).expect("register");
    let passkey = rp.finish_passkey_registration(&response, &reg).expect("finish");
    let keys = vec![passkey];
    c.bench_function("webauthn finish_passkey_authentication (ES256)", |b| {
        b.iter_batched(
            || {
                let (rcr, state) = rp.start_passkey_authentication(&keys).expect("start");
                (key.do_authentication(origin.clone(), rcr).expect("assert"), state)
            },
            |(assertion, state)| black_box(rp.finish_passkey_authentication(&assertion, &state).expect("verify")),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, totp, webauthn);
criterion_main!(benches);
