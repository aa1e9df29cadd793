//! Wildcard patterns (`*` any run, `?` one character) with policy variables substituted as
//! literal text, and ARN matching segment by segment.

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Lit(char),
    Star,
    Quest,
}

/// Looks up a policy variable (`lanyard:username`, …); `None` when the request has no value.
pub trait Vars {
    fn var(&self, name: &str) -> Option<String>;
}

/// Compiles `text` into tokens, substituting `${…}` variables when `substitute` (version
/// 2012-10-17). `wildcards` says whether `*` and `?` are wildcards (StringLike, Action,
/// Resource) or literal (StringEquals). Returns `None` when a variable has no value and no
/// default, which makes the element not match, as IAM does.
pub fn compile(text: &str, substitute: bool, wildcards: bool, vars: &dyn Vars) -> Option<Vec<Tok>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if substitute
            && rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            let inner = &rest[2..end];
            let value = resolve(inner, vars)?;
            out.extend(value.chars().map(Tok::Lit));
            rest = &rest[end + 1..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(match c {
            '*' if wildcards => Tok::Star,
            '?' if wildcards => Tok::Quest,
            other => Tok::Lit(other),
        });
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

/// The value of `${inner}`: a special character, a variable, or the variable's default
/// (`${aws:username, 'nobody'}`).
fn resolve(inner: &str, vars: &dyn Vars) -> Option<String> {
    let (name, default) = match inner.split_once(',') {
        Some((n, d)) => (n.trim(), Some(d.trim().trim_matches('\'').to_string())),
        None => (inner.trim(), None),
    };
    match name {
        "*" => Some("*".into()),
        "?" => Some("?".into()),
        "$" => Some("$".into()),
        _ => vars.var(name).or(default),
    }
}

/// Whether `s` matches the pattern (`case_insensitive` for actions and IgnoreCase operators).
pub fn matches(pattern: &[Tok], s: &str, case_insensitive: bool) -> bool {
    let text: Vec<char> = if case_insensitive { s.to_lowercase().chars().collect() } else { s.chars().collect() };
    let pat: Vec<Tok> = if case_insensitive {
        pattern
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Tok::Lit(c.to_lowercase().next().unwrap_or(*c)),
                other => other.clone(),
            })
            .collect()
    } else {
        pattern.to_vec()
    };
    // Classic linear-backtracking wildcard match: O(len(text) * len(pattern)) at worst.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::Quest) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|t| *t == Tok::Star)
}

/// Matches an ARN pattern against an ARN: `*` matches everything; otherwise both split into
/// six `:`-separated segments (the last may itself contain `:`), compared segment by segment,
/// so a wildcard in the region never spills into the account.
pub fn arn_matches(pattern: &[Tok], arn: &str) -> bool {
    if pattern == [Tok::Star] {
        return true;
    }
    let segs: Vec<&str> = arn.splitn(6, ':').collect();
    if segs.len() != 6 {
        return false;
    }
    let mut psegs: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in pattern {
        if *t == Tok::Lit(':') && psegs.len() < 6 {
            psegs.push(Vec::new());
        } else if let Some(last) = psegs.last_mut() {
            last.push(t.clone());
        }
    }
    if psegs.len() != 6 {
        // A bare wildcard pattern without six segments ("arn:*") matches as a plain string.
        return matches(pattern, arn, false);
    }
    psegs.iter().zip(segs).all(|(p, s)| matches(p, s, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoVars;
    impl Vars for NoVars {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
    }

    fn pat(s: &str) -> Vec<Tok> {
        compile(s, true, true, &NoVars).expect("compiles")
    }

    #[test]
    fn globs() {
        assert!(matches(&pat("s3:Get*"), "s3:GetObject", false));
        assert!(matches(&pat("s3:?et*"), "s3:SetX", false));
        assert!(!matches(&pat("s3:Get*"), "s3:PutObject", false));
        assert!(matches(&pat("*"), "", false));
        assert!(matches(&pat("a*b*c"), "aXXbYYc", false));
        assert!(!matches(&pat("a*b*c"), "aXXbYY", false));
        assert!(matches(&pat("S3:get*"), "s3:GetObject", true));
        assert!(matches(&pat("${*}"), "*", false));
        assert!(!matches(&pat("${*}"), "x", false));
    }

    #[test]
    fn arns_match_by_segment() {
        assert!(arn_matches(&pat("arn:aws:s3:::bucket/*"), "arn:aws:s3:::bucket/a/b:c"));
        assert!(!arn_matches(&pat("arn:aws:ec2:*:111122223333:instance/*"), "arn:aws:ec2:us-east-1:999:instance/i-1"));
        assert!(arn_matches(
            &pat("arn:aws:ec2:*:111122223333:instance/*"),
            "arn:aws:ec2:us-east-1:111122223333:instance/i-1"
        ));
        assert!(!arn_matches(&pat("arn:aws:s3:::bucket"), "arn:aws:s3:::bucket/x"));
        assert!(!arn_matches(&pat("arn:aws:s3:::*"), "not-an-arn"));
    }

    proptest::proptest! {
        #[test]
        fn matching_never_panics(p in "[a-z*?:${}]{0,30}", s in "[a-z:]{0,30}") {
            if let Some(t) = compile(&p, true, true, &NoVars) {
                let _ = matches(&t, &s, true);
                let _ = arn_matches(&t, &s);
            }
        }
    }
}
