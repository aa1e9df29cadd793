"""Interop: unmodified boto3 (botocore) against Lanyard's AWS-compatible API under /aws.

sso-oidc register_client -> start_device_authorization -> (the code approved through the portal
over HTTP) -> create_token; sso list_accounts / list_account_roles / get_role_credentials; sts
get_caller_identity with those credentials and through a presigned URL; and the SDK's own SSO
credential provider, from a profile and the token cache, as `aws sso login` leaves them.
Run by tests/api/interop.rs; prints one JSON line of results.
Environment: LANYARD_ISSUER, LANYARD_BASE, USERNAME, PASSWORD, ACCOUNT_ID, ROLE, WORK (a
scratch directory for the AWS config and cache).
"""
import datetime
import hashlib
import json
import os
import re

work = os.environ["WORK"]
# Nothing from the machine's own AWS set-up may take part.
for k in list(os.environ):
    if k.startswith("AWS_"):
        del os.environ[k]
os.environ["AWS_CONFIG_FILE"] = os.path.join(work, "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(work, "credentials")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# botocore fixes its SSO cache directory from HOME when it is imported.
os.environ["HOME"] = work
open(os.environ["AWS_CONFIG_FILE"], "w").close()

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
import requests  # noqa: E402

issuer = os.environ["LANYARD_ISSUER"]
base = os.environ["LANYARD_BASE"]
endpoint = base + "/aws"
account = os.environ["ACCOUNT_ID"]
role = os.environ["ROLE"]
out = {}

session = boto3.session.Session(region_name="us-east-1")
oidc = session.client("sso-oidc", endpoint_url=endpoint)
reg = oidc.register_client(clientName="boto3-interop", clientType="public", scopes=["sso:account:access"])
start_url = issuer + "/"


def local(url):
    return url.replace(issuer, base, 1)


# A device code nobody approves: botocore maps the error to its modelled exception.
pending = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=start_url)
try:
    oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                      grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=pending["deviceCode"])
    out["pending"] = "no error"
except oidc.exceptions.AuthorizationPendingException:
    out["pending"] = "AuthorizationPendingException"

dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=start_url)

# The person signs in to the portal and approves the code shown on their terminal.
browser = requests.Session()
page = browser.get(base + "/signin", timeout=10).text
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
r = browser.post(base + "/signin", data={"username": os.environ["USERNAME"], "password": os.environ["PASSWORD"],
                                         "csrf_token": csrf, "next": "/"}, allow_redirects=False, timeout=10)
assert r.status_code == 303, (r.status_code, r.text[:300])
page = browser.get(local(dev["verificationUriComplete"]), timeout=10).text
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
confirm = browser.post(base + "/device", data={"user_code": dev["userCode"], "csrf_token": csrf}, timeout=10).text
csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm).group(1)
r = browser.post(base + "/device", data={"user_code": dev["userCode"], "decision": "allow", "csrf_token": csrf},
                 allow_redirects=False, timeout=10)
assert r.status_code == 303 and "device_approved" in r.headers["location"], r.status_code

token = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
refreshed = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token",
                              refreshToken=token["refreshToken"])
out["refresh_rotated"] = refreshed["refreshToken"] != token["refreshToken"]
access = refreshed["accessToken"]

sso = session.client("sso", endpoint_url=endpoint)
out["accounts"] = [a["accountId"] for a in sso.list_accounts(accessToken=access)["accountList"]]
out["roles"] = [r["roleName"] for r in sso.list_account_roles(accessToken=access, accountId=account)["roleList"]]
creds = sso.get_role_credentials(roleName=role, accountId=account, accessToken=access)["roleCredentials"]
out["key_prefix"] = creds["accessKeyId"][:4]

sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=creds["accessKeyId"], aws_secret_access_key=creds["secretAccessKey"],
                   aws_session_token=creds["sessionToken"])
ident = sts.get_caller_identity()
out["arn"] = ident["Arn"]
out["account"] = ident["Account"]
out["user_id"] = ident["UserId"]

# A resource service would forward this URL to prove who its caller is.
url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300)
r = requests.post(url, timeout=10)
out["presigned"] = r.status_code
out["presigned_arn"] = re.search(r"<Arn>([^<]+)</Arn>", r.text).group(1) if r.ok else r.text[:300]
# And one more for the Rust side to forward to the decision API: made for Lanyard's public URL.
public_sts = boto3.client("sts", endpoint_url=issuer + "/aws", region_name="us-east-1",
                          aws_access_key_id=creds["accessKeyId"], aws_secret_access_key=creds["secretAccessKey"],
                          aws_session_token=creds["sessionToken"])
out["presigned_url"] = public_sts.generate_presigned_url("get_caller_identity", ExpiresIn=300)
out["presigned_url_long"] = public_sts.generate_presigned_url("get_caller_identity", ExpiresIn=3600)

# A wrong secret: botocore raises the STS error code.
bad = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                   aws_secret_access_key="A" * 40, aws_session_token=creds["sessionToken"])
try:
    bad.get_caller_identity()
    out["bad_secret"] = "accepted"
except botocore.exceptions.ClientError as e:
    out["bad_secret"] = e.response["Error"]["Code"]

# The SDK's SSO credential provider, from a profile and the token cache `aws sso login` writes.
with open(os.environ["AWS_CONFIG_FILE"], "w") as f:
    f.write(f"""[profile lanyard]
sso_session = lanyard
sso_account_id = {account}
sso_role_name = {role}
region = us-east-1

[sso-session lanyard]
sso_start_url = {start_url}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
""")
now = datetime.datetime.now(datetime.timezone.utc)
cache_dir = os.path.join(work, ".aws", "sso", "cache")
os.makedirs(cache_dir, exist_ok=True)
with open(os.path.join(cache_dir, hashlib.sha1(b"lanyard").hexdigest() + ".json"), "w") as f:
    json.dump({
        "startUrl": start_url, "region": "us-east-1", "accessToken": access,
        "expiresAt": (now + datetime.timedelta(seconds=refreshed["expiresIn"])).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clientId": reg["clientId"], "clientSecret": reg["clientSecret"],
        "registrationExpiresAt": datetime.datetime.fromtimestamp(reg["clientSecretExpiresAt"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "refreshToken": refreshed["refreshToken"],
    }, f)
os.environ["AWS_ENDPOINT_URL"] = endpoint
profile = boto3.session.Session(profile_name="lanyard")
out["profile_arn"] = profile.client("sts").get_caller_identity()["Arn"]
print(json.dumps(out))
