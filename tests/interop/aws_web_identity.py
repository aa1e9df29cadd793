"""Interop: botocore's own web identity credential provider (AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE, as CI systems and Kubernetes set them) against Lanyard's STS, with
a token from an external issuer that Lanyard trusts as a web identity provider; and the
explicit sts.assume_role_with_web_identity call, including a refused token.
Run by tests/api/interop.rs; prints one JSON line of results.
Environment: LANYARD_BASE, ROLE_ARN, TOKEN, WORK (a scratch directory).
"""
import json
import os

work = os.environ["WORK"]
token = os.environ["TOKEN"]
role_arn = os.environ["ROLE_ARN"]
endpoint = os.environ["LANYARD_BASE"] + "/aws"
# Nothing from the machine's own AWS set-up may take part.
for k in list(os.environ):
    if k.startswith("AWS_"):
        del os.environ[k]
os.environ["HOME"] = work
os.environ["AWS_CONFIG_FILE"] = os.path.join(work, "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(work, "credentials")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
open(os.environ["AWS_CONFIG_FILE"], "w").close()
token_file = os.path.join(work, "token")
with open(token_file, "w") as f:
    f.write(token + "\n")
os.environ["AWS_ROLE_ARN"] = role_arn
os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token_file
os.environ["AWS_ROLE_SESSION_NAME"] = "ci-run"
os.environ["AWS_ENDPOINT_URL"] = endpoint

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402

out = {}
session = boto3.session.Session(region_name="us-east-1")
out["method"] = session.get_credentials().method
out["arn"] = session.client("sts").get_caller_identity()["Arn"]
out["key_prefix"] = session.get_credentials().get_frozen_credentials().access_key[:4]

sts = boto3.client("sts", region_name="us-east-1")
r = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="direct", WebIdentityToken=token)
out["subject"] = r["SubjectFromWebIdentityToken"]
out["provider"] = r["Provider"]
out["audience"] = r["Audience"]
out["direct_arn"] = r["AssumedRoleUser"]["Arn"]
try:
    sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="direct", WebIdentityToken=token[:-4] + "AAAA")
    out["tampered"] = "accepted"
except botocore.exceptions.ClientError as e:
    out["tampered"] = e.response["Error"]["Code"]
print(json.dumps(out))
