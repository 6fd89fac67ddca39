/**
 * A browser-like HTTP client for API tests: keeps cookies, sends our Origin on state-changing
 * requests, and can pretend to be another IP (X-Forwarded-For, with TRUST_PROXY=true) or device.
 */
export interface ClientOptions {
  ip?: string;
  userAgent?: string;
  /** Origin header to send; defaults to the app's own origin */
  origin?: string | null;
  headers?: Record<string, string>;
}

export interface ClientResponse {
  status: number;
  headers: Headers;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a test names the shape it expects: `res.json<GenerationView>()`
  json<T = any>(): T;
}

export const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
export const PHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

export class TestClient {
  readonly cookies = new Map<string, string>();
  /** Set-Cookie headers received, raw, for attribute checks */
  readonly setCookies: string[] = [];

  constructor(
    readonly baseUrl: string,
    readonly opts: ClientOptions = {},
  ) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ClientResponse> {
    const h: Record<string, string> = { 'user-agent': this.opts.userAgent ?? DESKTOP_UA, ...this.opts.headers, ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    if (this.opts.ip) h['x-forwarded-for'] = this.opts.ip;
    const origin = this.opts.origin === undefined ? new URL(this.baseUrl).origin : this.opts.origin;
    if (origin !== null && method !== 'GET' && method !== 'HEAD') h.origin = origin;
    let payload: BodyInit | undefined;
    if (body instanceof FormData)
      payload = body; // fetch sets multipart/form-data with its boundary
    else if (body instanceof Uint8Array) payload = body as unknown as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(new URL(path, this.baseUrl), { method, headers: h, body: payload, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text, json: () => JSON.parse(text) };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, undefined, headers);
  }
  post(path: string, body: unknown = {}, headers?: Record<string, string>) {
    return this.request('POST', path, body, headers);
  }
  patch(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PATCH', path, body, headers);
  }
  put(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PUT', path, body, headers);
  }
  delete(path: string, headers?: Record<string, string>) {
    return this.request('DELETE', path, undefined, headers);
  }
  /** multipart/form-data POST of one file (field `file` by default) plus optional text fields */
  upload(
    path: string,
    file: { data: Uint8Array; name: string; type?: string; field?: string },
    fields: Record<string, string> = {},
    headers?: Record<string, string>,
  ) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append(file.field ?? 'file', new Blob([file.data as Uint8Array<ArrayBuffer>], { type: file.type ?? 'application/octet-stream' }), file.name);
    return this.request('POST', path, form, headers);
  }
}
