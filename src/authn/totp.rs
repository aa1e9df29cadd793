//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew either way) through
//! the totp-rs crate, the otpauth:// enrolment URI, and its QR code as server-rendered SVG.

use totp_rs::{Builder, Totp};

/// Seconds per step.
pub const STEP: u64 = 30;

/// A TOTP secret (160 random bits, as RFC 4226 recommends).
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> Result<Self, crate::crypto::CryptoError> {
        Ok(Self(crate::crypto::random_bytes::<20>()?.to_vec()))
    }

    pub fn from_bytes(b: Vec<u8>) -> Self {
        Self(b)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The base32 form people type into an authenticator app.
    pub fn base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self) -> Option<Totp> {
        Builder::new().with_secret(self.0.clone()).with_digits(6).with_skew(1).with_step_duration(STEP).build().ok()
    }

    /// The time step a code is valid for at `unix_time` (±1 step), if any.
    pub fn matching_step(&self, code: &str, unix_time: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let t = u64::try_from(unix_time).ok()?;
        self.totp()?.check(&code, t).and_then(|step| i64::try_from(step).ok())
    }

    /// The code for `unix_time` (tests and the benchmark compute codes like an app would).
    pub fn code_at(&self, unix_time: i64) -> String {
        self.totp().map(|t| t.generate(u64::try_from(unix_time).unwrap_or(0)).to_string()).unwrap_or_default()
    }

    /// The `otpauth://totp/…` URI that authenticator apps scan.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer)
        )
    }
}

/// The QR code of `data` as an SVG document (no script, safe under the CSP).
pub fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (8-digit vectors truncated to 6).
    #[test]
    fn rfc6238_vectors() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(s.code_at(59), "287082");
        assert_eq!(s.code_at(1111111109), "081804");
        assert_eq!(s.code_at(1234567890), "005924");
        assert_eq!(s.code_at(2000000000), "279037");
    }

    #[test]
    fn window_is_one_step_each_way() {
        let s = TotpSecret::generate().expect("secret");
        let now = 1_800_000_000;
        let code = s.code_at(now);
        let step = now / 30;
        assert_eq!(s.matching_step(&code, now), Some(step));
        assert_eq!(s.matching_step(&code, now + 30), Some(step));
        assert_eq!(s.matching_step(&code, now - 30), Some(step));
        assert_eq!(s.matching_step(&code, now + 60), None);
        assert_eq!(s.matching_step(&code, now - 60), None);
        assert_eq!(s.matching_step("12345", now), None);
        assert_eq!(s.matching_step("abcdef", now), None);
    }

    #[test]
    fn uri_and_qr() {
        let s = TotpSecret::from_bytes(vec![0; 20]);
        let uri = s.uri("Lanyard", "alice smith");
        assert!(uri.starts_with("otpauth://totp/Lanyard:alice%20smith?secret=AAAA"), "{uri}");
        assert!(qr_svg(&uri).contains("<svg"));
    }
}
