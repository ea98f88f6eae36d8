// Test OpenID Provider for the flask_okta_client end-to-end tests: panva's certified oidc-provider,
// configured to behave like an Okta authorization server (JWT access tokens for api://default), plus
// token exchange (RFC 8693, ID-JAG) and JWT bearer (RFC 7523) grants. Usage: node server.mjs PORT CONFIG_JSON
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import { applyDpopBinding } from 'oidc-provider/lib/helpers/grant_common.js';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';

const API_RESOURCE = 'api://default';
const API_RESOURCE_SERVER = {
  scope: 'messages:read openid profile email offline_access',
  audience: API_RESOURCE,
  accessTokenFormat: 'jwt',
};

const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const TOKEN_TYPE_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_JAG_JWT_TYPE = 'oauth-id-jag+jwt';
const ID_JAG_LIFETIME_SECONDS = 300;

const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username', 'groups'],
  groups: ['groups'],
};

function accountClaims(login) {
  const email = login.includes('@') ? login : `${login}@example.com`;
  const localPart = email.split('@')[0];
  return {
    sub: login,
    email,
    email_verified: true,
    name: localPart.charAt(0).toUpperCase() + localPart.slice(1),
    preferred_username: email,
    groups: ['Everyone', 'Staff'],
  };
}

async function findAccount(_ctx, login) {
  return { accountId: login, claims: async () => accountClaims(login) };
}

function claimsForScopes(claims, scopes) {
  const allowed = new Set([...scopes].flatMap((scope) => CLAIMS[scope] ?? []));
  return Object.fromEntries(Object.entries(claims).filter(([name]) => allowed.has(name)));
}

async function generateSigningKeys() {
  return Promise.all(['RS256', 'ES256'].map(async (alg) => {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...await jose.exportJWK(publicKey), alg, use: 'sig' };
    const kid = await jose.calculateJwkThumbprint(publicJwk);
    return {
      privateKey,
      privateJwk: { ...await jose.exportJWK(privateKey), alg, use: 'sig', kid },
      publicJwk: { ...publicJwk, kid },
    };
  }));
}

// Option "acrValues" (CONFIG_JSON, weakest first): authentication levels for step-up tests. The dev login form
// takes an `acr` field (default: the weakest), and a sign-in whose level is not among the requested acr_values is
// asked to sign in again (with prompt=none: login_required). The user may still answer with a weaker level.
function acrInteractionPolicy() {
  const policy = interactionPolicy.base();
  const { Check } = interactionPolicy;
  policy.get('login').checks.add(new Check('acr_values', 'requested ACR could not be obtained', (ctx) => {
    const requested = ctx.oidc.params.acr_values?.split(' ') ?? [];
    if (requested.length === 0 || ctx.oidc.result?.login || requested.includes(ctx.oidc.acr)) {
      return Check.NO_NEED_TO_PROMPT;
    }
    return Check.REQUEST_PROMPT;
  }));
  return policy;
}

function loginWithAcr(provider, acrValues) {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    ctx.req.body = Buffer.concat(chunks).toString();  // oidc-provider's own parser reads it from here
    const form = new URLSearchParams(ctx.req.body);
    if (form.get('prompt') !== 'login') return next();
    const acr = acrValues.includes(form.get('acr')) ? form.get('acr') : acrValues[0];
    const amr = acr === acrValues[0] ? ['pwd'] : ['pwd', 'otp'];
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.get('login'), acr, amr } }, {
      mergeWithLastSubmission: false,
    });
    ctx.respond = false;
  };
}

// Option "backchannelLogoutUris" (CONFIG_JSON, client_id -> URI): Back-Channel Logout 1.0 for those clients, with
// backchannel_logout_session_required. The sites under test listen on loopback, which oidc-provider's own fetch
// refuses (SSRF protection), so logout tokens go out through a fetch that reaches loopback addresses only.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

async function loopbackOnlyFetch(url, { dispatcher: _ssrfProtection, ...options }) {
  if (!LOOPBACK_HOSTS.has(new URL(url).hostname)) {
    throw new Error(`outbound request to ${url} refused by the test provider (loopback only)`);
  }
  return globalThis.fetch(url, options);
}

function withBackchannelLogout(clients, uris) {
  return clients.map((client) => (uris[client.client_id] ? {
    ...client,
    backchannel_logout_uri: uris[client.client_id],
    backchannel_logout_session_required: true,
  } : client));
}

// Option "dpop" (CONFIG_JSON): DPoP (RFC 9449) is on in oidc-provider by default; {"requireNonce": true} makes
// every proof need a server nonce, so the first token request gets a use_dpop_nonce challenge, as at Okta. With
// the option, the token exchange grant also binds its tokens to the proof's key, like the built-in grants.
function dpopFeature(dpop) {
  return dpop?.requireNonce ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } : { enabled: true };
}

// Option "dpop": {"signingAlgValues": [...]} replaces the proof algorithms oidc-provider accepts and lists in
// dpop_signing_alg_values_supported (its default: ES256, Ed25519, EdDSA), e.g. ["ES256", "EdDSA"] to act as a
// provider that predates RFC 9864's Ed25519.
function dpopAlgorithms(dpop) {
  return dpop?.signingAlgValues ? { enabledJWA: { dPoPSigningAlgValues: dpop.signingAlgValues } } : {};
}

function providerConfiguration(clients, keys, { acrValues, backchannelLogoutUris, dpop } = {}) {
  const backchannel = backchannelLogoutUris ? {
    clients: withBackchannelLogout(clients, backchannelLogoutUris),
    fetch: loopbackOnlyFetch,
  } : {};
  return {
    ...(acrValues ? { acrValues, interactions: { policy: acrInteractionPolicy() } } : {}),
    ...dpopAlgorithms(dpop),
    clients,
    jwks: { keys: keys.map((key) => key.privateJwk) },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount,
    claims: acrValues ? { ...CLAIMS, acr: null, auth_time: null } : CLAIMS,
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) => (
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access')
    ),
    fetch: async (url) => { throw new Error(`outbound request to ${url} refused by the test provider`); },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      claimsParameter: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? API_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== API_RESOURCE) throw new errors.InvalidTarget();
          return API_RESOURCE_SERVER;
        },
      },
      backchannelLogout: { enabled: Boolean(backchannelLogoutUris) },
      dPoP: dpopFeature(dpop),
    },
    ...backchannel,
  };
}

class TokenService {
  constructor(provider, signingKey, publicJwks, { bindDpop = false } = {}) {
    this.provider = provider;
    this.bindDpop = bindDpop;
    this.signingKey = signingKey;
    this.keySet = jose.createLocalJWKSet({ keys: publicJwks });
  }

  async verifyJwt(token, description, options = {}) {
    try {
      return await jose.jwtVerify(token, this.keySet, { issuer: this.provider.issuer, ...options });
    } catch (error) {
      throw new errors.InvalidGrant(`invalid ${description}: ${error.message}`);
    }
  }

  // JWT access tokens are stateless in oidc-provider (AccessToken.find only knows opaque ones).
  async verifyAccessToken(token) {
    const { payload } = await this.verifyJwt(token, 'access token', { typ: 'at+jwt' });
    if (payload.sub === payload.client_id) {
      throw new errors.InvalidGrant('access token was not issued to an end-user');
    }
    return { sub: payload.sub, scope: payload.scope };
  }

  async verifyIdToken(token) {
    const { payload, protectedHeader } = await this.verifyJwt(token, 'ID token');
    if (![undefined, 'JWT'].includes(protectedHeader.typ)) {
      throw new errors.InvalidGrant('subject_token is not an ID token');
    }
    return { sub: payload.sub, scope: undefined };
  }

  async verifySubjectToken(token, tokenType) {
    switch (tokenType) {
      case TOKEN_TYPE_ACCESS_TOKEN:
        return this.verifyAccessToken(token);
      case TOKEN_TYPE_ID_TOKEN:
        return this.verifyIdToken(token);
      default:
        throw new errors.InvalidRequest('unsupported subject_token_type');
    }
  }

  async issueJwtAccessToken({ client, accountId, scope, resourceServer, ctx }) {
    const token = new this.provider.AccessToken({ client, accountId, scope, resourceServer });
    if (this.bindDpop && ctx) {
      await applyDpopBinding(this.provider, ctx, await validateDpop(this.provider, ctx), token);
    }
    return {
      access_token: await token.save(),
      issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope,
    };
  }

  async issueIdJag({ client, sub, audience, scope }) {
    const idJag = await new jose.SignJWT({ client_id: client.clientId, scope })
      .setProtectedHeader({ alg: 'RS256', kid: this.signingKey.publicJwk.kid, typ: ID_JAG_JWT_TYPE })
      .setIssuer(this.provider.issuer)
      .setSubject(sub)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ID_JAG_LIFETIME_SECONDS}s`)
      .sign(this.signingKey.privateKey);
    return {
      access_token: idJag,
      issued_token_type: TOKEN_TYPE_ID_JAG,
      token_type: 'N_A',
      expires_in: ID_JAG_LIFETIME_SECONDS,
      scope,
    };
  }

  async tokenExchange(ctx) {
    const { client, params } = ctx.oidc;
    if (!params.subject_token || !params.subject_token_type) {
      throw new errors.InvalidRequest('subject_token and subject_token_type are required');
    }
    const subject = await this.verifySubjectToken(params.subject_token, params.subject_token_type);
    const scope = params.scope ?? subject.scope;
    switch (params.requested_token_type ?? TOKEN_TYPE_ACCESS_TOKEN) {
      case TOKEN_TYPE_ACCESS_TOKEN: {
        const audience = params.audience ?? API_RESOURCE;
        const resourceServer = new this.provider.ResourceServer(audience, {
          audience,
          accessTokenFormat: 'jwt',
        });
        ctx.body = await this.issueJwtAccessToken({ client, accountId: subject.sub, scope, resourceServer, ctx });
        break;
      }
      case TOKEN_TYPE_ID_JAG:
        if (!params.audience) throw new errors.InvalidRequest('audience is required for an ID-JAG');
        ctx.body = await this.issueIdJag({ client, sub: subject.sub, audience: params.audience, scope });
        break;
      default:
        throw new errors.InvalidRequest('unsupported requested_token_type');
    }
  }

  async jwtBearer(ctx) {
    const { client, params } = ctx.oidc;
    if (!params.assertion) throw new errors.InvalidRequest('assertion is required');
    const { payload } = await this.verifyJwt(params.assertion, 'ID-JAG assertion', {
      audience: this.provider.issuer,
      typ: ID_JAG_JWT_TYPE,
    });
    if (payload.client_id !== client.clientId) {
      throw new errors.InvalidGrant('ID-JAG was issued to another client');
    }
    const resourceServer = new this.provider.ResourceServer(API_RESOURCE, API_RESOURCE_SERVER);
    const requested = (params.scope ?? payload.scope ?? '').split(' ');
    const scope = requested.filter((value) => resourceServer.scopes.has(value)).join(' ') || undefined;
    ctx.body = await this.issueJwtAccessToken({ client, accountId: payload.sub, scope, resourceServer });
  }

  // oidc-provider's userinfo endpoint only takes opaque tokens; Okta's also takes its JWT access tokens.
  userinfoForJwtAccessTokens() {
    const userinfoPath = this.provider.pathFor('userinfo');
    return async (ctx, next) => {
      const bearer = ctx.path === userinfoPath && ctx.get('authorization').match(/^Bearer (\S+)$/i)?.[1];
      const subject = bearer && await this.verifyAccessToken(bearer).catch(() => undefined);
      const scopes = new Set(subject?.scope?.split(' '));
      if (!scopes.has('openid')) return next();
      ctx.set('cache-control', 'no-store');
      ctx.body = claimsForScopes(accountClaims(subject.sub), scopes);
    };
  }
}

async function listen(port) {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

async function main() {
  const [port, configPath] = process.argv.slice(2);
  if (port === undefined || configPath === undefined) {
    throw new Error('usage: node server.mjs PORT CONFIG_JSON');
  }
  // options.issuer (optional): the URL clients reach the provider at, when it is not the
  // listening port (e.g. a test proxy in front of it that can stall or reset connections).
  const { clients, ...options } = JSON.parse(await readFile(configPath, 'utf8'));

  const server = await listen(Number(port));
  const issuer = options.issuer ?? `http://127.0.0.1:${server.address().port}`;
  const keys = await generateSigningKeys();
  const provider = new Provider(issuer, providerConfiguration(clients, keys, options));
  const tokens = new TokenService(provider, keys[0], keys.map((key) => key.publicJwk), {
    bindDpop: Boolean(options.dpop),
  });

  provider.registerGrantType(GRANT_TOKEN_EXCHANGE, (ctx) => tokens.tokenExchange(ctx), [
    'subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'scope',
  ]);
  provider.registerGrantType(GRANT_JWT_BEARER, (ctx) => tokens.jwtBearer(ctx), ['assertion', 'scope']);
  provider.use(tokens.userinfoForJwtAccessTokens());
  if (options.acrValues) provider.use(loginWithAcr(provider, options.acrValues));

  server.on('request', provider.callback());
  process.on('SIGTERM', () => process.exit(0));
  console.log(`READY ${issuer}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
