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

/// Whether `text` (already split into chars) matches the pattern; no allocation. A linear
/// backtracking wildcard match: O(len(text) × len(pattern)) at worst.
pub fn matches_chars(pat: &[Tok], text: &[char]) -> bool {
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

/// A resource pattern, compiled: `*`, six ARN segments, or (with policy variables) the text to
/// compile per request.
#[derive(Debug, Clone, PartialEq)]
pub enum ArnPat {
    Any,
    Segments(Vec<Vec<Tok>>),
    Plain(Vec<Tok>),
    Dynamic(String),
}

fn split_segments(pattern: &[Tok]) -> ArnPat {
    if pattern == [Tok::Star] {
        return ArnPat::Any;
    }
    let mut segs: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in pattern {
        if *t == Tok::Lit(':') && segs.len() < 6 {
            segs.push(Vec::new());
        } else if let Some(last) = segs.last_mut() {
            last.push(t.clone());
        }
    }
    if segs.len() == 6 { ArnPat::Segments(segs) } else { ArnPat::Plain(pattern.to_vec()) }
}

/// A resource split once per request for matching against compiled patterns: its characters,
/// and where its six ARN segments start and end (one allocation).
pub struct SplitArn {
    whole: Vec<char>,
    segments: Option<[(usize, usize); 6]>,
}

impl SplitArn {
    pub fn new(arn: &str) -> Self {
        let whole: Vec<char> = arn.chars().collect();
        let mut bounds = [(0usize, 0usize); 6];
        let mut seg = 0;
        let mut start = 0;
        for (i, c) in whole.iter().enumerate() {
            if *c == ':' && seg < 5 {
                bounds[seg] = (start, i);
                seg += 1;
                start = i + 1;
            }
        }
        bounds[5] = (start, whole.len());
        Self { segments: (seg == 5).then_some(bounds), whole }
    }
}

/// Whether a compiled resource pattern matches; dynamic ones are compiled with `vars` now.
pub fn arn_pat_matches(p: &ArnPat, arn: &SplitArn, raw: &str, vars: &dyn Vars) -> bool {
    match p {
        ArnPat::Any => true,
        ArnPat::Segments(segs) => arn
            .segments
            .as_ref()
            .is_some_and(|b| segs.iter().zip(b).all(|(p, (s, e))| matches_chars(p, &arn.whole[*s..*e]))),
        ArnPat::Plain(t) => matches_chars(t, &arn.whole),
        ArnPat::Dynamic(text) => compile(text, true, true, vars).is_some_and(|t| arn_matches(&t, raw)),
    }
}

/// Compiles a statement's action and resource patterns (variables are left for request time).
pub fn compile_statement(
    actions: &super::document::Actions,
    resources: &super::document::Resources,
    version: super::document::Version,
) -> super::document::Compiled {
    use super::document::{Actions, Resources, Version};
    struct NoVars;
    impl Vars for NoVars {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
    }
    let action_list = match actions {
        Actions::Action(l) | Actions::NotAction(l) => l,
    };
    let resource_list = match resources {
        Resources::Resource(l) | Resources::NotResource(l) => l,
    };
    let substitute = version == Version::V2012;
    super::document::Compiled {
        actions: action_list
            .iter()
            .map(|a| compile(&a.to_lowercase(), false, true, &NoVars).unwrap_or_default())
            .collect(),
        resources: resource_list
            .iter()
            .map(|r| {
                if substitute && r.contains("${") {
                    ArnPat::Dynamic(r.clone())
                } else {
                    split_segments(&compile(r, false, true, &NoVars).unwrap_or_default())
                }
            })
            .collect(),
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
    matches_chars(&pat, &text)
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
