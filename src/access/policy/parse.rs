//! Parsing and validation of IAM-style JSON policies, with errors that name the JSON path and
//! the reason. An invalid document never reaches the store; no input makes the parser panic.

use super::document::*;
use serde::Serialize;
use serde_json::Value;

/// The largest accepted document, in bytes (bounds the work each decision can take).
pub const MAX_BYTES: usize = 10_240;
/// The most statements in one document.
pub const MAX_STATEMENTS: usize = 100;

/// Why a document was refused: where (a JSON path such as `Statement[1].Condition`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct PolicyError {
    pub path: String,
    pub reason: String,
}

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError { path: path.to_string(), reason: reason.into() })
}

/// Parses and validates a policy document.
pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    if text.len() > MAX_BYTES {
        return err("$", format!("the document is larger than {MAX_BYTES} bytes"));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| PolicyError { path: "$".into(), reason: format!("not valid JSON: {e}") })?;
    from_value(&v)
}

/// Validates an already-parsed JSON value.
pub fn from_value(v: &Value) -> Result<Policy, PolicyError> {
    let obj = match v.as_object() {
        Some(o) => o,
        None => return err("$", "a policy is a JSON object"),
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            return err(&format!("$.{k}"), "unknown element (expected Version, Id, Statement)");
        }
    }
    let version = match obj.get("Version") {
        None => Version::V2008,
        Some(Value::String(s)) if s == "2012-10-17" => Version::V2012,
        Some(Value::String(s)) if s == "2008-10-17" => Version::V2008,
        Some(_) => return err("Version", "must be \"2012-10-17\" (or the legacy \"2008-10-17\")"),
    };
    let id = match obj.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return err("Id", "must be a string"),
    };
    let statements: Vec<&Value> = match obj.get("Statement") {
        None => return err("Statement", "is required"),
        Some(Value::Array(a)) if a.is_empty() => return err("Statement", "must contain at least one statement"),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        Some(_) => return err("Statement", "must be an object or an array of objects"),
    };
    if statements.len() > MAX_STATEMENTS {
        return err("Statement", format!("at most {MAX_STATEMENTS} statements"));
    }
    let mut out = Vec::with_capacity(statements.len());
    let mut sids = std::collections::HashSet::new();
    for (i, s) in statements.iter().enumerate() {
        let path = format!("Statement[{i}]");
        let st = statement(&path, s, version)?;
        if let Some(sid) = &st.sid
            && !sids.insert(sid.clone())
        {
            return err(&format!("{path}.Sid"), format!("duplicate Sid {sid:?}"));
        }
        out.push(st);
    }
    Ok(Policy { version, id, statements: out })
}

fn statement(path: &str, v: &Value, version: Version) -> Result<Statement, PolicyError> {
    let obj = match v.as_object() {
        Some(o) => o,
        None => return err(path, "a statement is a JSON object"),
    };
    for k in obj.keys() {
        match k.as_str() {
            "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition" => {}
            "Principal" | "NotPrincipal" => {
                return err(&format!("{path}.{k}"), "identity policies (permission sets) must not name a Principal");
            }
            _ => return err(&format!("{path}.{k}"), "unknown element"),
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) => Some(s.clone()),
        Some(_) => return err(&format!("{path}.Sid"), "must be a string of letters and digits"),
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(_) => return err(&format!("{path}.Effect"), "must be \"Allow\" or \"Deny\""),
        None => return err(&format!("{path}.Effect"), "is required"),
    };
    let actions = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(_), Some(_)) => return err(path, "has both Action and NotAction; use one"),
        (None, None) => return err(path, "needs Action or NotAction"),
        (Some(a), None) => Actions::Action(action_list(&format!("{path}.Action"), a)?),
        (None, Some(a)) => Actions::NotAction(action_list(&format!("{path}.NotAction"), a)?),
    };
    let resources = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(_), Some(_)) => return err(path, "has both Resource and NotResource; use one"),
        (None, None) => return err(path, "needs Resource or NotResource"),
        (Some(r), None) => Resources::Resource(resource_list(&format!("{path}.Resource"), r, version)?),
        (None, Some(r)) => Resources::NotResource(resource_list(&format!("{path}.NotResource"), r, version)?),
    };
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(&format!("{path}.Condition"), c, version)?,
    };
    let compiled = super::pattern::compile_statement(&actions, &resources, version);
    Ok(Statement { sid, effect, actions, resources, conditions, compiled })
}

fn string_list<'a>(path: &str, v: &'a Value) -> Result<Vec<(String, &'a str)>, PolicyError> {
    let items: Vec<&Value> = match v {
        Value::String(_) => vec![v],
        Value::Array(a) if a.is_empty() => return err(path, "must not be empty"),
        Value::Array(a) => a.iter().collect(),
        _ => return err(path, "must be a string or an array of strings"),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let p = if matches!(v, Value::Array(_)) { format!("{path}[{i}]") } else { path.to_string() };
            match item.as_str() {
                Some(s) if !s.is_empty() => Ok((p, s)),
                Some(_) => err(&p, "must not be empty"),
                None => err(&p, "must be a string"),
            }
        })
        .collect()
}

fn action_list(path: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
    string_list(path, v)?
        .into_iter()
        .map(|(p, s)| {
            if s == "*" {
                return Ok(s.to_string());
            }
            let Some((service, action)) = s.split_once(':') else {
                return err(&p, format!("{s:?} is not service:action (e.g. \"s3:GetObject\", \"s3:*\")"));
            };
            let service_ok = !service.is_empty()
                && service.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'));
            let action_ok = !action.is_empty()
                && action.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '-' | '_'));
            if !service_ok {
                return err(&p, format!("service prefix {service:?} may contain only letters, digits and -"));
            }
            if !action_ok {
                return err(
                    &p,
                    format!("action {action:?} may contain only letters, digits and the wildcards * and ?"),
                );
            }
            Ok(s.to_string())
        })
        .collect()
}

/// Checks `${…}` variables: balanced and known.
fn check_variables(path: &str, s: &str, version: Version) -> Result<(), PolicyError> {
    if version == Version::V2008 {
        return Ok(());
    }
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return err(path, "unclosed ${ in a policy variable") };
        let inner = &after[..end];
        let name = inner.split(',').next().unwrap_or("").trim();
        if let Some((_, default)) = inner.split_once(',') {
            let d = default.trim();
            if !(d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'')) {
                return err(
                    path,
                    format!("the default in ${{{inner}}} must be quoted, e.g. ${{aws:username, 'nobody'}}"),
                );
            }
        }
        let lower = name.to_ascii_lowercase();
        let known = matches!(name, "*" | "?" | "$")
            || ["lanyard:", "aws:"].iter().any(|p| {
                lower.strip_prefix(p).is_some_and(|k| {
                    matches!(k, "username" | "userid" | "currenttime" | "sourceip" | "epochtime")
                        || k.strip_prefix("principaltag/").is_some_and(|t| !t.is_empty())
                })
            });
        if !known {
            return err(path, format!("unknown policy variable ${{{name}}}"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

fn resource_list(path: &str, v: &Value, version: Version) -> Result<Vec<String>, PolicyError> {
    string_list(path, v)?
        .into_iter()
        .map(|(p, s)| {
            check_variables(&p, s, version)?;
            if s == "*" {
                return Ok(s.to_string());
            }
            if !s.starts_with("arn:") || s.splitn(6, ':').count() < 6 {
                return err(
                    &p,
                    format!("{s:?} is not \"*\" or an ARN (arn:partition:service:region:account:resource)"),
                );
            }
            Ok(s.to_string())
        })
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn conditions(path: &str, v: &Value, version: Version) -> Result<Vec<Condition>, PolicyError> {
    let obj = match v.as_object() {
        Some(o) if !o.is_empty() => o,
        Some(_) => return err(path, "must not be empty"),
        None => return err(path, "must be an object of operator → {key: values}"),
    };
    let mut out = Vec::new();
    for (op_name, block) in obj {
        let op_path = format!("{path}.{op_name}");
        let (qualifier, rest) = if let Some(r) = op_name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = op_name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, op_name.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) if b != "Null" => (b, true),
            _ => (rest, false),
        };
        let Some(operator) = Operator::parse(base) else {
            return err(&op_path, format!("unknown condition operator {op_name:?}"));
        };
        if operator == Operator::Null && (qualifier.is_some() || if_exists) {
            return err(&op_path, "Null takes no ForAnyValue/ForAllValues prefix or IfExists suffix");
        }
        let keys = match block.as_object() {
            Some(k) if !k.is_empty() => k,
            _ => return err(&op_path, "must be a non-empty object of condition key → value(s)"),
        };
        for (key, values) in keys {
            let key_path = format!("{op_path}.{key}");
            if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
                return err(&key_path, "a condition key is 1–256 printable characters");
            }
            let list: Vec<String> = match values {
                Value::Array(a) if a.is_empty() => return err(&key_path, "must have at least one value"),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        scalar(x).ok_or_else(|| PolicyError {
                            path: format!("{key_path}[{i}]"),
                            reason: "must be a string, number or boolean".into(),
                        })
                    })
                    .collect::<Result<_, _>>()?,
                other => vec![scalar(other).ok_or_else(|| PolicyError {
                    path: key_path.clone(),
                    reason: "must be a string, number, boolean or an array of them".into(),
                })?],
            };
            for (i, value) in list.iter().enumerate() {
                let vp = if matches!(values, Value::Array(_)) { format!("{key_path}[{i}]") } else { key_path.clone() };
                check_variables(&vp, value, version)?;
                check_value(&vp, operator, value)?;
            }
            out.push(Condition { operator, qualifier, if_exists, key: key.to_ascii_lowercase(), values: list });
        }
    }
    Ok(out)
}

/// Values must make sense for their operator (a date for Date*, a number for Numeric*, …).
fn check_value(path: &str, op: Operator, v: &str) -> Result<(), PolicyError> {
    use Operator::*;
    let has_var = v.contains("${");
    match op {
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals
            if !has_var && v.trim().parse::<f64>().is_err() =>
        {
            err(path, format!("{v:?} is not a number"))
        }
        DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals
            if !has_var && super::eval::parse_date(v).is_none() =>
        {
            err(path, format!("{v:?} is not a date (ISO 8601, e.g. 2026-01-31T12:00:00Z, or epoch seconds)"))
        }
        Bool | Null if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") => {
            err(path, "must be true or false")
        }
        IpAddress | NotIpAddress if super::eval::parse_cidr(v).is_none() => {
            err(path, format!("{v:?} is not an IP address or CIDR block"))
        }
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike if !has_var && v != "*" && !v.starts_with("arn:") => {
            err(path, format!("{v:?} is not an ARN"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(doc: &str) -> PolicyError {
        parse(doc).expect_err("must be refused")
    }

    #[test]
    fn errors_name_the_path() {
        assert_eq!(e("[]").path, "$");
        assert_eq!(e("{\"Statement\": []}").path, "Statement");
        assert_eq!(
            e(r#"{"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}"#).path,
            "Statement.Effect".replace("Statement.", "Statement[0].")
        );
        assert_eq!(
            e(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","bad"],"Resource":"*"}]}"#)
                .path,
            "Statement[0].Action[1]"
        );
        assert_eq!(
            e(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"bucket"}]}"#).path,
            "Statement[0].Resource"
        );
        assert_eq!(
            e(r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}"#).path,
            "Statement[0]"
        );
        assert_eq!(e(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}]}"#).path, "Statement[0].Condition.StringEqualz");
        assert_eq!(e(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}]}"#).path, "Statement[0].Condition.DateLessThan.aws:CurrentTime");
        assert_eq!(
            e(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}"#).path,
            "Statement[0].Principal"
        );
        assert_eq!(e(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:lanyard:s3:::${lanyard:nope}"}]}"#).path, "Statement[0].Resource");
        assert_eq!(e(r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#).path, "Statement[1].Sid");
        assert!(e(&"x".repeat(MAX_BYTES + 1)).reason.contains("larger"));
    }

    #[test]
    fn valid_documents_parse() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:lanyard:s3:::b/${lanyard:username}/*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"n":5}}}}"#)
            .expect("valid");
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].conditions.len(), 3);
        assert!(
            p.statements[0].conditions.iter().any(|c| c.if_exists && c.qualifier == Some(SetQualifier::ForAnyValue))
        );
    }

    proptest::proptest! {
        #[test]
        fn no_text_panics_the_parser(s in "\\PC{0,400}") {
            let _ = parse(&s);
        }

        #[test]
        fn no_json_shape_panics_the_parser(doc in arb_json(4)) {
            let _ = from_value(&doc);
            let wrapped = serde_json::json!({"Version": "2012-10-17", "Statement": doc});
            let _ = from_value(&wrapped);
            let stmt = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": doc}]});
            let _ = from_value(&stmt);
        }
    }

    fn arb_json(depth: u32) -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "(Allow|Deny|\\*|s3:Get\\*|arn:aws:s3:::x|StringEquals|Effect|Action|Resource|\\PC{0,12})"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(depth, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("(Version|Statement|Effect|Action|NotAction|Resource|NotResource|Condition|Sid|StringLike|ForAllValues:StringEquals|Null|aws:username|\\PC{0,8})", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }
}
