import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * A fake Google OpenID Connect provider: a real HTTP server on 127.0.0.1 (random port) that
 * serves discovery, JWKS, authorize, token, userinfo and revoke the way accounts.google.com does
 * (see docs/provider-apis.md §6 in the shared docs), with the checks a real provider makes:
 * client authentication, single-use codes, redirect_uri binding and PKCE (plain and S256).
 * Authorize answers at once for the current user (no login page), or denies when told to.
 */

export interface FakeOidcUser {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  picture: string;
  given_name?: string;
  family_name?: string;
  locale?: string;
}

export interface FakeOidcRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** the raw request body ('' when none) */
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeOidcTamper {
  /** put this nonce in the next ID tokens instead of the one given at authorize */
  nonce?: string;
  /** sign the next ID tokens with another RSA key (same kid), so signature checks fail */
  signWithOtherKey?: boolean;
  /** put this `aud` in the next ID tokens instead of the client id */
  audience?: string;
}

export interface FakeOidc {
  /** the base URL, e.g. http://127.0.0.1:PORT — also the `iss` of every ID token */
  issuer: string;
  discoveryUrl: string;
  port: number;
  /** who "signs in" at the next authorize */
  setUser(user: FakeOidcUser): void;
  /** authorize answers error=access_denied (the user said no) until setUser is called again */
  deny(): void;
  tamper: FakeOidcTamper;
  /** every request received, oldest first */
  requests: FakeOidcRequest[];
  lastAuthorizeParams(): URLSearchParams | undefined;
  close(): Promise<void>;
}

export const defaultOidcUser: FakeOidcUser = {
  sub: '109876543210987654321',
  email: 'ada@example.com',
  email_verified: true,
  name: 'Ada Lovelace',
  picture: 'https://lh3.googleusercontent.com/a/ada.png',
  given_name: 'Ada',
  family_name: 'Lovelace',
  locale: 'en',
};

const CODE_TTL_MS = 10 * 60_000;
const TOKEN_TTL_S = 3599;
const PROFILE_CLAIMS = ['sub', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'picture', 'locale'] as const;

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  scope: string;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'plain' | 'S256' | undefined;
  user: FakeOidcUser;
  offline: boolean;
  expiresAt: number;
  used: boolean;
}

interface Grant {
  user: FakeOidcUser;
  scope: string;
  nonce: string | undefined;
  expiresAt: number;
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

export async function startFakeOidc(opts: { clientId: string; clientSecret: string }): Promise<FakeOidc> {
  const { clientId, clientSecret } = opts;
  const kid = `fake-${randomBytes(8).toString('hex')}`;
  const signing = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' };

  let user: FakeOidcUser | 'deny' = { ...defaultOidcUser };
  const tamper: FakeOidcTamper = {};
  const requests: FakeOidcRequest[] = [];
  let lastAuthorize: URLSearchParams | undefined;
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, Grant>();
  const refreshTokens = new Map<string, Omit<Grant, 'expiresAt' | 'nonce'>>();
  let issuer = '';

  const discovery = () => ({
    issuer,
    authorization_endpoint: `${issuer}/o/oauth2/v2/auth`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/v1/userinfo`,
    revocation_endpoint: `${issuer}/revoke`,
    jwks_uri: `${issuer}/oauth2/v3/certs`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    authorization_response_iss_parameter_supported: true,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: [
      'aud',
      'email',
      'email_verified',
      'exp',
      'family_name',
      'given_name',
      'iat',
      'iss',
      'locale',
      'name',
      'picture',
      'sub',
      'nonce',
      'azp',
      'at_hash',
    ],
    code_challenge_methods_supported: ['plain', 'S256'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
  });

  const profile = (u: FakeOidcUser) => {
    const claims: Record<string, unknown> = {};
    for (const k of PROFILE_CLAIMS) if (u[k] !== undefined) claims[k] = u[k];
    return claims;
  };

  async function idToken(grant: { user: FakeOidcUser; nonce: string | undefined }, accessToken: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const nonce = tamper.nonce ?? grant.nonce;
    const digest = createHash('sha256').update(accessToken).digest();
    const claims: Record<string, unknown> = {
      azp: clientId,
      at_hash: digest.subarray(0, digest.length / 2).toString('base64url'),
      ...profile(grant.user),
      ...(nonce !== undefined ? { nonce } : {}),
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(tamper.audience ?? clientId)
      .setSubject(grant.user.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(tamper.signWithOtherKey ? other.privateKey : signing.privateKey);
  }

  function authorize(q: URLSearchParams, res: http.ServerResponse) {
    lastAuthorize = new URLSearchParams(q);
    // Problems with the client or the redirect_uri are shown to the user, never redirected.
    if (q.get('client_id') !== clientId) throw new OAuthError(400, 'invalid_client', 'The OAuth client was not found.');
    const redirectUri = q.get('redirect_uri');
    let target: URL;
    try {
      target = new URL(redirectUri ?? '');
    } catch {
      throw new OAuthError(400, 'invalid_request', 'Missing or invalid required parameter: redirect_uri');
    }
    const state = q.get('state');
    const back = (params: Record<string, string>) => {
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (state !== null) target.searchParams.set('state', state);
      target.searchParams.set('iss', issuer);
      return res.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' }).end();
    };
    if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', error_description: 'Only response_type=code is supported.' });
    const scope = (q.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scope.includes('openid')) return back({ error: 'invalid_scope', error_description: 'The scope must include openid.' });
    const codeChallenge = q.get('code_challenge') ?? undefined;
    const method = q.get('code_challenge_method') ?? (codeChallenge ? 'plain' : undefined);
    if (method !== undefined && method !== 'plain' && method !== 'S256')
      return back({ error: 'invalid_request', error_description: `Unsupported code_challenge_method ${method}.` });
    if (method && !codeChallenge) return back({ error: 'invalid_request', error_description: 'code_challenge_method without code_challenge.' });
    if (codeChallenge && !/^[A-Za-z0-9._~-]{43,128}$/.test(codeChallenge))
      return back({ error: 'invalid_request', error_description: 'Invalid code_challenge.' });
    if (user === 'deny') return back({ error: 'access_denied' });
    const code = `4/${randomBytes(24).toString('base64url')}`;
    codes.set(code, {
      clientId,
      redirectUri: redirectUri!,
      scope: scope.join(' '),
      nonce: q.get('nonce') ?? undefined,
      codeChallenge,
      codeChallengeMethod: method,
      user: { ...user },
      offline: q.get('access_type') === 'offline',
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    return back({ code, scope: scope.join(' ') });
  }

  function authenticateClient(req: http.IncomingMessage, form: URLSearchParams): void {
    const header = req.headers.authorization;
    let id: string | null;
    let secret: string | null;
    if (header?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const unescape = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      id = i < 0 ? null : unescape(decoded.slice(0, i));
      secret = i < 0 ? null : unescape(decoded.slice(i + 1));
      if (form.get('client_id') !== null && form.get('client_id') !== id)
        throw new OAuthError(400, 'invalid_request', 'client_id in the body differs from the one in Authorization.');
    } else {
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    if (id !== clientId || secret === null || !safeEqual(secret, clientSecret)) throw new OAuthError(401, 'invalid_client', 'Unauthorized');
  }

  async function token(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      throw new OAuthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(body);
    authenticateClient(req, form);
    const grantType = form.get('grant_type');
    if (grantType === 'refresh_token') {
      const stored = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!stored) throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      const accessToken = `ya29.${randomBytes(32).toString('base64url')}`;
      accessTokens.set(accessToken, { ...stored, nonce: undefined, expiresAt: Date.now() + TOKEN_TTL_S * 1000 });
      return json(res, 200, {
        access_token: accessToken,
        expires_in: TOKEN_TTL_S,
        scope: stored.scope,
        token_type: 'Bearer',
        id_token: await idToken({ user: stored.user, nonce: undefined }, accessToken),
      });
    }
    if (grantType !== 'authorization_code') throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    if (!issued || issued.expiresAt < Date.now()) throw new OAuthError(400, 'invalid_grant', 'Malformed auth code.');
    if (issued.used) throw new OAuthError(400, 'invalid_grant', 'The code has already been used.');
    if (form.get('redirect_uri') !== issued.redirectUri)
      throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the one used at authorization.');
    const verifier = form.get('code_verifier');
    if (issued.codeChallenge) {
      if (!verifier) throw new OAuthError(400, 'invalid_grant', 'Missing code verifier.');
      const computed = issued.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (!safeEqual(computed, issued.codeChallenge)) throw new OAuthError(400, 'invalid_grant', 'Invalid code verifier.');
    } else if (verifier) {
      throw new OAuthError(400, 'invalid_grant', 'code_verifier given but no code_challenge was sent at authorization.');
    }
    issued.used = true;
    const accessToken = `ya29.${randomBytes(32).toString('base64url')}`;
    accessTokens.set(accessToken, { user: issued.user, scope: issued.scope, nonce: issued.nonce, expiresAt: Date.now() + TOKEN_TTL_S * 1000 });
    const response: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: TOKEN_TTL_S,
      id_token: await idToken({ user: issued.user, nonce: issued.nonce }, accessToken),
      scope: issued.scope,
      token_type: 'Bearer',
    };
    if (issued.offline) {
      const refreshToken = `1//${randomBytes(32).toString('base64url')}`;
      refreshTokens.set(refreshToken, { user: issued.user, scope: issued.scope });
      response.refresh_token = refreshToken;
    }
    return json(res, 200, response);
  }

  function userinfo(req: http.IncomingMessage, res: http.ServerResponse) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const grant = m ? accessTokens.get(m[1]!) : undefined;
    if (!grant || grant.expiresAt < Date.now()) {
      res.setHeader('www-authenticate', 'Bearer realm="fake-google", error="invalid_token"');
      throw new OAuthError(401, 'invalid_token', 'Invalid Credentials');
    }
    return json(res, 200, profile(grant.user));
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1_000_000) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', issuer);
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body, headers: req.headers });
      route(req, res, url, body).catch((err: unknown) => {
        if (res.headersSent) return res.end();
        if (err instanceof OAuthError) return json(res, err.status, { error: err.error, error_description: err.description });
        json(res, 500, { error: 'server_error', error_description: err instanceof Error ? err.message : String(err) });
      });
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string) {
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) {
        res.setHeader('allow', methods.join(', '));
        throw new OAuthError(405, 'invalid_request', `Use ${methods.join(' or ')}.`);
      }
    };
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        allow('GET', 'HEAD');
        return json(res, 200, discovery());
      case '/oauth2/v3/certs':
        allow('GET', 'HEAD');
        return json(res, 200, { keys: [publicJwk] });
      case '/o/oauth2/v2/auth':
        allow('GET');
        return authorize(url.searchParams, res);
      case '/token':
        allow('POST');
        return token(req, body, res);
      case '/v1/userinfo':
        allow('GET', 'POST');
        return userinfo(req, res);
      case '/revoke': {
        allow('POST');
        const t = new URLSearchParams(body).get('token') ?? url.searchParams.get('token') ?? '';
        accessTokens.delete(t);
        refreshTokens.delete(t);
        return json(res, 200, {});
      }
      default:
        throw new OAuthError(404, 'not_found', `No such endpoint: ${url.pathname}`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    port,
    setUser(next) {
      user = { ...next };
    },
    deny() {
      user = 'deny';
    },
    tamper,
    requests,
    lastAuthorizeParams: () => (lastAuthorize ? new URLSearchParams(lastAuthorize) : undefined),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Returns the response, so that a handler can answer and stop in one `return json(...)`. */
function json(res: http.ServerResponse, status: number, body: unknown): http.ServerResponse {
  return res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' })
    .end(JSON.stringify(body));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
