//! The IAM policy grammar as types: what a parsed, validated document is.

use serde::Serialize;

/// `2012-10-17` (policy variables substituted) or `2008-10-17` (the default when `Version` is
/// absent; variables are literal text there, as in IAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Version {
    V2008,
    V2012,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// A validated policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// `Action` lists what a statement covers; `NotAction` everything but.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Actions {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

/// `Resource` lists what a statement covers; `NotResource` everything but.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Resources {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Actions,
    pub resources: Resources,
    /// Every condition must hold (AND).
    pub conditions: Vec<Condition>,
    /// Action and resource patterns compiled once at parse time, so a decision allocates little.
    #[serde(skip)]
    pub compiled: Compiled,
}

/// Pre-compiled patterns of a statement (see [`super::pattern`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compiled {
    /// Lower-cased action patterns.
    pub actions: Vec<Vec<super::pattern::Tok>>,
    pub resources: Vec<super::pattern::ArnPat>,
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Self> {
        use Operator::*;
        Some(match s {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "BinaryEquals" => BinaryEquals,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "ArnEquals" => ArnEquals,
            "ArnLike" => ArnLike,
            "ArnNotEquals" => ArnNotEquals,
            "ArnNotLike" => ArnNotLike,
            "Null" => Null,
            _ => return None,
        })
    }

    /// Negated operators are true when no value matches (and when the key is absent).
    pub fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:` on a multi-valued key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// One operator applied to one key: `"StringEquals": {"aws:username": ["a", "b"]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub operator: Operator,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    /// The context key, lower-cased (keys are case-insensitive).
    pub key: String,
    /// Several values are OR.
    pub values: Vec<String>,
}
