//! Authentication: the password policy, sign-in throttling, database-backed sessions and the
//! sign-in flow. Later issues add TOTP, WebAuthn and recovery codes here.

pub mod api_tokens;
pub mod csrf;
pub mod mfa;
pub mod password;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod totp;
pub mod webauthn;

pub use service::AuthError;
pub use sessions::AuthState;
