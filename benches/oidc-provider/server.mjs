// Node's oidc-provider (OpenID Certified) set up as Lanyard's benchmark is: one confidential
// client (client_secret_basic) with client_credentials, ES256-signed JWT access tokens (RFC 9068
// through resource indicators), scope api.read. Listens on PORT (default 3900).
import Provider from "oidc-provider";
import { generateKeyPair, exportJWK } from "jose";

const port = Number(process.env.PORT || 3900);
const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: "ES256", use: "sig", kid: "bench" };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: "bench",
      client_secret: "bench-secret-0123456789abcdef0123456789abcdef",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
      scope: "api.read",
    },
  ],
  jwks: { keys: [jwk] },
  scopes: ["api.read"],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:bench:api",
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "api.read",
        accessTokenFormat: "jwt",
        accessTokenTTL: 900,
        jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
});
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${port}`));
