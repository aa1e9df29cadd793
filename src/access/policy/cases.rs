//! The evaluation table: cases taken from IAM's documented semantics, each with the expected
//! decision and why. `A` = allowed, `D` = explicitly denied, `I` = implicitly denied.

use super::eval::{Context, Decision, NamedPolicy, Request, evaluate};
use super::parse::parse;

#[derive(Clone, Copy, Debug, PartialEq)]
enum E {
    A,
    D,
    I,
}
use E::*;

struct Case {
    name: &'static str,
    policies: &'static [&'static str],
    boundary: Option<&'static [&'static str]>,
    action: &'static str,
    resource: &'static str,
    ctx: &'static [(&'static str, &'static [&'static str])],
    expect: E,
    why: &'static str,
}

macro_rules! c {
    ($name:expr, [$($p:expr),*], boundary [$($b:expr),*], $action:expr, $res:expr, [$(($k:expr, [$($v:expr),*])),*], $e:expr, $why:expr) => {
        Case { name: $name, policies: &[$($p),*], boundary: Some(&[$($b),*]), action: $action, resource: $res, ctx: &[$(($k, &[$($v),*])),*], expect: $e, why: $why }
    };
    ($name:expr, [$($p:expr),*], $action:expr, $res:expr, [$(($k:expr, [$($v:expr),*])),*], $e:expr, $why:expr) => {
        Case { name: $name, policies: &[$($p),*], boundary: None, action: $action, resource: $res, ctx: &[$(($k, &[$($v),*])),*], expect: $e, why: $why }
    };
}

const ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}"#;
const BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Bucket","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::reports","arn:aws:s3:::reports/*"]}]}"#;
const EC2_ACCT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ec2","Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:*:111122223333:instance/*"}]}"#;
const DENY_DELETE: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#;
const NOT_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotIam","Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
const DENY_NOT_S3: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyS3","Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}"#;
const ALLOW_NOTRES: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotSecret","Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}]}"#;
const DENY_NOTRES: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyPublic","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::public","arn:aws:s3:::public/*"]}]}"#;
const QUEST: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Q","Effect":"Allow","Action":"s3:?etObject","Resource":"arn:aws:s3:::b/file-?.txt"}]}"#;
const STR_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Eng","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":["eng","ops"]}}}]}"#;
const STR_NEQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotProd","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"env":["prod","staging"]}}}]}"#;
const STR_EQ_IC: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ic","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"dept":"Finance"}}}]}"#;
const STR_NEQ_IC: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Nic","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEqualsIgnoreCase":{"dept":"Finance"}}}]}"#;
const STR_LIKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Like","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":["home/*","shared/??/*"]}}}]}"#;
const STR_NOTLIKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotLike","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"private/*"}}}]}"#;
const STR_EQ_STAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Lit","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":"a*"}}}]}"#;
const TWO_KEYS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"And","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a":"1","b":"2"}}}]}"#;
const TWO_OPS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"And2","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a":"1"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
const NUM_LT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Small","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}]}"#;
const NUM_LTE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Le","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"n":10}}}]}"#;
const NUM_GT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Gt","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"n":"2.5"}}}]}"#;
const NUM_GTE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ge","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericGreaterThanEquals":{"n":"3"}}}]}"#;
const NUM_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Eq","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"n":["1","2"]}}}]}"#;
const NUM_NEQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ne","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericNotEquals":{"n":"7"}}}]}"#;
const DATE_LT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Before","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}}]}"#;
const DATE_GT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"After","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}}]}"#;
const DATE_WINDOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Window","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-06-01"},"DateLessThanEquals":{"aws:CurrentTime":"2026-06-30T23:59:59Z"}}}]}"#;
const DATE_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Day","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateEquals":{"d":"2026-03-01T00:00:00Z"}}}]}"#;
const DATE_NEQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotDay","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateNotEquals":{"d":"2026-03-01T00:00:00Z"}}}]}"#;
const BOOL_MFA: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Mfa","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true}}}]}"#;
const DENY_NO_MFA: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NeedMfa","Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
const NULL_TRUE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoTag","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:RequestTag/owner":"true"}}}]}"#;
const NULL_FALSE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"HasTag","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:RequestTag/owner":"false"}}}]}"#;
const BINARY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Bin","Effect":"Allow","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"k":"QmluYXJ5"}}}]}"#;
const IP: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}}]}"#;
const NOT_IP: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotOffice","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
const IP_SINGLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"One","Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"198.51.100.7"}}}]}"#;
const ARN_LIKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"From","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic-*"}}}]}"#;
const ARN_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Exact","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:alerts"}}}]}"#;
const ARN_NOTLIKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NotFrom","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:999999999999:*"}}}]}"#;
const STR_EQ_IFEX: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"IfEx","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"ec2:InstanceType":["t3.micro","t3.small"]}}}]}"#;
const STR_NEQ_IFEX: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NIfEx","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"env":"prod"}}}]}"#;
const NUM_IFEX: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NIf","Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanIfExists":{"n":"5"}}}]}"#;
const IP_IFEX: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"IpIf","Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
const ANY_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AnyTag","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}}]}"#;
const ALL_EQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllTags","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}]}"#;
const ALL_LIKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllLike","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":"app-*"}}}]}"#;
const ANY_NEQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AnyNot","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"secret"}}}]}"#;
const ALL_NEQ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoneSecret","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret","pii"]}}}]}"#;
const DENY_ANY_SECRET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoSecretTag","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"secret"}}}]}"#;
const ALL_EQ_NULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllAndPresent","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]},"Null":{"aws:TagKeys":"false"}}}]}"#;
const HOME: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Home","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
const HOME_L: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"HomeL","Effect":"Allow","Action":"s3:*","Resource":"arn:lanyard:s3:::home/${lanyard:username}/*"}]}"#;
const HOME_2008: &str = r#"{"Version":"2008-10-17","Statement":[{"Sid":"Old","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
const TAG_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TeamRes","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#;
const USERID_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Id","Effect":"Allow","Action":"*","Resource":"arn:lanyard:vault:::secret/${lanyard:userid}"}]}"#;
const DEFAULT_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Def","Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::home/${aws:username, 'guest'}/*"}]}"#;
const STAR_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"LitStar","Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${*}"}]}"#;
const TIME_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Now","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"expires":"${aws:CurrentTime}"}}}]}"#;
const LIKE_VAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pref","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}}]}"#;
const BOUND_S3: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"BoundS3","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const BOUND_DENY_IAM: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"BoundAll","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"BoundNoIam","Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;
const BOUND_REGION: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"BoundRegion","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#;
const EMPTY_ALLOW_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Iam","Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
const MIXED: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadAll","Effect":"Allow","Action":"s3:Get*","Resource":"*"},{"Sid":"DenyHr","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::hr/*"}]}"#;
const CASE_RES: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Case","Effect":"Allow","Action":"S3:GETOBJECT","Resource":"arn:aws:s3:::Data/*"}]}"#;
const SINGLE_STMT_OBJ: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111122223333:queue"}}"#;
const NO_VERSION: &str = r#"{"Statement":[{"Sid":"NoVer","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}]}"#;
const RES_ACCOUNT_WILD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Acct","Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-*-1:*:table/orders*"}]}"#;
const SVC_WILD: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Svc","Effect":"Allow","Action":"*:Describe*","Resource":"*"}]}"#;
const LIKE_MULTI: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Lm","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:useragent":"*Firefox*"}}}]}"#;

const T: &str = "2026-11-23T12:00:00Z";

static CASES: &[Case] = &[
    // --- Actions, resources, wildcards ---
    c!(
        "star allows anything",
        [ALL],
        "ec2:RunInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
        [],
        A,
        "Action * and Resource * match every request"
    ),
    c!("prefix wildcard", [S3READ], "s3:GetObject", "arn:aws:s3:::b/k", [], A, "s3:Get* matches s3:GetObject"),
    c!("prefix wildcard list", [S3READ], "s3:ListBucket", "arn:aws:s3:::b", [], A, "s3:List* matches s3:ListBucket"),
    c!(
        "wildcard does not match other verbs",
        [S3READ],
        "s3:PutObject",
        "arn:aws:s3:::b/k",
        [],
        I,
        "nothing allows s3:PutObject: implicit deny"
    ),
    c!(
        "actions are case-insensitive",
        [S3READ],
        "S3:getobject",
        "arn:aws:s3:::b/k",
        [],
        A,
        "IAM compares actions case-insensitively"
    ),
    c!(
        "action pattern case-insensitive too",
        [CASE_RES],
        "s3:GetObject",
        "arn:aws:s3:::Data/x",
        [],
        A,
        "S3:GETOBJECT matches s3:GetObject"
    ),
    c!(
        "resources are case-sensitive",
        [CASE_RES],
        "s3:GetObject",
        "arn:aws:s3:::data/x",
        [],
        I,
        "Data/* does not match data/x: resources are case-sensitive"
    ),
    c!("other service not covered", [S3READ], "ec2:DescribeInstances", "*", [], I, "s3 patterns do not cover ec2"),
    c!("bucket ARN exact", [BUCKET], "s3:ListBucket", "arn:aws:s3:::reports", [], A, "the bucket ARN is listed"),
    c!(
        "object under bucket",
        [BUCKET],
        "s3:GetObject",
        "arn:aws:s3:::reports/2026/q1.csv",
        [],
        A,
        "reports/* covers nested keys (* crosses /)"
    ),
    c!(
        "similar bucket name",
        [BUCKET],
        "s3:GetObject",
        "arn:aws:s3:::reports-old/x",
        [],
        I,
        "reports/* does not match reports-old/x"
    ),
    c!(
        "bucket prefix not bucket",
        [BUCKET],
        "s3:ListBucket",
        "arn:aws:s3:::reportsX",
        [],
        I,
        "exact ARN reports does not match reportsX"
    ),
    c!(
        "account in ARN matches",
        [EC2_ACCT],
        "ec2:StopInstances",
        "arn:aws:ec2:eu-west-1:111122223333:instance/i-9",
        [],
        A,
        "region wildcard, account equal"
    ),
    c!(
        "other account refused",
        [EC2_ACCT],
        "ec2:StopInstances",
        "arn:aws:ec2:eu-west-1:444455556666:instance/i-9",
        [],
        I,
        "account segment differs"
    ),
    c!(
        "region wildcard does not cross segments",
        [EC2_ACCT],
        "ec2:StopInstances",
        "arn:aws:ec2:eu-west-1:111122223333:volume/v-1",
        [],
        I,
        "instance/* does not match volume/v-1"
    ),
    c!(
        "question mark one char",
        [QUEST],
        "s3:GetObject",
        "arn:aws:s3:::b/file-1.txt",
        [],
        A,
        "? matches exactly one character"
    ),
    c!(
        "question mark not two chars",
        [QUEST],
        "s3:GetObject",
        "arn:aws:s3:::b/file-12.txt",
        [],
        I,
        "? does not match two characters"
    ),
    c!(
        "question mark in action",
        [QUEST],
        "s3:SetObject",
        "arn:aws:s3:::b/file-1.txt",
        [],
        A,
        "s3:?etObject matches s3:SetObject"
    ),
    c!(
        "question mark action no match",
        [QUEST],
        "s3:PutObject",
        "arn:aws:s3:::b/file-1.txt",
        [],
        I,
        "?etObject needs one char before etObject"
    ),
    c!(
        "single statement object form",
        [SINGLE_STMT_OBJ],
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111122223333:queue",
        [],
        A,
        "Statement may be a single object"
    ),
    c!(
        "single statement other queue",
        [SINGLE_STMT_OBJ],
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111122223333:queue2",
        [],
        I,
        "exact ARN only"
    ),
    c!(
        "account and region wildcards",
        [RES_ACCOUNT_WILD],
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders-2026",
        [],
        A,
        "us-*-1 and * segments match"
    ),
    c!(
        "region pattern mismatch",
        [RES_ACCOUNT_WILD],
        "dynamodb:GetItem",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
        [],
        I,
        "us-*-1 does not match eu-west-1"
    ),
    c!(
        "service wildcard in action",
        [SVC_WILD],
        "ec2:DescribeInstances",
        "*",
        [],
        A,
        "*:Describe* matches any service's Describe actions"
    ),
    c!("service wildcard other verb", [SVC_WILD], "ec2:TerminateInstances", "*", [], I, "only Describe* is allowed"),
    c!("no policies at all", [], "s3:GetObject", "arn:aws:s3:::b/k", [], I, "default is implicit deny"),
    c!(
        "malformed resource does not match ARN",
        [BUCKET],
        "s3:GetObject",
        "reports/x",
        [],
        I,
        "a resource that is not an ARN never matches an ARN pattern"
    ),
    // --- NotAction / NotResource ---
    c!(
        "NotAction allows everything else",
        [NOT_IAM],
        "s3:GetObject",
        "*",
        [],
        A,
        "Allow with NotAction iam:* allows every non-IAM action"
    ),
    c!(
        "NotAction excludes listed",
        [NOT_IAM],
        "iam:CreateUser",
        "*",
        [],
        I,
        "NotAction does not allow the listed actions (it does not deny them either)"
    ),
    c!(
        "NotAction is not a deny",
        [NOT_IAM, EMPTY_ALLOW_IAM],
        "iam:CreateUser",
        "*",
        [],
        A,
        "another policy can still allow what NotAction left out"
    ),
    c!(
        "Deny NotAction denies everything else",
        [ALL, DENY_NOT_S3],
        "ec2:RunInstances",
        "*",
        [],
        D,
        "Deny with NotAction s3:* denies all non-S3 actions"
    ),
    c!(
        "Deny NotAction leaves listed alone",
        [ALL, DENY_NOT_S3],
        "s3:PutObject",
        "arn:aws:s3:::b/k",
        [],
        A,
        "s3 actions are outside the deny; Allow * applies"
    ),
    c!(
        "Deny NotAction does not allow",
        [DENY_NOT_S3],
        "s3:PutObject",
        "arn:aws:s3:::b/k",
        [],
        I,
        "a Deny with NotAction never grants: still implicit deny"
    ),
    c!(
        "NotResource allows others",
        [ALLOW_NOTRES],
        "s3:GetObject",
        "arn:aws:s3:::public/x",
        [],
        A,
        "NotResource allows every resource except the listed"
    ),
    c!(
        "NotResource excludes listed",
        [ALLOW_NOTRES],
        "s3:GetObject",
        "arn:aws:s3:::secret/x",
        [],
        I,
        "the listed resource is not covered"
    ),
    c!(
        "NotResource action still must match",
        [ALLOW_NOTRES],
        "s3:PutObject",
        "arn:aws:s3:::public/x",
        [],
        I,
        "only s3:GetObject is in the statement"
    ),
    c!(
        "Deny NotResource denies others",
        [ALL, DENY_NOTRES],
        "s3:GetObject",
        "arn:aws:s3:::private/x",
        [],
        D,
        "Deny s3:* on everything but public/*"
    ),
    c!(
        "Deny NotResource spares listed",
        [ALL, DENY_NOTRES],
        "s3:GetObject",
        "arn:aws:s3:::public/x",
        [],
        A,
        "public/* is outside the deny"
    ),
    c!(
        "Deny NotResource spares other services",
        [ALL, DENY_NOTRES],
        "ec2:RunInstances",
        "arn:aws:s3:::private/x",
        [],
        A,
        "the deny only covers s3:* actions"
    ),
    c!(
        "Deny NotResource bucket itself",
        [ALL, DENY_NOTRES],
        "s3:ListBucket",
        "arn:aws:s3:::public",
        [],
        A,
        "the bucket ARN is listed too"
    ),
    c!(
        "NotAction plus NotResource trap",
        [NOT_IAM, DENY_NOTRES],
        "s3:GetObject",
        "arn:aws:s3:::other/x",
        [],
        D,
        "allowed by NotAction but denied for non-public S3"
    ),
    // --- Explicit deny and multiple policies ---
    c!(
        "deny beats allow",
        [ALL, DENY_DELETE],
        "s3:DeleteObject",
        "arn:aws:s3:::b/k",
        [],
        D,
        "explicit deny overrides any allow"
    ),
    c!(
        "deny only for its actions",
        [ALL, DENY_DELETE],
        "s3:PutObject",
        "arn:aws:s3:::b/k",
        [],
        A,
        "the deny covers s3:Delete* only"
    ),
    c!(
        "deny without allow still deny",
        [DENY_DELETE],
        "s3:DeleteBucket",
        "arn:aws:s3:::b",
        [],
        D,
        "an explicit deny is reported as such"
    ),
    c!(
        "unmatched deny is implicit",
        [DENY_DELETE],
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        [],
        I,
        "the deny does not apply and nothing allows"
    ),
    c!(
        "deny in same policy",
        [MIXED],
        "s3:GetObject",
        "arn:aws:s3:::hr/salaries",
        [],
        D,
        "statement DenyHr beats ReadAll"
    ),
    c!("allow in same policy", [MIXED], "s3:GetObject", "arn:aws:s3:::eng/design", [], A, "DenyHr does not match eng/"),
    c!(
        "deny statement narrower action",
        [MIXED],
        "s3:GetObjectAcl",
        "arn:aws:s3:::hr/salaries",
        [],
        A,
        "DenyHr is s3:GetObject exactly"
    ),
    c!(
        "allows union across policies",
        [S3READ, EC2_ACCT],
        "ec2:StartInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
        [],
        A,
        "each policy adds permissions"
    ),
    c!(
        "union still bounded",
        [S3READ, EC2_ACCT],
        "ec2:StartInstances",
        "arn:aws:ec2:us-east-1:1:instance/i-1",
        [],
        I,
        "neither policy covers account 1"
    ),
    c!(
        "deny from any policy wins",
        [S3READ, BUCKET, DENY_DELETE],
        "s3:DeleteObject",
        "arn:aws:s3:::reports/x",
        [],
        D,
        "BUCKET allows s3:* but DENY_DELETE wins"
    ),
    c!(
        "order does not matter",
        [DENY_DELETE, ALL],
        "s3:DeleteObject",
        "arn:aws:s3:::b",
        [],
        D,
        "deny wins regardless of order"
    ),
    c!(
        "MFA deny when flag false",
        [ALL, DENY_NO_MFA],
        "s3:GetObject",
        "*",
        [("aws:MultiFactorAuthPresent", ["false"])],
        D,
        "BoolIfExists false matches"
    ),
    c!(
        "MFA deny when flag absent",
        [ALL, DENY_NO_MFA],
        "s3:GetObject",
        "*",
        [],
        D,
        "IfExists: absent key makes the condition true, so the deny applies"
    ),
    c!(
        "MFA present passes",
        [ALL, DENY_NO_MFA],
        "s3:GetObject",
        "*",
        [("aws:MultiFactorAuthPresent", ["true"])],
        A,
        "deny condition false; allow applies"
    ),
    c!(
        "deny with condition not met",
        [ALL, NOT_IP],
        "s3:GetObject",
        "*",
        [("aws:SourceIp", ["203.0.113.9"])],
        A,
        "source IP inside the range: NotIpAddress false"
    ),
    c!(
        "deny with condition met",
        [ALL, NOT_IP],
        "s3:GetObject",
        "*",
        [("aws:SourceIp", ["192.0.2.1"])],
        D,
        "outside the range: denied"
    ),
    // --- String operators ---
    c!(
        "StringEquals match",
        [STR_EQ],
        "x:Y",
        "*",
        [("aws:PrincipalTag/team", ["eng"])],
        A,
        "value equals one of the listed (OR)"
    ),
    c!(
        "StringEquals second value",
        [STR_EQ],
        "x:Y",
        "*",
        [("aws:PrincipalTag/team", ["ops"])],
        A,
        "multiple values are OR"
    ),
    c!("StringEquals mismatch", [STR_EQ], "x:Y", "*", [("aws:PrincipalTag/team", ["sales"])], I, "no value equal"),
    c!(
        "StringEquals case-sensitive",
        [STR_EQ],
        "x:Y",
        "*",
        [("aws:PrincipalTag/team", ["ENG"])],
        I,
        "StringEquals is case-sensitive"
    ),
    c!("StringEquals absent key", [STR_EQ], "x:Y", "*", [], I, "absent key: a positive operator does not match"),
    c!(
        "condition keys are case-insensitive",
        [STR_EQ],
        "x:Y",
        "*",
        [("AWS:PRINCIPALTAG/TEAM", ["eng"])],
        A,
        "key names compare case-insensitively"
    ),
    c!(
        "lanyard alias of aws key",
        [STR_EQ],
        "x:Y",
        "*",
        [("lanyard:PrincipalTag/team", ["eng"])],
        A,
        "aws: and lanyard: keys are aliases"
    ),
    c!("StringNotEquals other value", [STR_NEQ], "x:Y", "*", [("env", ["dev"])], A, "dev is neither prod nor staging"),
    c!(
        "StringNotEquals listed value",
        [STR_NEQ],
        "x:Y",
        "*",
        [("env", ["staging"])],
        I,
        "equals one listed value: NotEquals is false"
    ),
    c!("StringNotEquals absent key", [STR_NEQ], "x:Y", "*", [], A, "negated operator with absent key is true"),
    c!("StringEqualsIgnoreCase", [STR_EQ_IC], "x:Y", "*", [("dept", ["FINANCE"])], A, "case ignored"),
    c!("StringEqualsIgnoreCase mismatch", [STR_EQ_IC], "x:Y", "*", [("dept", ["legal"])], I, "different value"),
    c!("StringNotEqualsIgnoreCase", [STR_NEQ_IC], "x:Y", "*", [("dept", ["finance"])], I, "equal ignoring case"),
    c!("StringNotEqualsIgnoreCase other", [STR_NEQ_IC], "x:Y", "*", [("dept", ["legal"])], A, "not equal"),
    c!("StringLike star", [STR_LIKE], "s3:ListBucket", "*", [("s3:prefix", ["home/alice/docs"])], A, "home/* matches"),
    c!(
        "StringLike question marks",
        [STR_LIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["shared/ab/x"])],
        A,
        "shared/??/* matches two characters"
    ),
    c!(
        "StringLike question marks wrong length",
        [STR_LIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["shared/abc/x"])],
        I,
        "?? needs exactly two"
    ),
    c!(
        "StringLike no match",
        [STR_LIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["etc/passwd"])],
        I,
        "no pattern matches"
    ),
    c!(
        "StringLike case-sensitive",
        [STR_LIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["HOME/x"])],
        I,
        "StringLike is case-sensitive"
    ),
    c!(
        "StringNotLike",
        [STR_NOTLIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["public/x"])],
        A,
        "does not match private/*"
    ),
    c!(
        "StringNotLike matched",
        [STR_NOTLIKE],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["private/x"])],
        I,
        "matches private/*"
    ),
    c!("StringNotLike absent", [STR_NOTLIKE], "s3:ListBucket", "*", [], A, "negated operator, absent key: true"),
    c!(
        "StringEquals treats star literally",
        [STR_EQ_STAR],
        "x:Y",
        "*",
        [("k", ["abc"])],
        I,
        "StringEquals has no wildcards"
    ),
    c!("StringEquals literal star equal", [STR_EQ_STAR], "x:Y", "*", [("k", ["a*"])], A, "the literal a* equals"),
    c!(
        "StringLike on user agent",
        [LIKE_MULTI],
        "x:Y",
        "*",
        [("aws:UserAgent", ["Mozilla/5.0 Firefox/120"])],
        A,
        "*Firefox* matches"
    ),
    c!(
        "two keys both hold",
        [TWO_KEYS],
        "x:Y",
        "*",
        [("a", ["1"]), ("b", ["2"])],
        A,
        "keys within an operator are AND"
    ),
    c!("two keys one fails", [TWO_KEYS], "x:Y", "*", [("a", ["1"]), ("b", ["3"])], I, "AND: one false makes it false"),
    c!("two keys one absent", [TWO_KEYS], "x:Y", "*", [("a", ["1"])], I, "absent key fails the AND"),
    c!(
        "two operators both hold",
        [TWO_OPS],
        "x:Y",
        "*",
        [("a", ["1"]), ("aws:MultiFactorAuthPresent", ["true"])],
        A,
        "operators are AND"
    ),
    c!(
        "two operators one fails",
        [TWO_OPS],
        "x:Y",
        "*",
        [("a", ["1"]), ("aws:MultiFactorAuthPresent", ["false"])],
        I,
        "Bool fails"
    ),
    // --- Numeric ---
    c!("NumericLessThan true", [NUM_LT], "s3:ListBucket", "*", [("s3:max-keys", ["9"])], A, "9 < 10"),
    c!(
        "NumericLessThan equal is false",
        [NUM_LT],
        "s3:ListBucket",
        "*",
        [("s3:max-keys", ["10"])],
        I,
        "10 is not < 10"
    ),
    c!(
        "NumericLessThan not a number",
        [NUM_LT],
        "s3:ListBucket",
        "*",
        [("s3:max-keys", ["ten"])],
        I,
        "a non-number never matches"
    ),
    c!(
        "NumericLessThanEquals equal",
        [NUM_LTE],
        "x:Y",
        "*",
        [("n", ["10"])],
        A,
        "10 <= 10 (policy value as JSON number)"
    ),
    c!("NumericGreaterThan decimal", [NUM_GT], "x:Y", "*", [("n", ["2.6"])], A, "2.6 > 2.5"),
    c!("NumericGreaterThan false", [NUM_GT], "x:Y", "*", [("n", ["2.5"])], I, "2.5 is not > 2.5"),
    c!("NumericGreaterThanEquals", [NUM_GTE], "x:Y", "*", [("n", ["3.0"])], A, "3.0 >= 3"),
    c!("NumericEquals any of list", [NUM_EQ], "x:Y", "*", [("n", ["2"])], A, "equals one of 1, 2"),
    c!("NumericEquals compares numbers", [NUM_EQ], "x:Y", "*", [("n", ["1.0"])], A, "1.0 equals 1 numerically"),
    c!("NumericNotEquals", [NUM_NEQ], "x:Y", "*", [("n", ["8"])], A, "8 != 7"),
    c!("NumericNotEquals equal", [NUM_NEQ], "x:Y", "*", [("n", ["7"])], I, "7 == 7"),
    c!("Numeric absent key", [NUM_LT], "s3:ListBucket", "*", [], I, "absent key: positive operator false"),
    // --- Date ---
    c!("DateLessThan now", [DATE_LT], "x:Y", "*", [("aws:CurrentTime", [T])], A, "2026-11-23 is before year end"),
    c!(
        "DateLessThan after",
        [DATE_LT],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["2027-01-01T00:00:00Z"])],
        I,
        "after the limit"
    ),
    c!("DateGreaterThan", [DATE_GT], "x:Y", "*", [("aws:CurrentTime", [T])], A, "after 2026-01-01"),
    c!(
        "DateGreaterThan epoch seconds",
        [DATE_GT],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["1800000000"])],
        A,
        "epoch seconds are dates too (2027)"
    ),
    c!(
        "Date window inside",
        [DATE_WINDOW],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["2026-06-15T08:00:00Z"])],
        A,
        "both bounds hold"
    ),
    c!(
        "Date window outside",
        [DATE_WINDOW],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["2026-07-01T00:00:00Z"])],
        I,
        "after the end"
    ),
    c!(
        "Date window lower bound inclusive",
        [DATE_WINDOW],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["2026-06-01T00:00:00Z"])],
        A,
        "date-only means midnight UTC; >= holds"
    ),
    c!(
        "DateEquals with offset",
        [DATE_EQ],
        "x:Y",
        "*",
        [("d", ["2026-03-01T01:00:00+01:00"])],
        A,
        "same instant in another offset"
    ),
    c!("DateNotEquals", [DATE_NEQ], "x:Y", "*", [("d", ["2026-03-02T00:00:00Z"])], A, "different instant"),
    c!(
        "Date unparsable context",
        [DATE_LT],
        "x:Y",
        "*",
        [("aws:CurrentTime", ["yesterday"])],
        I,
        "a non-date never matches"
    ),
    // --- Bool, Null, Binary ---
    c!(
        "Bool true",
        [BOOL_MFA],
        "x:Y",
        "*",
        [("aws:MultiFactorAuthPresent", ["true"])],
        A,
        "true equals true (policy value JSON boolean)"
    ),
    c!(
        "Bool case-insensitive",
        [BOOL_MFA],
        "x:Y",
        "*",
        [("aws:MultiFactorAuthPresent", ["TRUE"])],
        A,
        "booleans compare case-insensitively"
    ),
    c!("Bool false", [BOOL_MFA], "x:Y", "*", [("aws:MultiFactorAuthPresent", ["false"])], I, "false is not true"),
    c!("Bool absent", [BOOL_MFA], "x:Y", "*", [], I, "absent key: false"),
    c!("Null true when absent", [NULL_TRUE], "x:Y", "*", [], A, "Null true: the key is absent"),
    c!("Null true when present", [NULL_TRUE], "x:Y", "*", [("aws:RequestTag/owner", ["bob"])], I, "key present"),
    c!(
        "Null false when present",
        [NULL_FALSE],
        "x:Y",
        "*",
        [("aws:RequestTag/owner", ["bob"])],
        A,
        "Null false: the key is present"
    ),
    c!("Null false when absent", [NULL_FALSE], "x:Y", "*", [], I, "key absent"),
    c!("BinaryEquals", [BINARY], "x:Y", "*", [("k", ["QmluYXJ5"])], A, "same base64 value"),
    c!("BinaryEquals other", [BINARY], "x:Y", "*", [("k", ["QmluYXJz"])], I, "different bytes"),
    // --- IP addresses ---
    c!("IpAddress in v4 range", [IP], "x:Y", "*", [("aws:SourceIp", ["203.0.113.77"])], A, "inside 203.0.113.0/24"),
    c!("IpAddress outside", [IP], "x:Y", "*", [("aws:SourceIp", ["203.0.114.1"])], I, "outside the /24"),
    c!("IpAddress v6 range", [IP], "x:Y", "*", [("aws:SourceIp", ["2001:db8:1::5"])], A, "inside 2001:db8::/32"),
    c!("IpAddress v6 outside", [IP], "x:Y", "*", [("aws:SourceIp", ["2001:db9::1"])], I, "outside"),
    c!(
        "IpAddress via lanyard alias",
        [IP],
        "x:Y",
        "*",
        [("lanyard:SourceIp", ["203.0.113.1"])],
        A,
        "lanyard:SourceIp is aws:SourceIp"
    ),
    c!(
        "IpAddress single host",
        [IP_SINGLE],
        "x:Y",
        "*",
        [("aws:SourceIp", ["198.51.100.7"])],
        A,
        "a bare address is a /32"
    ),
    c!(
        "IpAddress single host other",
        [IP_SINGLE],
        "x:Y",
        "*",
        [("aws:SourceIp", ["198.51.100.8"])],
        I,
        "not that host"
    ),
    c!("IpAddress garbage", [IP], "x:Y", "*", [("aws:SourceIp", ["not-an-ip"])], I, "unparsable address never matches"),
    c!("IpAddress absent", [IP], "x:Y", "*", [], I, "absent key"),
    c!(
        "NotIpAddress absent denies",
        [ALL, NOT_IP],
        "x:Y",
        "*",
        [],
        D,
        "negated operator with absent key is true, so the deny applies"
    ),
    // --- ARN operators ---
    c!(
        "ArnLike match",
        [ARN_LIKE],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:111122223333:topic-alerts"])],
        A,
        "segment-wise wildcard match"
    ),
    c!(
        "ArnLike other account",
        [ARN_LIKE],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:999999999999:topic-alerts"])],
        I,
        "account differs"
    ),
    c!(
        "ArnLike wildcard does not cross segment",
        [ARN_LIKE],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:111122223333:other:topic-x"])],
        I,
        "topic-* must start the resource part"
    ),
    c!(
        "ArnEquals exact",
        [ARN_EQ],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:111122223333:alerts"])],
        A,
        "identical ARN"
    ),
    c!(
        "ArnEquals other region",
        [ARN_EQ],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-west-2:111122223333:alerts"])],
        I,
        "region differs"
    ),
    c!(
        "ArnNotLike",
        [ARN_NOTLIKE],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:111122223333:t"])],
        A,
        "not from the blocked account"
    ),
    c!(
        "ArnNotLike blocked",
        [ARN_NOTLIKE],
        "x:Y",
        "*",
        [("aws:SourceArn", ["arn:aws:sns:us-east-1:999999999999:t"])],
        I,
        "from the blocked account"
    ),
    c!("ArnLike not an ARN", [ARN_LIKE], "x:Y", "*", [("aws:SourceArn", ["topic-alerts"])], I, "not an ARN"),
    // --- IfExists ---
    c!("IfExists absent key true", [STR_EQ_IFEX], "ec2:RunInstances", "*", [], A, "absent key: IfExists makes it true"),
    c!(
        "IfExists present match",
        [STR_EQ_IFEX],
        "ec2:RunInstances",
        "*",
        [("ec2:InstanceType", ["t3.micro"])],
        A,
        "present and equal"
    ),
    c!(
        "IfExists present mismatch",
        [STR_EQ_IFEX],
        "ec2:RunInstances",
        "*",
        [("ec2:InstanceType", ["m5.24xlarge"])],
        I,
        "present and not equal"
    ),
    c!("NotEqualsIfExists absent", [STR_NEQ_IFEX], "x:Y", "*", [], A, "absent: true"),
    c!("NotEqualsIfExists prod", [STR_NEQ_IFEX], "x:Y", "*", [("env", ["prod"])], I, "present and equal to prod"),
    c!("NotEqualsIfExists dev", [STR_NEQ_IFEX], "x:Y", "*", [("env", ["dev"])], A, "present and not prod"),
    c!("NumericIfExists absent", [NUM_IFEX], "x:Y", "*", [], A, "absent: true"),
    c!("NumericIfExists too big", [NUM_IFEX], "x:Y", "*", [("n", ["9"])], I, "present and not < 5"),
    c!("IpIfExists absent", [IP_IFEX], "x:Y", "*", [], A, "absent: true"),
    c!("IpIfExists outside", [IP_IFEX], "x:Y", "*", [("aws:SourceIp", ["192.0.2.1"])], I, "present, outside 10/8"),
    // --- Set qualifiers ---
    c!("ForAnyValue one matches", [ANY_EQ], "x:Y", "*", [("aws:TagKeys", ["cost", "team"])], A, "team is in the list"),
    c!(
        "ForAnyValue none matches",
        [ANY_EQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["cost", "owner"])],
        I,
        "no value in the list"
    ),
    c!("ForAnyValue absent key", [ANY_EQ], "x:Y", "*", [], I, "absent (empty set): ForAnyValue is false"),
    c!(
        "ForAllValues all in list",
        [ALL_EQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["env", "team"])],
        A,
        "every value is allowed"
    ),
    c!("ForAllValues subset", [ALL_EQ], "x:Y", "*", [("aws:TagKeys", ["env"])], A, "a subset is fine"),
    c!("ForAllValues one extra", [ALL_EQ], "x:Y", "*", [("aws:TagKeys", ["env", "cost"])], I, "cost is not allowed"),
    c!(
        "ForAllValues absent key is true",
        [ALL_EQ],
        "x:Y",
        "*",
        [],
        A,
        "the documented trap: an empty set satisfies ForAllValues"
    ),
    c!("ForAllValues with Null guard", [ALL_EQ_NULL], "x:Y", "*", [], I, "Null false closes the empty-set trap"),
    c!(
        "ForAllValues with Null guard present",
        [ALL_EQ_NULL],
        "x:Y",
        "*",
        [("aws:TagKeys", ["env"])],
        A,
        "present and allowed"
    ),
    c!(
        "ForAllValues StringLike",
        [ALL_LIKE],
        "x:Y",
        "*",
        [("aws:TagKeys", ["app-a", "app-b"])],
        A,
        "every key matches app-*"
    ),
    c!(
        "ForAllValues StringLike one off",
        [ALL_LIKE],
        "x:Y",
        "*",
        [("aws:TagKeys", ["app-a", "db"])],
        I,
        "db does not match"
    ),
    c!(
        "ForAnyValue StringNotEquals",
        [ANY_NEQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["secret", "env"])],
        A,
        "env is not secret"
    ),
    c!(
        "ForAnyValue StringNotEquals only secret",
        [ANY_NEQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["secret"])],
        I,
        "no value differs"
    ),
    c!(
        "ForAllValues StringNotEquals",
        [ALL_NEQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["env", "team"])],
        A,
        "no value is secret or pii"
    ),
    c!(
        "ForAllValues StringNotEquals one bad",
        [ALL_NEQ],
        "x:Y",
        "*",
        [("aws:TagKeys", ["env", "pii"])],
        I,
        "pii is listed"
    ),
    c!(
        "Deny ForAnyValue secret tag",
        [ALL, DENY_ANY_SECRET],
        "x:Y",
        "*",
        [("aws:TagKeys", ["a", "secret"])],
        D,
        "any secret tag triggers the deny"
    ),
    c!(
        "Deny ForAnyValue no secret",
        [ALL, DENY_ANY_SECRET],
        "x:Y",
        "*",
        [("aws:TagKeys", ["a"])],
        A,
        "deny does not apply"
    ),
    c!(
        "multi-valued key without qualifier",
        [STR_EQ],
        "x:Y",
        "*",
        [("aws:PrincipalTag/team", ["sales", "eng"])],
        A,
        "any value matching suffices"
    ),
    // --- Policy variables ---
    c!(
        "username variable",
        [HOME],
        "s3:GetObject",
        "arn:aws:s3:::home/alice/notes.txt",
        [("aws:username", ["alice"])],
        A,
        "${aws:username} becomes alice"
    ),
    c!(
        "username variable other home",
        [HOME],
        "s3:GetObject",
        "arn:aws:s3:::home/bob/notes.txt",
        [("aws:username", ["alice"])],
        I,
        "alice cannot reach bob's home"
    ),
    c!(
        "username variable missing",
        [HOME],
        "s3:GetObject",
        "arn:aws:s3:::home/alice/notes.txt",
        [],
        I,
        "no value for the variable: the resource does not match"
    ),
    c!(
        "lanyard username variable",
        [HOME_L],
        "s3:GetObject",
        "arn:lanyard:s3:::home/carol/x",
        [("lanyard:username", ["carol"])],
        A,
        "${lanyard:username}"
    ),
    c!(
        "aws alias feeds lanyard variable",
        [HOME_L],
        "s3:GetObject",
        "arn:lanyard:s3:::home/carol/x",
        [("aws:username", ["carol"])],
        A,
        "aliases resolve both ways"
    ),
    c!(
        "2008 version keeps variables literal",
        [HOME_2008],
        "s3:GetObject",
        "arn:aws:s3:::home/alice/x",
        [("aws:username", ["alice"])],
        I,
        "Version 2008-10-17 does not substitute"
    ),
    c!(
        "no version keeps variables literal",
        [NO_VERSION],
        "s3:GetObject",
        "arn:aws:s3:::b/alice",
        [("aws:username", ["alice"])],
        I,
        "a missing Version means 2008-10-17"
    ),
    c!(
        "variable in a literal value position",
        [NO_VERSION],
        "s3:GetObject",
        "arn:aws:s3:::b/${aws:username}",
        [("aws:username", ["alice"])],
        A,
        "in 2008 the text ${aws:username} is literal"
    ),
    c!(
        "principal tag variable in condition",
        [TAG_VAR],
        "x:Y",
        "*",
        [("aws:ResourceTag/team", ["eng"]), ("aws:PrincipalTag/team", ["eng"])],
        A,
        "resource tag equals the principal's tag"
    ),
    c!(
        "principal tag variable mismatch",
        [TAG_VAR],
        "x:Y",
        "*",
        [("aws:ResourceTag/team", ["ops"]), ("aws:PrincipalTag/team", ["eng"])],
        I,
        "different teams"
    ),
    c!(
        "principal tag variable missing",
        [TAG_VAR],
        "x:Y",
        "*",
        [("aws:ResourceTag/team", ["eng"])],
        I,
        "no principal tag: the condition cannot match"
    ),
    c!(
        "userid variable",
        [USERID_VAR],
        "vault:Read",
        "arn:lanyard:vault:::secret/u-42",
        [("lanyard:userid", ["u-42"])],
        A,
        "${lanyard:userid}"
    ),
    c!(
        "default value used",
        [DEFAULT_VAR],
        "s3:GetObject",
        "arn:aws:s3:::home/guest/x",
        [],
        A,
        "${aws:username, 'guest'} falls back to guest"
    ),
    c!(
        "default value not used",
        [DEFAULT_VAR],
        "s3:GetObject",
        "arn:aws:s3:::home/guest/x",
        [("aws:username", ["dan"])],
        I,
        "the real username wins over the default"
    ),
    c!("literal star variable", [STAR_VAR], "s3:GetObject", "arn:aws:s3:::b/*", [], A, "${*} is a literal asterisk"),
    c!(
        "literal star is not a wildcard",
        [STAR_VAR],
        "s3:GetObject",
        "arn:aws:s3:::b/anything",
        [],
        I,
        "${*} matches only *"
    ),
    c!(
        "current time variable",
        [TIME_VAR],
        "x:Y",
        "*",
        [("expires", ["2026-11-01T00:00:00Z"]), ("aws:CurrentTime", [T])],
        A,
        "expires < now"
    ),
    c!(
        "current time variable future",
        [TIME_VAR],
        "x:Y",
        "*",
        [("expires", ["2027-01-01T00:00:00Z"]), ("aws:CurrentTime", [T])],
        I,
        "expires is in the future"
    ),
    c!(
        "variable inside StringLike",
        [LIKE_VAR],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["erin/docs"]), ("aws:username", ["erin"])],
        A,
        "${aws:username}/* with erin"
    ),
    c!(
        "variable value is literal in StringLike",
        [LIKE_VAR],
        "s3:ListBucket",
        "*",
        [("s3:prefix", ["xx/docs"]), ("aws:username", ["x?"])],
        I,
        "a ? inside a variable's value is not a wildcard"
    ),
    // --- Permissions boundary ---
    c!(
        "boundary allows",
        [ALL],
        boundary[BOUND_S3],
        "s3:GetObject",
        "*",
        [],
        A,
        "identity allows and the boundary allows"
    ),
    c!(
        "boundary limits",
        [ALL],
        boundary[BOUND_S3],
        "ec2:RunInstances",
        "*",
        [],
        I,
        "identity allows but the boundary does not: implicit deny"
    ),
    c!("boundary never grants", [], boundary[BOUND_S3], "s3:GetObject", "*", [], I, "a boundary alone grants nothing"),
    c!(
        "boundary and identity both needed",
        [EC2_ACCT],
        boundary[BOUND_S3],
        "s3:GetObject",
        "*",
        [],
        I,
        "the boundary allows s3 but the identity policy does not"
    ),
    c!(
        "boundary deny wins",
        [ALL],
        boundary[BOUND_DENY_IAM],
        "iam:CreateUser",
        "*",
        [],
        D,
        "an explicit deny in the boundary is an explicit deny"
    ),
    c!("boundary deny spares others", [ALL], boundary[BOUND_DENY_IAM], "s3:PutObject", "*", [], A, "allowed by both"),
    c!(
        "boundary with condition true",
        [ALL],
        boundary[BOUND_REGION],
        "ec2:RunInstances",
        "*",
        [("aws:RequestedRegion", ["eu-west-1"])],
        A,
        "boundary condition holds"
    ),
    c!(
        "boundary with condition false",
        [ALL],
        boundary[BOUND_REGION],
        "ec2:RunInstances",
        "*",
        [("aws:RequestedRegion", ["us-east-1"])],
        I,
        "boundary condition fails"
    ),
    c!(
        "identity deny with boundary",
        [ALL, DENY_DELETE],
        boundary[BOUND_S3],
        "s3:DeleteObject",
        "*",
        [],
        D,
        "identity deny still wins"
    ),
    c!("empty boundary list denies", [ALL], boundary [], "s3:GetObject", "*", [], I, "a boundary with no statements allows nothing"),
];

fn policies(texts: &[&str], prefix: &str) -> Vec<NamedPolicy> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| NamedPolicy {
            name: format!("{prefix}{i}"),
            policy: parse(t).unwrap_or_else(|e| panic!("{prefix}{i} is invalid: {e}")),
        })
        .collect()
}

#[test]
fn iam_evaluation_table() {
    assert!(CASES.len() >= 150, "the table holds {} cases", CASES.len());
    let mut failures = Vec::new();
    for case in CASES {
        let identity = policies(case.policies, "policy");
        let boundary = case.boundary.map(|b| policies(b, "boundary"));
        let mut ctx = Context::new();
        for (k, vs) in case.ctx {
            ctx.set(k, vs.iter().map(|v| v.to_string()).collect());
        }
        let out = evaluate(
            &identity,
            boundary.as_deref(),
            &Request { action: case.action, resource: case.resource, context: &ctx },
        );
        let got = match (out.decision, out.explicit) {
            (Decision::Allow, _) => A,
            (Decision::Deny, true) => D,
            (Decision::Deny, false) => I,
        };
        if got != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?} ({}) — {}",
                case.name, case.expect, got, out.reason, case.why
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[test]
fn outcomes_name_the_deciding_statement() {
    let identity = policies(&[ALL, DENY_DELETE], "p");
    let ctx = Context::new();
    let out = evaluate(&identity, None, &Request { action: "s3:DeleteObject", resource: "*", context: &ctx });
    assert_eq!(out.policy.as_deref(), Some("p1"));
    assert_eq!(out.sid.as_deref(), Some("NoDelete"));
    assert_eq!(out.reason, "explicitly denied by p1 (NoDelete)");
    let out = evaluate(&identity, None, &Request { action: "s3:GetObject", resource: "*", context: &ctx });
    assert_eq!(out.reason, "allowed by p0 (All)");
    let out = evaluate(
        &policies(&[S3READ], "p"),
        None,
        &Request { action: "ec2:RunInstances", resource: "*", context: &ctx },
    );
    assert!(out.reason.contains("no statement allows"));
}
