//! Policy decision cost in-process (`cargo bench --bench policy`): a realistic permission set
//! of 10 statements with wildcards, a NotAction, conditions and a policy variable.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lanyard::access::policy::{Context, NamedPolicy, Request, evaluate, parse};
use std::hint::black_box;

/// The realistic permission set both benches use.
const SET: &str = include_str!("permission_set.json");

fn decisions(c: &mut Criterion) {
    let policies = vec![NamedPolicy { name: "Engineer".into(), policy: parse(SET).expect("valid") }];
    let ctx = Context::new()
        .with("aws:username", "alice")
        .with("aws:PrincipalTag/team", "eng")
        .with("aws:ResourceTag/team", "eng")
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:SecureTransport", "true")
        .with("aws:CurrentTime", "2026-11-23T12:00:00Z");
    let requests = [
        ("s3:GetObject", "arn:aws:s3:::reports/2026/q3.csv"),
        ("s3:PutObject", "arn:aws:s3:::home/alice/notes.txt"),
        ("ec2:StopInstances", "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"),
        ("dynamodb:Query", "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-2026"),
        ("iam:CreateUser", "*"),
        ("s3:PutObject", "arn:aws:s3:::reports/x"),
    ];
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("decide 6 requests, 10-statement set", |b| {
        b.iter(|| {
            for (action, resource) in requests {
                black_box(evaluate(&policies, None, &Request { action, resource, context: &ctx }));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
