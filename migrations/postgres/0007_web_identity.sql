-- Trusted external OIDC issuers for STS AssumeRoleWithWebIdentity (IAM's "OpenID Connect
-- identity providers": CI systems, Kubernetes service accounts …), and credentials held by the
-- workloads they vouch for, which are no Lanyard user.

CREATE TABLE web_identity_providers (
    id         UUID PRIMARY KEY,
    -- The tokens' `iss`, exactly (https, or http on a loopback address).
    issuer     TEXT COLLATE "C" NOT NULL UNIQUE,
    -- JSON list of the `aud` values accepted (IAM's client id list).
    audiences  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- role_credentials gains the workload principal: either a user or a provider's subject.
ALTER TABLE role_credentials ALTER COLUMN user_id DROP NOT NULL;
-- A workload's credentials: the provider that vouched for it (removing the provider ends
-- them) and the token's `sub`.
ALTER TABLE role_credentials ADD COLUMN provider_id UUID REFERENCES web_identity_providers (id) ON DELETE CASCADE;
ALTER TABLE role_credentials ADD COLUMN subject TEXT;
ALTER TABLE role_credentials ADD CONSTRAINT role_credentials_principal
    CHECK ((user_id IS NULL) <> (provider_id IS NULL));
ALTER TABLE role_credentials ADD CONSTRAINT role_credentials_subject
    CHECK ((provider_id IS NULL) = (subject IS NULL));
CREATE INDEX role_credentials_provider ON role_credentials (provider_id) WHERE provider_id IS NOT NULL;
