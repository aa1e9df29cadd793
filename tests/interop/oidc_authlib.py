"""Interop: Python's authlib (an independent OAuth/OIDC client library) against Lanyard.

Discovery, authorization code + PKCE (S256) with the portal's sign-in form driven over HTTP,
token exchange, ID token signature and claims verified by authlib itself against the JWKS,
refresh, and userinfo. Run by tests/api/interop.rs; prints one JSON line of results.
Environment: LANYARD_ISSUER, LANYARD_BASE (where to connect), CLIENT_ID, CLIENT_SECRET,
USERNAME, PASSWORD, NOW (the server's injected clock, Unix seconds), REDIRECT_URI.
"""
import html
import json
import os
import re
import sys
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.common.security import generate_token

issuer = os.environ["LANYARD_ISSUER"]
base = os.environ["LANYARD_BASE"]
now = int(os.environ["NOW"])
redirect_uri = os.environ["REDIRECT_URI"]


def local(url):
    """The issuer's URLs, reached at the test server's address."""
    return url.replace(issuer, base, 1)


meta = requests.get(local(issuer + "/.well-known/openid-configuration"), timeout=10).json()
assert meta["issuer"] == issuer, meta["issuer"]
assert "S256" in meta["code_challenge_methods_supported"]

client = OAuth2Session(
    os.environ["CLIENT_ID"],
    os.environ["CLIENT_SECRET"],
    scope="openid profile email offline_access",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(64)
nonce = generate_token(20)
url, state = client.create_authorization_url(
    local(meta["authorization_endpoint"]), code_verifier=verifier, nonce=nonce
)

# The person: a browser-like session with cookies, following the portal's pages by hand.
browser = requests.Session()
r = browser.get(url, allow_redirects=False, timeout=10)
assert r.status_code == 303, r.status_code
signin = base + r.headers["location"]
page = browser.get(signin, timeout=10).text
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
nxt = html.unescape(re.search(r'name="next" value="([^"]+)"', page).group(1))
r = browser.post(
    base + "/signin",
    data={"username": os.environ["USERNAME"], "password": os.environ["PASSWORD"], "csrf_token": csrf, "next": nxt},
    allow_redirects=False,
    timeout=10,
)
assert r.status_code == 303, (r.status_code, r.text[:300])
r = browser.get(base + r.headers["location"], allow_redirects=False, timeout=10)
assert r.status_code == 303, (r.status_code, r.text[:300])
callback = r.headers["location"]
assert callback.startswith(redirect_uri), callback
query = parse_qs(urlparse(callback).query)
assert query["state"][0] == state

token = client.fetch_token(
    local(meta["token_endpoint"]),
    authorization_response=callback,
    code_verifier=verifier,
)

# authlib verifies the signature with the published keys, then the claims.
jwks = JsonWebKey.import_key_set(requests.get(local(meta["jwks_uri"]), timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": os.environ["CLIENT_ID"]},
                    "nonce": {"essential": True, "value": nonce}},
)
claims.validate(now=now)
header = json.loads(__import__("base64").urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))

refreshed = client.refresh_token(local(meta["token_endpoint"]), refresh_token=token["refresh_token"])
assert refreshed["refresh_token"] != token["refresh_token"]

info = client.get(local(meta["userinfo_endpoint"]), timeout=10).json()

print(json.dumps({
    "sub": claims["sub"],
    "alg": header["alg"],
    "amr": claims.get("amr"),
    "preferred_username": info.get("preferred_username"),
    "email": info.get("email"),
    "refreshed": bool(refreshed.get("access_token")),
}))
