// A real OpenID Connect provider (the npm package oidc-provider) that
// Tracker's test suites start for SSO1. It listens on 127.0.0.1 on a free
// port, prints `listening <port>` once ready, and is configured by
// environment variables:
//   IDP_CLIENT_ID, IDP_CLIENT_SECRET  the one registered client
//   IDP_REDIRECT_URI                  its redirect URI (Tracker's /sso/callback)
//   IDP_POST_LOGOUT_REDIRECT_URI      where sign-out returns (optional)
//   IDP_USERS  JSON [{sub, email, email_verified, xms_edov, password, name}]
// It signs people in through its own plain HTML login form (no JavaScript,
// usable by an HTTP client and by Chromium alike) and grants consent by
// itself. `POST /_control` with a JSON body changes what it answers next,
// so tests can reach every failure of a real provider:
//   {"claims": {...}}       ID tokens get these claims instead (e.g. aud,
//                           nonce, iss, exp in seconds since the epoch)
//   {"sign_with": "rogue"}  sign ID tokens with a key that is not published
//                           but has the published key's kid (bad signature)
//   {"sign_with": "rotated"} publish a second key and sign with it (rotation)
//   {"token_error": "invalid_grant"}  the token endpoint answers that error
// `POST /_control` with `{}` returns to normal behaviour. This is test
// tooling only: never run it anywhere but loopback.

import http from 'node:http';
import { Provider } from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';

const env = process.env;
// The test that started us may stop reading; that is no reason to crash.
process.stdout.on('error', () => {});
const users = JSON.parse(env.IDP_USERS || '[]');
const keyPair = async (kid) => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
};
const publicOf = ({ d, p, q, dp, dq, qi, ...pub }) => pub;

const signing = await keyPair('key-1');
const rogue = await keyPair('key-1');
const rotated = await keyPair('key-2');
let control = {};

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env.IDP_CLIENT_ID,
    client_secret: env.IDP_CLIENT_SECRET,
    redirect_uris: [env.IDP_REDIRECT_URI],
    post_logout_redirect_uris: env.IDP_POST_LOGOUT_REDIRECT_URI ? [env.IDP_POST_LOGOUT_REDIRECT_URI] : [],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signing] },
  cookies: { keys: ['tracker-test-idp-only'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified', 'xms_edov'], profile: ['name'] },
  // Put the requested claims in the ID token, as Entra ID, Okta and Google do.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => {
    const u = users.find((x) => x.sub === id);
    return u && {
      accountId: id,
      claims: () => ({ sub: u.sub, email: u.email, email_verified: u.email_verified, xms_edov: u.xms_edov, name: u.name || u.email }),
    };
  },
});

// The tampering "proxy": rewrites the provider's own answers after it made them.
provider.use(async (ctx, next) => {
  if (ctx.path === '/token' && control.token_error) {
    ctx.status = 400;
    ctx.body = { error: control.token_error, error_description: 'told to fail by the test' };
    return;
  }
  await next();
  if (ctx.path === '/jwks' && control.sign_with === 'rotated' && ctx.body?.keys) {
    ctx.body = { keys: [...ctx.body.keys, publicOf(rotated)] };
  }
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token && (control.claims || control.sign_with)) {
    const claims = { ...decodeJwt(ctx.body.id_token), ...(control.claims || {}) };
    const key = control.sign_with === 'rogue' ? rogue : control.sign_with === 'rotated' ? rotated : signing;
    const header = { ...decodeProtectedHeader(ctx.body.id_token), kid: key.kid, alg: 'RS256' };
    ctx.body = { ...ctx.body, id_token: await new SignJWT(claims).setProtectedHeader(header).sign(key) };
  }
});

const page = (body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test identity provider</title></head><body>${body}</body></html>`;
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const readBody = (req) => new Promise((resolve) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', () => resolve(new URLSearchParams(data)));
});

const loginForm = (uid, problem) => page(`<h1>Test identity provider</h1>
${problem ? `<p id="problem">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Email <input name="login" id="idp-login" autocomplete="username"></label>
<label>Password <input name="password" id="idp-password" type="password"></label>
<button type="submit" id="idp-submit">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" id="idp-abort">Cancel</button></form>`);

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the person cancelled' }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'login') {
    if (action !== 'login') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(loginForm(uid));
    }
    const form = await readBody(req);
    const user = users.find((u) => u.email === form.get('login') && u.password === form.get('password'));
    if (!user) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.statusCode = 401;
      return res.end(loginForm(uid, 'Wrong email or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  // Consent is granted by itself: the company admitted Tracker.
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/_control' && req.method === 'POST') {
      let data = '';
      for await (const c of req) data += c;
      control = JSON.parse(data || '{}');
      res.statusCode = 204;
      return res.end();
    }
    const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
    if (m) return await interaction(req, res, m[1], req.method === 'POST' ? m[2] : undefined);
    return callback(req, res);
  } catch (e) {
    res.statusCode = 500;
    res.end(page(`<p>${escape(e.message)}</p>`));
  }
});

process.stdout.write(`listening ${port}\n`);
