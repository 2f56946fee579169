// A real OAuth2 authorization server for the hub's end-to-end tests: npm `oidc-provider` with one
// confidential client whose redirect URI is the hub's callback.
//
// Settings (environment; the port may also be the first argument):
//   PORT                    port on 127.0.0.1 (0, the default: any free port)
//   HUB_PUBLIC_URL          the hub's public URL; the client's redirect URI is HUB_PUBLIC_URL/oauth2/callback
//   OAUTH_CLIENT_ID         the client's id      (default hub-e2e)
//   OAUTH_CLIENT_SECRET     the client's secret  (default hub-e2e-secret)
//   OAUTH_TOKEN_AUTH        client_secret_post (default) or client_secret_basic
//   OAUTH_ACCESS_TOKEN_TTL  access token lifetime in seconds (default 2)
//   OAUTH_CLOCK_TOLERANCE   seconds an expired token is still honoured (default 15, as oidc-provider's)
//   OAUTH_MACHINE_CLIENT_ID / OAUTH_MACHINE_CLIENT_SECRET
//                           a second client that may use only the client_credentials grant
//                           (defaults hub-machine / hub-machine-secret), authenticated like the first
//
// Prints `ready <port>` on stdout once it listens; the issuer is http://127.0.0.1:<port>. Then one line
// per token-endpoint outcome: `grant.success <grant_type>`, `grant.error <grant_type> <error>: <description>`
// (a reused refresh token: `refresh token already used`), `grant.revoked`.
// Stops cleanly on SIGTERM and SIGINT.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const hubUrl = (process.env.HUB_PUBLIC_URL || '').replace(/\/+$/, '');
if (!hubUrl) {
  console.error('HUB_PUBLIC_URL is required');
  process.exit(2);
}
const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '0', 10);
const clientId = process.env.OAUTH_CLIENT_ID || 'hub-e2e';
const clientSecret = process.env.OAUTH_CLIENT_SECRET || 'hub-e2e-secret';
const tokenAuth = process.env.OAUTH_TOKEN_AUTH || 'client_secret_post';
if (!['client_secret_post', 'client_secret_basic'].includes(tokenAuth)) {
  console.error(`OAUTH_TOKEN_AUTH must be client_secret_post or client_secret_basic, not ${tokenAuth}`);
  process.exit(2);
}
const accessTokenTtl = Number.parseInt(process.env.OAUTH_ACCESS_TOKEN_TTL || '2', 10);
// Seconds a token stays usable after it expired (oidc-provider's default: 15).
const clockTolerance = Number.parseInt(process.env.OAUTH_CLOCK_TOLERANCE || '15', 10);
const machineClientId = process.env.OAUTH_MACHINE_CLIENT_ID || 'hub-machine';
const machineClientSecret = process.env.OAUTH_MACHINE_CLIENT_SECRET || 'hub-machine-secret';

function configuration() {
  return {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${hubUrl}/oauth2/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: tokenAuth,
      },
      {
        client_id: machineClientId,
        client_secret: machineClientSecret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: tokenAuth,
      },
    ],
    // Only S256 exists in oidc-provider 9; require it for every authorization request.
    pkce: { required: () => true },
    // A refresh token on every code exchange (not only with offline_access + prompt=consent) ...
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    // ... rotated on every use, so reusing an old one revokes the whole grant.
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
    clockTolerance,
    scopes: ['openid', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
    },
    cookies: { keys: [randomBytes(32).toString('hex')] },
  };
}

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  const provider = new Provider(`http://127.0.0.1:${actual}`, configuration());
  provider.on('server_error', (_ctx, error) => console.error('server_error', error));
  // One line per token-endpoint outcome, for tests that count grants (no token is printed).
  provider.on('grant.success', (ctx) => console.log(`grant.success ${ctx.oidc.params.grant_type}`));
  provider.on('grant.error', (ctx, error) => {
    console.log(`grant.error ${ctx.oidc.params?.grant_type} ${error.error}: ${error.error_description}`);
  });
  provider.on('grant.revoked', () => console.log('grant.revoked'));
  server.on('request', provider.callback());
  console.log(`ready ${actual}`);
});

function stop(signal) {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => {
    console.error(`${signal}: connections did not close in time`);
    process.exit(1);
  }, 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
