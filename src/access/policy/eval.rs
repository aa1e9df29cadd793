//! Policy evaluation, as IAM documents it: an explicit `Deny` in any policy (or in the
//! permissions boundary) wins; otherwise an `Allow` in an identity policy allows, provided the
//! boundary (when there is one) allows too; otherwise the request is implicitly denied. Pure:
//! no I/O, the request context carries everything (time, source IP, principal).

use super::document::*;
use super::pattern::{self, Tok, Vars};
use serde::Serialize;
use std::collections::HashMap;

/// The request context: condition keys (case-insensitive) to one or more values. Keys under
/// `aws:` and `lanyard:` are aliases of each other (`aws:username` = `lanyard:username`).
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: HashMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key (replacing earlier values).
    pub fn set(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        let key = key.to_ascii_lowercase();
        let alias = if let Some(rest) = key.strip_prefix("aws:") {
            Some(format!("lanyard:{rest}"))
        } else {
            key.strip_prefix("lanyard:").map(|rest| format!("aws:{rest}"))
        };
        if let Some(a) = alias {
            self.values.insert(a, values.clone());
        }
        self.values.insert(key, values);
        self
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.set(key, vec![value.to_string()]);
        self
    }

    /// The values of a key, following the `aws:` ⇄ `lanyard:` alias.
    pub fn get(&self, key: &str) -> Option<&Vec<String>> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.values.get(&key.to_ascii_lowercase())
        } else {
            self.values.get(key)
        }
    }
}

impl Vars for Context {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.first().cloned())
    }
}

/// A policy with the name decisions are reported by.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub name: String,
    pub policy: Policy,
}

/// One request to decide.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
}

/// A decision and what decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    /// A `Deny` statement matched (as opposed to nothing allowing).
    pub explicit: bool,
    /// The deciding policy and statement, when a statement decided.
    pub policy: Option<String>,
    pub sid: Option<String>,
    pub reason: String,
}

fn label(policy: &str, sid: &Option<String>, index: usize) -> String {
    match sid {
        Some(s) => format!("{policy} ({s})"),
        None => format!("{policy} (statement {index})"),
    }
}

/// Decides `req` against identity policies and an optional permissions boundary.
pub fn evaluate(identity: &[NamedPolicy], boundary: Option<&[NamedPolicy]>, req: &Request<'_>) -> Outcome {
    let prepared = prepare(req);
    let req = &prepared;
    let sets: [(&[NamedPolicy], bool); 2] = [(identity, false), (boundary.unwrap_or(&[]), true)];
    // 1. An explicit deny anywhere wins.
    for (policies, _) in sets {
        for np in policies {
            for (i, st) in np.policy.statements.iter().enumerate() {
                if st.effect == Effect::Deny && applies(&np.policy, st, req) {
                    return Outcome {
                        decision: Decision::Deny,
                        explicit: true,
                        policy: Some(np.name.clone()),
                        sid: st.sid.clone(),
                        reason: format!("explicitly denied by {}", label(&np.name, &st.sid, i)),
                    };
                }
            }
        }
    }
    // 2. An allow in an identity policy.
    let allow = first_allow(identity, req);
    let Some((name, sid, i)) = allow else {
        return Outcome {
            decision: Decision::Deny,
            explicit: false,
            policy: None,
            sid: None,
            reason: "implicitly denied: no statement allows it".into(),
        };
    };
    // 3. A boundary limits what identity policies grant; it never grants by itself.
    if let Some(b) = boundary
        && first_allow(b, req).is_none()
    {
        return Outcome {
            decision: Decision::Deny,
            explicit: false,
            policy: None,
            sid: None,
            reason: format!(
                "implicitly denied: allowed by {} but not by the permissions boundary",
                label(&name, &sid, i)
            ),
        };
    }
    Outcome {
        decision: Decision::Allow,
        explicit: false,
        reason: format!("allowed by {}", label(&name, &sid, i)),
        policy: Some(name),
        sid,
    }
}

fn first_allow(policies: &[NamedPolicy], req: &Prepared<'_>) -> Option<(String, Option<String>, usize)> {
    policies.iter().find_map(|np| {
        np.policy
            .statements
            .iter()
            .enumerate()
            .find(|(_, st)| st.effect == Effect::Allow && applies(&np.policy, st, req))
            .map(|(i, st)| (np.name.clone(), st.sid.clone(), i))
    })
}

/// A request prepared once for matching: the action lower-cased, the resource split.
struct Prepared<'a> {
    req: &'a Request<'a>,
    action: Vec<char>,
    resource: pattern::SplitArn,
}

fn prepare<'a>(req: &'a Request<'a>) -> Prepared<'a> {
    Prepared {
        req,
        action: req.action.to_lowercase().chars().collect(),
        resource: pattern::SplitArn::new(req.resource),
    }
}

/// Whether a statement covers the request: action, resource and every condition.
pub fn statement_applies(policy: &Policy, st: &Statement, req: &Request<'_>) -> bool {
    applies(policy, st, &prepare(req))
}

fn applies(policy: &Policy, st: &Statement, p: &Prepared<'_>) -> bool {
    let subst = policy.version == Version::V2012;
    let action_hit = st.compiled.actions.iter().any(|pat| pattern::matches_chars(pat, &p.action));
    let actions_ok = match &st.actions {
        Actions::Action(_) => action_hit,
        Actions::NotAction(_) => !action_hit,
    };
    if !actions_ok {
        return false;
    }
    let resource_hit = st
        .compiled
        .resources
        .iter()
        .any(|pat| pattern::arn_pat_matches(pat, &p.resource, p.req.resource, p.req.context));
    let resources_ok = match &st.resources {
        Resources::Resource(_) => resource_hit,
        Resources::NotResource(_) => !resource_hit,
    };
    resources_ok && st.conditions.iter().all(|c| condition_holds(c, subst, p.req.context))
}

/// Whether one condition (operator × key × values) holds for the context.
pub fn condition_holds(c: &Condition, subst: bool, ctx: &Context) -> bool {
    let present = ctx.get(&c.key).filter(|v| !v.is_empty());
    if c.operator == Operator::Null {
        let want_absent = c.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
        return want_absent == present.is_none();
    }
    let Some(actual) = present else {
        // Absent key: IfExists and ForAllValues hold; negated operators hold (nothing matches);
        // everything else fails.
        return c.if_exists
            || c.qualifier == Some(SetQualifier::ForAllValues)
            || (c.qualifier.is_none() && c.operator.is_negated());
    };
    // The positive form of the operator, applied to one context value against the policy values (OR).
    let positive = |value: &str| c.values.iter().any(|pv| compare(c.operator, value, pv, subst, ctx));
    let negated = c.operator.is_negated();
    match c.qualifier {
        // At least one context value satisfies the operator.
        Some(SetQualifier::ForAnyValue) => actual.iter().any(|v| positive(v) != negated),
        // Every context value satisfies the operator.
        Some(SetQualifier::ForAllValues) => actual.iter().all(|v| positive(v) != negated),
        // Single-valued use: any context value matching any policy value; negated: none does.
        None => {
            let any = actual.iter().any(|v| positive(v));
            any != negated
        }
    }
}

/// The positive comparison behind an operator (`StringNotEquals` compares like `StringEquals`).
fn compare(op: Operator, actual: &str, policy_value: &str, subst: bool, ctx: &Context) -> bool {
    use Operator::*;
    match op {
        StringEquals | StringNotEquals => lit(policy_value, subst, ctx).is_some_and(|p| p == actual),
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            lit(policy_value, subst, ctx).is_some_and(|p| p.to_lowercase() == actual.to_lowercase())
        }
        StringLike | StringNotLike => {
            pattern::compile(policy_value, subst, true, ctx).is_some_and(|p| pattern::matches(&p, actual, false))
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            match (
                actual.trim().parse::<f64>(),
                lit(policy_value, subst, ctx).and_then(|p| p.trim().parse::<f64>().ok()),
            ) {
                (Ok(a), Some(p)) => match op {
                    NumericEquals | NumericNotEquals => a == p,
                    NumericLessThan => a < p,
                    NumericLessThanEquals => a <= p,
                    NumericGreaterThan => a > p,
                    _ => a >= p,
                },
                _ => false,
            }
        }
        DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            match (parse_date(actual), lit(policy_value, subst, ctx).and_then(|p| parse_date(&p))) {
                (Some(a), Some(p)) => match op {
                    DateEquals | DateNotEquals => a == p,
                    DateLessThan => a < p,
                    DateLessThanEquals => a <= p,
                    DateGreaterThan => a > p,
                    _ => a >= p,
                },
                _ => false,
            }
        }
        Bool => lit(policy_value, subst, ctx).is_some_and(|p| p.eq_ignore_ascii_case(actual)),
        BinaryEquals => lit(policy_value, subst, ctx).is_some_and(|p| p == actual),
        IpAddress | NotIpAddress => match (actual.trim().parse::<std::net::IpAddr>(), parse_cidr(policy_value)) {
            (Ok(ip), Some(net)) => net.contains(ip),
            _ => false,
        },
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            pattern::compile(policy_value, subst, true, ctx).is_some_and(|p| pattern::arn_matches(&p, actual))
        }
        Null => false,
    }
}

/// A policy value with its variables substituted (borrowed when it has none).
fn lit<'a>(s: &'a str, subst: bool, ctx: &Context) -> Option<std::borrow::Cow<'a, str>> {
    if !subst || !s.contains("${") {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    pattern::compile(s, subst, false, ctx)
        .map(|t| std::borrow::Cow::Owned(t.into_iter().map(|x| if let Tok::Lit(c) = x { c } else { '*' }).collect()))
}

/// Parses an ISO 8601 date/time (`2026-01-31`, `2026-01-31T12:00:00Z`, with offset or
/// fractional seconds) or epoch seconds, to Unix seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp());
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Iso8601::DEFAULT) {
        return Some(t.unix_timestamp());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).ok().map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.addr, ip) {
            (V4(n), V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                (u32::from(n) & mask) == (u32::from(a) & mask)
            }
            (V6(n), V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                (u128::from(n) & mask) == (u128::from(a) & mask)
            }
            (V6(n), V4(a)) => n
                .to_ipv4_mapped()
                .is_some_and(|n4| Cidr { addr: V4(n4), prefix: self.prefix.saturating_sub(96) }.contains(V4(a))),
            (V4(_), V6(a)) => a.to_ipv4_mapped().is_some_and(|a4| self.contains(V4(a4))),
        }
    }
}

/// Parses `203.0.113.0/24`, `2001:db8::/32` or a bare address.
pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.parse::<std::net::IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = s.parse::<std::net::IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Cidr { addr, prefix })
}
