//! AWS Signature Version 4 verification, pure (no I/O, no clock): [`parse`] reads what a
//! request claims (key, scope, signed headers, signature; header or presigned-query form),
//! [`Claim::check_time`] bounds it in time, and [`verify`] recomputes the signature with the
//! key's secret and compares in constant time. Wire facts: ../shared/spec/aws-wire.md §6.

use axum::http::HeaderMap;
use std::fmt::Write as _;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from the server's (the issue asks for five minutes).
pub const MAX_SKEW: i64 = 300;
/// The longest a presigned URL may be valid (AWS: 7 days).
pub const MAX_PRESIGN_EXPIRES: i64 = 604_800;
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Most signed headers a request may list (bounded work per request).
const MAX_SIGNED_HEADERS: usize = 50;
/// Most query parameters a signed request may carry.
const MAX_QUERY_PARAMS: usize = 200;

/// Why a signature was refused, with the AWS error code each maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("the request must be signed with AWS Signature Version 4")]
    Missing,
    #[error("the signature is malformed: {0}")]
    Incomplete(&'static str),
    #[error("the request signature does not match the one calculated with the access key's secret")]
    Mismatch,
    #[error("the access key or security token is not valid")]
    InvalidToken,
    #[error("the security token has expired")]
    Expired,
    #[error("the request time is more than five minutes from the server's time, or the presigned URL has expired")]
    RequestExpired,
    /// The check could not be made (the database is unreachable); logged where it happened.
    #[error("internal error; try again")]
    Internal,
}

impl SigError {
    /// The AWS error code (STS and the other query/JSON protocols use the same names).
    pub fn code(&self) -> &'static str {
        match self {
            SigError::Missing => "MissingAuthenticationToken",
            SigError::Incomplete(_) => "IncompleteSignature",
            SigError::Mismatch => "SignatureDoesNotMatch",
            SigError::InvalidToken => "InvalidClientTokenId",
            SigError::Expired => "ExpiredToken",
            SigError::RequestExpired => "RequestExpired",
            SigError::Internal => "InternalFailure",
        }
    }
}

/// The parts of an HTTP request a signature covers, as received.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The raw path, still percent-encoded as it came on the request line.
    pub path: &'a str,
    /// The raw query string without `?` (may be empty).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What a signed request claims.
#[derive(Debug, Clone)]
pub struct Claim {
    pub access_key: String,
    /// The credential scope: `YYYYMMDD`, region, service.
    pub date: String,
    pub region: String,
    pub service: String,
    /// `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) and the same in Unix seconds.
    pub amz_date: String,
    pub time: i64,
    pub signed_headers: Vec<String>,
    pub security_token: Option<String>,
    /// `X-Amz-Expires` of a presigned URL; `None` for the header form.
    pub expires: Option<i64>,
    signature: [u8; 32],
}

impl Claim {
    /// Refuses a request dated more than [`MAX_SKEW`] from `now`, and a presigned URL past its
    /// expiry.
    pub fn check_time(&self, now: i64) -> Result<(), SigError> {
        if self.time > now + MAX_SKEW {
            return Err(SigError::RequestExpired);
        }
        match self.expires {
            Some(e) if now > self.time + e => Err(SigError::RequestExpired),
            Some(_) => Ok(()),
            None if now - self.time > MAX_SKEW => Err(SigError::RequestExpired),
            None => Ok(()),
        }
    }
}

/// Reads the signature a request claims, from its `Authorization` header or, failing that, its
/// presigned query. `services` are the signing names this endpoint answers for.
pub fn parse(req: &Request<'_>, services: &[&str]) -> Result<Claim, SigError> {
    let header = req.headers.get(axum::http::header::AUTHORIZATION).map(|v| v.to_str());
    let (credential, signed, signature, amz_date, token, expires) = match header {
        Some(Ok(v)) if v.starts_with(ALGORITHM) => {
            let rest = v[ALGORITHM.len()..].trim_start();
            let (mut credential, mut signed, mut signature) = (None, None, None);
            for part in rest.split(',') {
                let Some((k, val)) = part.trim().split_once('=') else {
                    return Err(SigError::Incomplete(
                        "the Authorization header is not Credential=…, SignedHeaders=…, Signature=…",
                    ));
                };
                match k {
                    "Credential" => credential = Some(val.to_string()),
                    "SignedHeaders" => signed = Some(val.to_string()),
                    "Signature" => signature = Some(val.to_string()),
                    _ => return Err(SigError::Incomplete("the Authorization header has an unknown field")),
                }
            }
            let date = one_header(req.headers, "x-amz-date")?
                .ok_or(SigError::Incomplete("the X-Amz-Date header is required"))?;
            let token = one_header(req.headers, "x-amz-security-token")?;
            (
                credential.ok_or(SigError::Incomplete("Credential is missing"))?,
                signed.ok_or(SigError::Incomplete("SignedHeaders is missing"))?,
                signature.ok_or(SigError::Incomplete("Signature is missing"))?,
                date,
                token,
                None,
            )
        }
        Some(_) => return Err(SigError::Incomplete("only AWS4-HMAC-SHA256 signatures are accepted")),
        None => {
            let q = decode_query(req.query)?;
            let get = |name: &str| -> Result<Option<String>, SigError> {
                let mut found = q.iter().filter(|(k, _)| k.as_slice() == name.as_bytes());
                match (found.next(), found.next()) {
                    (None, _) => Ok(None),
                    (Some(_), Some(_)) => Err(SigError::Incomplete("a signing parameter appears twice")),
                    (Some((_, v)), None) => String::from_utf8(v.clone())
                        .map(Some)
                        .map_err(|_| SigError::Incomplete("a signing parameter is not UTF-8")),
                }
            };
            let Some(alg) = get("X-Amz-Algorithm")? else { return Err(SigError::Missing) };
            if alg != ALGORITHM {
                return Err(SigError::Incomplete("only AWS4-HMAC-SHA256 signatures are accepted"));
            }
            let need = |name: &'static str| get(name)?.ok_or(SigError::Incomplete(name));
            let expires: i64 = need("X-Amz-Expires")?
                .parse()
                .ok()
                .filter(|e| (1..=MAX_PRESIGN_EXPIRES).contains(e))
                .ok_or(SigError::Incomplete("X-Amz-Expires must be 1–604800 seconds"))?;
            (
                need("X-Amz-Credential")?,
                need("X-Amz-SignedHeaders")?,
                need("X-Amz-Signature")?,
                need("X-Amz-Date")?,
                get("X-Amz-Security-Token")?,
                Some(expires),
            )
        }
    };
    let mut scope = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) =
        (scope.next(), scope.next(), scope.next(), scope.next(), scope.next(), scope.next())
    else {
        return Err(SigError::Incomplete("Credential must be <key>/<date>/<region>/<service>/aws4_request"));
    };
    if access_key.is_empty() || access_key.len() > 128 || !access_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SigError::InvalidToken);
    }
    if region.is_empty() || region.len() > 64 || !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(SigError::Incomplete("the credential scope's region is not valid"));
    }
    if !services.contains(&service) {
        return Err(SigError::Incomplete("the credential scope names a service this endpoint does not serve"));
    }
    let time = parse_amz_date(&amz_date).ok_or(SigError::Incomplete("X-Amz-Date must be YYYYMMDDTHHMMSSZ"))?;
    if amz_date.get(..8) != Some(date) {
        return Err(SigError::Incomplete("the credential scope's date is not the date of X-Amz-Date"));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if signed_headers.len() > MAX_SIGNED_HEADERS
        || signed_headers.iter().any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(SigError::Incomplete("SignedHeaders must be lower-case names separated by ';'"));
    }
    let is_signed = |h: &str| signed_headers.iter().any(|s| s == h);
    if !is_signed("host") {
        return Err(SigError::Incomplete("the host header must be signed"));
    }
    if expires.is_none() && !is_signed("x-amz-date") {
        return Err(SigError::Incomplete("the x-amz-date header must be signed"));
    }
    if expires.is_none() && token.is_some() && !is_signed("x-amz-security-token") {
        return Err(SigError::Incomplete("the x-amz-security-token header must be signed"));
    }
    let mut sig = [0u8; 32];
    if signature.len() != 64 || hex::decode_to_slice(&signature, &mut sig).is_err() {
        return Err(SigError::Incomplete("Signature must be 64 hex digits"));
    }
    Ok(Claim {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        amz_date,
        time,
        signed_headers,
        security_token: token,
        expires,
        signature: sig,
    })
}

/// Recomputes the signature of `req` with `secret` and compares it with the claimed one in
/// constant time.
pub fn verify(req: &Request<'_>, claim: &Claim, secret: &str) -> Result<(), SigError> {
    let expected = signature(req, claim, secret)?;
    if crate::crypto::constant_time_eq(&expected, &claim.signature) { Ok(()) } else { Err(SigError::Mismatch) }
}

/// The signature `req` should carry for `claim`'s scope and signed headers.
pub fn signature(req: &Request<'_>, claim: &Claim, secret: &str) -> Result<[u8; 32], SigError> {
    let canonical = canonical_request(req, claim)?;
    let sts = string_to_sign(&claim.amz_date, &claim.date, &claim.region, &claim.service, &canonical);
    let key = signing_key(secret, &claim.date, &claim.region, &claim.service);
    Ok(crate::crypto::hmac_sha256(&key, sts.as_bytes()))
}

/// `kSigning` of the specification.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k = Vec::with_capacity(secret.len() + 4);
    k.extend_from_slice(b"AWS4");
    k.extend_from_slice(secret.as_bytes());
    let k_date = crate::crypto::hmac_sha256(&k, date.as_bytes());
    let k_region = crate::crypto::hmac_sha256(&k_date, region.as_bytes());
    let k_service = crate::crypto::hmac_sha256(&k_region, service.as_bytes());
    crate::crypto::hmac_sha256(&k_service, b"aws4_request")
}

pub fn string_to_sign(amz_date: &str, date: &str, region: &str, service: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        crate::crypto::sha256_hex(canonical.as_bytes())
    )
}

/// The canonical request: method, URI, query, headers, signed headers, payload hash.
pub fn canonical_request(req: &Request<'_>, claim: &Claim) -> Result<String, SigError> {
    let mut out = String::with_capacity(512);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query, claim.expires.is_some())?);
    out.push('\n');
    for name in &claim.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        let mut any = false;
        for v in req.headers.get_all(name.as_str()) {
            any = true;
            if !first {
                out.push(',');
            }
            first = false;
            push_trimmed(&mut out, v.as_bytes())?;
        }
        if !any {
            return Err(SigError::Incomplete("a signed header is missing from the request"));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&claim.signed_headers.join(";"));
    out.push('\n');
    if claim.expires.is_some() {
        // Presigned URLs of non-S3 services sign the empty payload, so a body would go unsigned.
        if !req.body.is_empty() {
            return Err(SigError::Incomplete("a presigned request carries no body"));
        }
        out.push_str(EMPTY_SHA256);
    } else {
        let hash = crate::crypto::sha256_hex(req.body);
        if let Some(claimed) = one_header(req.headers, "x-amz-content-sha256")?
            && claimed != hash
        {
            return Err(SigError::Incomplete("x-amz-content-sha256 is not the SHA-256 of the body"));
        }
        out.push_str(&hash);
    }
    Ok(out)
}

/// A header's value, when it appears at most once.
fn one_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, SigError> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(SigError::Incomplete("a signing header appears twice")),
        (Some(v), None) => {
            v.to_str().map(|s| Some(s.trim().to_string())).map_err(|_| SigError::Incomplete("a header is not ASCII"))
        }
    }
}

/// A header value trimmed, with inner runs of spaces and tabs as one space.
fn push_trimmed(out: &mut String, v: &[u8]) -> Result<(), SigError> {
    let s = std::str::from_utf8(v).map_err(|_| SigError::Incomplete("a signed header is not UTF-8"))?;
    let mut first = true;
    for word in s.split([' ', '\t']).filter(|w| !w.is_empty()) {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(word);
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` in Unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    let month = time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
    let t = time::Time::from_hms(u8::try_from(h).ok()?, u8::try_from(mi).ok()?, u8::try_from(se).ok()?).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp())
}

/// Unix seconds as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The URI as non-S3 services canonicalise it: dot segments removed, empty segments collapsed,
/// then every byte but unreserved ones and `/` percent-encoded (so an `%XX` already in the path
/// becomes `%25XX`, as the SDKs sign it).
pub fn canonical_uri(raw: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(raw.len() + 8);
    out.push('/');
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_into(&mut out, seg.as_bytes(), false);
    }
    if !segments.is_empty() && (raw.ends_with('/') || raw.ends_with("/.") || raw.ends_with("/..")) {
        out.push('/');
    }
    out
}

/// The query's pairs, percent-decoded (`+` stays a `+`).
/// Percent-decoded (name, value) pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn decode_query(query: &str) -> Result<Pairs, SigError> {
    let mut out = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_QUERY_PARAMS {
            return Err(SigError::Incomplete("too many query parameters"));
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((percent_decode(k), percent_decode(v)));
    }
    Ok(out)
}

/// The query re-encoded and sorted by name then value; a presigned URL's signature is left out.
pub fn canonical_query(query: &str, presigned: bool) -> Result<String, SigError> {
    let mut pairs = decode_query(query)?;
    if presigned {
        pairs.retain(|(k, _)| k.as_slice() != b"X-Amz-Signature");
    }
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| {
            let (mut ek, mut ev) = (String::new(), String::new());
            encode_into(&mut ek, k, false);
            encode_into(&mut ev, v, false);
            (ek, ev)
        })
        .collect();
    encoded.sort();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(out)
}

/// Signs a request in the header form (for tests, benchmarks and Lanyard's own clients): the
/// `Authorization` value for `headers` (which must hold `host` and `x-amz-date`).
pub fn authorization_header(
    req: &Request<'_>,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    signed_headers: &[&str],
) -> Result<String, SigError> {
    let amz_date = one_header(req.headers, "x-amz-date")?.ok_or(SigError::Incomplete("x-amz-date is required"))?;
    let claim = Claim {
        access_key: access_key.to_string(),
        date: amz_date.get(..8).unwrap_or_default().to_string(),
        region: region.to_string(),
        service: service.to_string(),
        time: parse_amz_date(&amz_date).ok_or(SigError::Incomplete("X-Amz-Date must be YYYYMMDDTHHMMSSZ"))?,
        amz_date,
        signed_headers: signed_headers.iter().map(|s| s.to_string()).collect(),
        security_token: None,
        expires: None,
        signature: [0; 32],
    };
    let sig = signature(req, &claim, secret)?;
    Ok(format!(
        "{ALGORITHM} Credential={access_key}/{}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={}",
        claim.date,
        signed_headers.join(";"),
        hex::encode(sig)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_TIME: i64 = 1_440_938_160; // 2015-08-30T12:36:00Z

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("test data"),
                HeaderValue::from_str(v).expect("test data"),
            );
        }
        h
    }

    /// A request of the AWS SigV4 test suite (signature-v4-test-suite), signed with its example
    /// key, service `service`, and its published signature.
    fn suite(method: &str, path: &str, query: &str, extra: &[(&str, &str)], body: &[u8], signed: &str, sig: &str) {
        let mut pairs = vec![("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")];
        pairs.extend_from_slice(extra);
        let mut h = headers(&pairs);
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20150830/us-east-1/service/aws4_request, SignedHeaders={signed}, Signature={sig}"
        );
        h.insert("authorization", HeaderValue::from_str(&auth).expect("test data"));
        let req = Request { method, path, query, headers: &h, body };
        let claim = parse(&req, &["service"]).expect("parses");
        claim.check_time(SUITE_TIME).expect("in time");
        assert_eq!(verify(&req, &claim, SECRET), Ok(()), "{method} {path}?{query}");
        // One wrong byte anywhere in the secret fails.
        assert_eq!(verify(&req, &claim, &SECRET.replace('K', "k")), Err(SigError::Mismatch));
        // And the signer reproduces the same header.
        let signed_list: Vec<&str> = signed.split(';').collect();
        assert_eq!(
            authorization_header(&req, AKID, SECRET, "us-east-1", "service", &signed_list).expect("test data"),
            auth
        );
    }

    #[test]
    fn aws_test_suite_vectors() {
        let base = "host;x-amz-date";
        // get-vanilla
        suite("GET", "/", "", &[], b"", base, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        // get-vanilla-query-order-key-case
        suite(
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            &[],
            b"",
            base,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
        // post-vanilla
        suite("POST", "/", "", &[], b"", base, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
        // get-utf8: the path `/ሴ` canonicalises to its UTF-8 bytes percent-encoded.
        suite("GET", "/ሴ", "", &[], b"", base, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
        // get-header-value-trim
        suite(
            "GET",
            "/",
            "",
            &[("my-header1", " value1"), ("my-header2", " \"a   b   c\"")],
            b"",
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        );
        // get-header-key-duplicate: repeated headers join with commas, in the order received.
        suite(
            "GET",
            "/",
            "",
            &[("my-header1", "value2"), ("my-header1", "value2"), ("my-header1", "value1")],
            b"",
            "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        );
        // get-header-value-order
        suite(
            "GET",
            "/",
            "",
            &[("my-header1", "value4"), ("my-header1", "value1"), ("my-header1", "value3"), ("my-header1", "value2")],
            b"",
            "host;my-header1;x-amz-date",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        );
        // post-x-www-form-urlencoded
        suite(
            "POST",
            "/",
            "",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"Param1=value1",
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        );
    }

    /// Values computed with botocore 1.44.8's SigV4Auth for the same key and time.
    #[test]
    fn botocore_vectors() {
        // Unreserved characters in the query are left as they are.
        let q = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
        suite(
            "GET",
            "/",
            q,
            &[],
            b"",
            "host;x-amz-date",
            "c0e2549664ab6caf8a0e49ec520df161cca33ec1de41067db4994a4467d458ff",
        );
        // A path sent percent-encoded is encoded again.
        suite(
            "GET",
            "/example%20space/",
            "",
            &[],
            b"",
            "host;x-amz-date",
            "446b817944c553435b35e813c261ff4e161fff982d1bacdef1c87f6785dd1662",
        );
    }

    const SPEC_KEY: &str = "ASIAEXAMPLEEXAMPLE01";
    const SPEC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const SPEC_TOKEN: &str = "FQoGZXIvYXdzEXAMPLETOKEN";
    const SPEC_TIME: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

    /// The known answers of aws-wire.md §6 (botocore 1.44.5).
    #[test]
    fn spec_vectors() {
        for (service, ctype, extra, body, hash, sig) in [
            (
                "secretsmanager",
                "application/x-amz-json-1.1",
                Some(("x-amz-target", "secretsmanager.GetSecretValue")),
                &br#"{"SecretId": "foo"}"#[..],
                "1f715a2c0e987577700c56e7f5bb3a6e3a02e27e4e53d863e0cb4317619edef5",
                "7fd42d759ce2f36808918b259a34793c772d355ed993d6ce8c4fec73edcbd8b6",
            ),
            (
                "sts",
                "application/x-www-form-urlencoded; charset=utf-8",
                None,
                &b"Action=GetCallerIdentity&Version=2011-06-15"[..],
                "ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843",
                "cfd222b6eb05d49aca176a084c06c7edc2991b9f4646abfce6c8eab7800cb327",
            ),
        ] {
            assert_eq!(crate::crypto::sha256_hex(body), hash);
            let mut pairs = vec![
                ("content-type", ctype),
                ("host", "127.0.0.1:18080"),
                ("x-amz-date", "20240101T000000Z"),
                ("x-amz-security-token", SPEC_TOKEN),
            ];
            let mut signed = "content-type;host;x-amz-date;x-amz-security-token".to_string();
            if let Some(e) = extra {
                pairs.push(e);
                signed.push_str(";x-amz-target");
            }
            let mut h = headers(&pairs);
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential={SPEC_KEY}/20240101/us-east-1/{service}/aws4_request, SignedHeaders={signed}, Signature={sig}"
            );
            h.insert("authorization", HeaderValue::from_str(&auth).expect("test data"));
            let req = Request { method: "POST", path: "/", query: "", headers: &h, body };
            let claim = parse(&req, &[service]).expect("parses");
            assert_eq!(claim.security_token.as_deref(), Some(SPEC_TOKEN));
            assert_eq!(claim.access_key, SPEC_KEY);
            assert_eq!(verify(&req, &claim, SPEC_SECRET), Ok(()), "{service}");
            // Another body, same signature: refused.
            let other = Request { body: b"Action=GetCallerIdentity&Version=2011-06-16", ..req };
            assert_eq!(verify(&other, &claim, SPEC_SECRET), Err(SigError::Mismatch));
            // A service this endpoint does not serve is refused before any key lookup.
            assert!(matches!(parse(&req, &["sso-oauth"]), Err(SigError::Incomplete(_))));
        }
    }

    /// `sts.generate_presigned_url('get_caller_identity')` of botocore 1.44.8 at the spec's time,
    /// for `http://127.0.0.1:18080/aws`, as POST (its default) and as GET.
    #[test]
    fn presigned_get_caller_identity() {
        let base = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLEEXAMPLE01%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN&X-Amz-Signature=";
        let h = headers(&[("host", "127.0.0.1:18080")]);
        for (method, sig) in [
            ("POST", "6b493ccff919a4f01b97f7279e2369b828b8c4e025ea6e8179446ea167542f65"),
            ("GET", "e7033a2752f5f97b763a8b56dcae84eaa1f7ef056ae2fec2c212dfa40a437d6d"),
        ] {
            let query = format!("{base}{sig}");
            let req = Request { method, path: "/aws", query: &query, headers: &h, body: b"" };
            let claim = parse(&req, &["sts"]).expect("parses");
            assert_eq!(claim.expires, Some(900));
            assert_eq!(claim.security_token.as_deref(), Some(SPEC_TOKEN));
            assert_eq!(verify(&req, &claim, SPEC_SECRET), Ok(()), "{method}");
            assert_eq!(claim.check_time(SPEC_TIME + 900), Ok(()));
            assert_eq!(claim.check_time(SPEC_TIME + 901), Err(SigError::RequestExpired));
            // The URL's other parameters are covered: changing the action breaks it.
            let tampered = query.replace("GetCallerIdentity", "GetSessionToken");
            let req = Request { query: &tampered, ..req };
            assert_eq!(verify(&req, &parse(&req, &["sts"]).expect("test data"), SPEC_SECRET), Err(SigError::Mismatch));
        }
    }

    #[test]
    fn clock_skew_is_five_minutes() {
        let h = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z")]);
        let req = Request { method: "GET", path: "/", query: "", headers: &h, body: b"" };
        let auth =
            authorization_header(&req, AKID, SECRET, "us-east-1", "sts", &["host", "x-amz-date"]).expect("test data");
        let mut h2 = h.clone();
        h2.insert("authorization", HeaderValue::from_str(&auth).expect("test data"));
        let req = Request { headers: &h2, ..req };
        let claim = parse(&req, &["sts"]).expect("test data");
        assert_eq!(claim.time, SUITE_TIME);
        for ok in [SUITE_TIME - 300, SUITE_TIME, SUITE_TIME + 300] {
            assert_eq!(claim.check_time(ok), Ok(()), "{ok}");
        }
        for late in [SUITE_TIME - 301, SUITE_TIME + 301] {
            assert_eq!(claim.check_time(late), Err(SigError::RequestExpired), "{late}");
        }
        assert_eq!(format_amz_date(SUITE_TIME), "20150830T123600Z");
    }

    #[test]
    fn malformed_signatures_are_refused_with_their_codes() {
        let ok = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let cases: &[(&str, &str)] = &[
            ("", "MissingAuthenticationToken"),
            ("AWS4-HMAC-SHA1 Credential=x", "IncompleteSignature"),
            (&ok.replace("us-east-1/sts", "us-east-1/s3"), "IncompleteSignature"),
            (&ok.replace("/20150830/", "/20150831/"), "IncompleteSignature"),
            (&ok.replace("host;x-amz-date", "x-amz-date"), "IncompleteSignature"),
            (&ok.replace("host;x-amz-date", "host"), "IncompleteSignature"),
            (&ok.replace("Signature=5fa0", "Signature=zz"), "IncompleteSignature"),
            (&ok.replace("aws4_request", "aws4_request/x"), "IncompleteSignature"),
            (&ok.replace("AKIDEXAMPLE", "AKID-EXAMPLE"), "InvalidClientTokenId"),
            (&ok.replace(", Signature", ", Extra=1, Signature"), "IncompleteSignature"),
        ];
        for (auth, code) in cases {
            let mut h = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z")]);
            if !auth.is_empty() {
                h.insert("authorization", HeaderValue::from_str(auth).expect("test data"));
            }
            let req = Request { method: "GET", path: "/", query: "", headers: &h, body: b"" };
            assert_eq!(parse(&req, &["sts"]).err().map(|e| e.code()), Some(*code), "{auth}");
        }
        // A body hash header that lies.
        let h = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z"), ("x-amz-content-sha256", EMPTY_SHA256)]);
        let req = Request { method: "POST", path: "/", query: "", headers: &h, body: b"x" };
        assert!(
            authorization_header(
                &req,
                AKID,
                SECRET,
                "us-east-1",
                "sts",
                &["host", "x-amz-content-sha256", "x-amz-date"]
            )
            .is_err()
        );
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("//a//b/"), "/a/b/");
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri("/a b~"), "/a%20b~");
        assert_eq!(canonical_uri("/%41"), "/%2541");
        assert_eq!(canonical_query("b=2&a=1&a=0&c", false).expect("test data"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("a=b%20c&d=e+f", false).expect("test data"), "a=b%20c&d=e%2Bf");
        assert_eq!(canonical_query("X-Amz-Signature=x&a=1", true).expect("test data"), "a=1");
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(auth in "\\PC{0,300}", query in "\\PC{0,300}", path in "\\PC{0,100}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&auth) { h.insert("authorization", v); }
            h.insert("host", HeaderValue::from_static("h"));
            let req = Request { method: "GET", path: &path, query: &query, headers: &h, body: b"" };
            if let Ok(c) = parse(&req, &["sts"]) {
                let _ = verify(&req, &c, "secret");
            }
            let _ = canonical_uri(&path);
            let _ = canonical_query(&query, true);
        }
    }
}
