import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { defaultOidcUser, startFakeOidc, type FakeOidc } from './oidc';

const clientId = 'test-client.apps.googleusercontent.com';
const clientSecret = 'GOCSPX-test-secret';
const redirectUri = 'http://127.0.0.1:9/api/auth/oauth2/callback/google';

let oidc: FakeOidc;
let config: Record<string, unknown> & {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
};

beforeAll(async () => {
  oidc = await startFakeOidc({ clientId, clientSecret });
  const res = await fetch(oidc.discoveryUrl);
  expect(res.status).toBe(200);
  config = (await res.json()) as typeof config;
});
afterAll(async () => {
  await closeAll(oidc);
});
afterEach(() => {
  for (const k of Object.keys(oidc.tamper) as Array<keyof typeof oidc.tamper>) oidc.tamper[k] = undefined;
  oidc.setUser(defaultOidcUser);
});

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** The browser's visit to the authorize endpoint: returns where the provider sends it back. */
async function authorize(params: Record<string, string>) {
  const url = new URL(config.authorization_endpoint);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ? new URL(res.headers.get('location')!) : undefined, res };
}

/** A standard authorization with state, nonce and S256; returns the code and what the client keeps. */
async function codeFor(extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const { status, location } = await authorize({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  expect(status).toBe(302);
  const code = location!.searchParams.get('code');
  expect(code).toBeTruthy();
  return { code: code!, verifier, state, nonce, location: location! };
}

async function exchange(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const redeem = (code: string, verifier: string | undefined, extra: Record<string, string> = {}) =>
  exchange({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    client_secret: clientSecret,
    ...(verifier ? { code_verifier: verifier } : {}),
    ...extra,
  });

const verify = (idToken: string) =>
  jwtVerify(idToken, createRemoteJWKSet(new URL(config.jwks_uri)), { issuer: config.issuer, audience: clientId, algorithms: ['RS256'] });

describe('fake Google OpenID Connect provider', () => {
  it('serves a discovery document pointing at itself', () => {
    expect(config).toMatchObject({
      issuer: oidc.issuer,
      authorization_endpoint: `${oidc.issuer}/o/oauth2/v2/auth`,
      token_endpoint: `${oidc.issuer}/token`,
      userinfo_endpoint: `${oidc.issuer}/v1/userinfo`,
      jwks_uri: `${oidc.issuer}/oauth2/v3/certs`,
      revocation_endpoint: `${oidc.issuer}/revoke`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['plain', 'S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    });
    expect(oidc.issuer).toBe(`http://127.0.0.1:${oidc.port}`);
    expect(config.claims_supported).toEqual(expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'picture', 'nonce']));
  });

  it('serves one RSA signing key with a kid', async () => {
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(jwks.keys[0]!.kid).toBeTruthy();
    expect(jwks.keys[0]!.n!.length).toBeGreaterThan(300);
    expect(jwks.keys[0]).not.toHaveProperty('d'); // public part only
  });

  it('runs the whole code flow: authorize with state, nonce and S256, token with the verifier, a verifiable ID token, userinfo', async () => {
    const { code, verifier, state, nonce, location } = await codeFor();
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe(state);
    expect(location.searchParams.get('iss')).toBe(oidc.issuer);
    expect(oidc.lastAuthorizeParams()?.get('nonce')).toBe(nonce);
    expect(oidc.lastAuthorizeParams()?.get('code_challenge_method')).toBe('S256');

    const { status, body } = await redeem(code, verifier);
    expect(status).toBe(200);
    expect(body).toMatchObject({ expires_in: 3599, scope: 'openid email profile', token_type: 'Bearer' });
    expect(body.access_token).toEqual(expect.any(String));
    expect(body).not.toHaveProperty('refresh_token');

    const idToken = body.id_token as string;
    const { payload, protectedHeader } = await verify(idToken);
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: Array<{ kid: string }> };
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: jwks.keys[0]!.kid });
    expect(payload).toMatchObject({
      iss: oidc.issuer,
      aud: clientId,
      azp: clientId,
      sub: defaultOidcUser.sub,
      nonce,
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      picture: 'https://lh3.googleusercontent.com/a/ada.png',
      locale: 'en',
    });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
    const digest = createHash('sha256')
      .update(body.access_token as string)
      .digest();
    expect(payload.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));

    const info = await fetch(config.userinfo_endpoint, { headers: { authorization: `Bearer ${body.access_token as string}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({
      sub: defaultOidcUser.sub,
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      picture: 'https://lh3.googleusercontent.com/a/ada.png',
      locale: 'en',
    });

    const tokenRequest = oidc.requests.filter((r) => r.path === '/token').at(-1)!;
    expect(tokenRequest.method).toBe('POST');
    expect(new URLSearchParams(tokenRequest.body).get('code_verifier')).toBe(verifier);
    expect(oidc.requests.some((r) => r.path === '/o/oauth2/v2/auth' && r.query.state === state)).toBe(true);
  });

  it('refuses userinfo without a valid access token, and after revocation', async () => {
    expect((await fetch(config.userinfo_endpoint)).status).toBe(401);
    expect((await fetch(config.userinfo_endpoint, { headers: { authorization: 'Bearer ya29.made-up' } })).status).toBe(401);
    const { code, verifier } = await codeFor();
    const token = (await redeem(code, verifier)).body.access_token as string;
    expect((await fetch(config.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const revoke = await fetch(config.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(revoke.status).toBe(200);
    expect((await fetch(config.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('accepts client_secret_basic as well as client_secret_post', async () => {
    const { code, verifier } = await codeFor();
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const { status, body } = await exchange(
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
      { authorization: `Basic ${basic}` },
    );
    expect(status).toBe(200);
    await expect(verify(body.id_token as string)).resolves.toBeTruthy();
  });

  it('supports plain PKCE, and no PKCE at all', async () => {
    const plain = await codeFor({ code_challenge: 'p'.repeat(43), code_challenge_method: 'plain' });
    expect((await redeem(plain.code, 'q'.repeat(43))).body.error).toBe('invalid_grant');
    expect((await redeem(plain.code, 'p'.repeat(43))).status).toBe(200);

    const { location } = await authorize({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: redirectUri, state: 's' });
    const code = location!.searchParams.get('code')!;
    const { status, body } = await redeem(code, undefined);
    expect(status).toBe(200);
    const { payload } = await verify(body.id_token as string);
    expect(payload).not.toHaveProperty('nonce'); // none was sent
  });

  it('rejects a code used twice', async () => {
    const { code, verifier } = await codeFor();
    expect((await redeem(code, verifier)).status).toBe(200);
    const again = await redeem(code, verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect((await redeem('4/never-issued', verifier)).body.error).toBe('invalid_grant');
  });

  it('rejects a wrong or missing PKCE verifier', async () => {
    const { code, verifier } = await codeFor();
    const wrong = await redeem(code, pkce().verifier);
    expect(wrong).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/verifier/i) } });
    const missing = await redeem(code, undefined);
    expect(missing).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/verifier/i) } });
    // failed attempts do not hand out tokens; the holder of the right verifier still can
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it('rejects a wrong client secret or client id with 401 invalid_client', async () => {
    const { code, verifier } = await codeFor();
    const post = await redeem(code, verifier, { client_secret: 'wrong-secret' });
    expect(post.status).toBe(401);
    expect(post.body.error).toBe('invalid_client');
    const basic = Buffer.from(`${clientId}:wrong-secret`).toString('base64');
    const viaBasic = await exchange(
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
      { authorization: `Basic ${basic}` },
    );
    expect(viaBasic).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await redeem(code, verifier, { client_id: 'someone-else' })).status).toBe(401);
    const noSecret = await exchange({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
    expect(noSecret.status).toBe(401);
    expect((await redeem(code, verifier)).status).toBe(200); // the code itself was fine
  });

  it('rejects a redirect_uri other than the one used at authorization', async () => {
    const { code, verifier } = await codeFor();
    const res = await redeem(code, verifier, { redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await redeem(code, verifier, { redirect_uri: '' })).status).toBe(400);
  });

  it('rejects other grant types and non-form bodies', async () => {
    expect((await exchange({ grant_type: 'password', client_id: clientId, client_secret: clientSecret })).body.error).toBe('unsupported_grant_type');
    const asJson = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code' }),
    });
    expect(asJson.status).toBe(400);
    expect((await fetch(config.token_endpoint)).status).toBe(405);
  });

  it('validates the authorization request', async () => {
    const base = { client_id: clientId, response_type: 'code', scope: 'openid email', redirect_uri: redirectUri, state: 'st' };
    const unknownClient = await authorize({ ...base, client_id: 'nobody' });
    expect(unknownClient.status).toBe(400); // shown, not redirected to an unverified URI
    expect(unknownClient.location).toBeUndefined();
    const { redirect_uri: _, ...noRedirect } = base;
    expect((await authorize(noRedirect)).status).toBe(400);
    const noOpenid = await authorize({ ...base, scope: 'email profile' });
    expect(noOpenid.location?.searchParams.get('error')).toBe('invalid_scope');
    expect(noOpenid.location?.searchParams.get('state')).toBe('st');
    expect(noOpenid.location?.searchParams.has('code')).toBe(false);
    const implicit = await authorize({ ...base, response_type: 'token' });
    expect(implicit.location?.searchParams.get('error')).toBe('unsupported_response_type');
    const badMethod = await authorize({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'S512' });
    expect(badMethod.location?.searchParams.get('error')).toBe('invalid_request');
  });

  it('signs in whoever setUser names, and denies when told to', async () => {
    oidc.setUser({ sub: '111', email: 'grace@example.com', email_verified: false, name: 'Grace Hopper', picture: 'https://lh3.googleusercontent.com/a/g.png' });
    const { code, verifier } = await codeFor();
    const { payload } = await verify((await redeem(code, verifier)).body.id_token as string);
    expect(payload).toMatchObject({ sub: '111', email: 'grace@example.com', email_verified: false, name: 'Grace Hopper' });
    expect(payload).not.toHaveProperty('given_name');

    oidc.deny();
    const denied = await authorize({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: redirectUri, state: 'keep-me' });
    expect(denied.status).toBe(302);
    expect(denied.location?.searchParams.get('error')).toBe('access_denied');
    expect(denied.location?.searchParams.get('state')).toBe('keep-me');
    expect(denied.location?.searchParams.has('code')).toBe(false);
  });

  it('tamper.signWithOtherKey makes ID tokens that fail signature verification', async () => {
    oidc.tamper.signWithOtherKey = true;
    const { code, verifier } = await codeFor();
    const idToken = (await redeem(code, verifier)).body.id_token as string;
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: Array<{ kid: string }> };
    expect(decodeProtectedHeader(idToken).kid).toBe(jwks.keys[0]!.kid); // looks legitimate
    await expect(verify(idToken)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('tamper.nonce puts another nonce in ID tokens; tamper.audience another audience', async () => {
    oidc.tamper.nonce = 'not-the-nonce-we-sent';
    const first = await codeFor();
    const { payload } = await verify((await redeem(first.code, first.verifier)).body.id_token as string);
    expect(payload.nonce).toBe('not-the-nonce-we-sent');
    expect(payload.nonce).not.toBe(first.nonce);
    delete oidc.tamper.nonce;

    oidc.tamper.audience = 'some-other-client';
    const second = await codeFor();
    const idToken = (await redeem(second.code, second.verifier)).body.id_token as string;
    await expect(verify(idToken)).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it('issues a refresh token for offline access and honours it', async () => {
    const { code, verifier } = await codeFor({ access_type: 'offline' });
    const first = await redeem(code, verifier);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    const refreshed = await exchange({
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token as string,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect((await exchange({ grant_type: 'refresh_token', refresh_token: 'nope', client_id: clientId, client_secret: clientSecret })).body.error).toBe(
      'invalid_grant',
    );
  });
});
