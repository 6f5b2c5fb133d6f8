// A real OpenID Connect provider (npm oidc-provider) on loopback for the SSO test.
// Usage: node oidc-provider.js <redirect_uri>; prints "listening <port>" once ready.
// A second client, "capstan-cli", is a public native client for the CLI's own code flow
// (`capstan login --sso`): loopback callback on any port, no secret, PKCE.
// Every user logs in with any password (the provider's development interactions); the user
// "alice" is in the group "devs", every other user in "others".
'use strict';
const path = require('path');
const moduleDir = process.env.OIDC_PROVIDER_DIR;
const { default: Provider } = require(path.join(moduleDir, 'node_modules', 'oidc-provider'));
const http = require('http');

const redirectUri = process.argv[2];
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'capstan',
      client_secret: 'capstan-client-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }, {
      client_id: 'capstan-cli',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/auth/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }],
    pkce: { required: () => true, methods: ['S256'] },
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'email', 'groups'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.com`, groups: id === 'alice' ? ['devs'] : ['others'] };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});
