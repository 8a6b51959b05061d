// The tests' OpenID provider: node-oidc-provider (a certified OpenID Connect implementation) serving the users of a
// JSON file, each with a password and groups; a plain login form; consent granted for the configured clients.
// Usage: node provider.mjs <config.json>, with {"issuer", "port", "clients": [...], "users": {name: {...}}}.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = cfg.users;
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), use: 'sig', alg: 'RS256', kid: 'test' };

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients,
  jwks: { keys: [jwk] },
  cookies: { keys: ['logpipeline-test-provider-cookie-key'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  claims: { email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: true, name: user.name ?? id, preferred_username: id,
          groups: user.groups ?? [] };
      },
    };
  },
});
provider.proxy = false;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (uid, problem) => `<!doctype html><html><head><title>Test provider sign-in</title></head><body>
<h1>Test provider</h1>${problem ? `<p id="op-problem">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<input id="op-login" name="login" autocomplete="username"><input id="op-password" name="password" type="password">
<button id="op-submit" type="submit">Sign in</button></form></body></html>`;

function body(req) {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk) => { text += chunk; });
    req.on('end', () => resolve(new URLSearchParams(text)));
  });
}

function same(a, b) {
  const x = Buffer.from(String(a)); const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

async function consent(req, res, details) {
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  const result = { consent: details.grantId ? {} : { grantId } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const handler = provider.callback();
createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
  if (!match) return handler(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') return await consent(req, res, details);
    if (req.method === 'POST' && match[2]) {
      const form = await body(req);
      const user = users[form.get('login')];
      if (!user || !same(user.password, form.get('password') ?? '')) {
        res.writeHead(401, { 'content-type': 'text/html' });
        return res.end(page(match[1], 'wrong user name or password'));
      }
      return await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
        { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(page(match[1]));
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(`interaction failed: ${err.message}\n`);
  }
}).listen(cfg.port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', issuer: cfg.issuer })));
