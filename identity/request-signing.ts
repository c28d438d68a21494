// Signed HTTP requests: every state-changing call carries who, when and a signature over the
// deployment id, method, path, timestamp, Idempotency-Key header and body hash, so neither a proxy
// nor a replayer can alter or reuse it, here or on another deployment that knows the same key.
import { createHash } from 'node:crypto';
import { addressFromPublicKey, decodeSignature, sign, verify, type KeyPair } from './keys.js';

export const SIGNATURE_VERSION = 'COMMONS-V3';
/** Where an API publishes the deployment id that clients put in every signed message. */
export const DEPLOYMENT_PATH = '/v1/deployment';
/** What a deployment id may look like (it is a line of the signed message). */
export const DEPLOYMENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

export const HEADER_ADDRESS = 'x-commons-address';
export const HEADER_PUBLIC_KEY = 'x-commons-public-key';
export const HEADER_TIMESTAMP = 'x-commons-timestamp';
export const HEADER_SIGNATURE = 'x-commons-signature';
/** Signed too: a key names the effect a retry must not repeat, so nobody on the way may change it. */
export const HEADER_IDEMPOTENCY_KEY = 'idempotency-key';

// A type alias (not an interface) so it is assignable to HeaderBag and to fetch's HeadersInit.
export type SignatureHeaders = {
  'x-commons-address': string;
  'x-commons-public-key': string;
  'x-commons-timestamp': string;
  'x-commons-signature': string;
};

/** Same shape as Node's IncomingHttpHeaders, so Fastify's request.headers fits. */
export type HeaderBag = Record<string, string | string[] | undefined>;

export function sha256Hex(body: string | Buffer | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex');
}

/**
 * The exact bytes that get signed. `path` includes the query string, as sent; `deploymentId` is the
 * API's (GET /v1/deployment), so a signature is worth nothing on another deployment;
 * `idempotencyKey` is the Idempotency-Key header ('' when none is sent).
 */
export function canonicalMessage(
  deploymentId: string,
  method: string,
  path: string,
  timestamp: number | string,
  idempotencyKey: string | undefined,
  body?: string | Buffer,
): string {
  if (!DEPLOYMENT_ID_PATTERN.test(deploymentId))
    throw new Error(`malformed deployment id ${JSON.stringify(deploymentId)}`);
  // A key holding a line break could shift the lines after it; such a header is refused anyway.
  if (idempotencyKey !== undefined && /[\r\n]/.test(idempotencyKey))
    throw new Error('an Idempotency-Key cannot hold a line break');
  return `${SIGNATURE_VERSION}\n${deploymentId}\n${method.toUpperCase()}\n${path}\n${timestamp}\n${idempotencyKey ?? ''}\n${sha256Hex(body)}`;
}

export function signRequest(opts: {
  deploymentId: string;
  method: string;
  path: string;
  body?: string | Buffer;
  /** The Idempotency-Key header the request will carry, if any. */
  idempotencyKey?: string;
  keys: KeyPair;
  now?: number;
}): SignatureHeaders {
  const timestamp = Math.trunc(opts.now ?? Date.now());
  const message = canonicalMessage(
    opts.deploymentId,
    opts.method,
    opts.path,
    timestamp,
    opts.idempotencyKey,
    opts.body,
  );
  return {
    'x-commons-address': opts.keys.address,
    'x-commons-public-key': opts.keys.publicKey,
    'x-commons-timestamp': String(timestamp),
    'x-commons-signature': sign(opts.keys.privateKey, message),
  };
}

export type SignatureCheck =
  | {
      ok: true;
      address: string;
      publicKey: string;
      signature: string;
      timestamp: number;
      /** After this instant the request is stale anyway: how long a replay guard must remember it. */
      expiresAt: number;
    }
  | Refusal;

export type Refusal = { ok: false; status: 401; reason: string };

function header(headers: HeaderBag, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    // Node lower-cases header names; plain objects built by hand may not.
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value === undefined || value === '' ? undefined : value;
}

function refuse(reason: string): Refusal {
  return { ok: false, status: 401, reason };
}

/**
 * The checks that need no body: headers present and well formed, address matching the key, timestamp
 * fresh. The API runs them before it reads a body, so an unsigned or stale request costs no parsing.
 */
export function checkSignatureHeaders(opts: {
  headers: HeaderBag;
  now: number;
  maxSkewMs?: number;
}):
  | { ok: true; address: string; publicKey: string; timestampText: string; signature: string; timestamp: number }
  | Refusal {
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const address = header(opts.headers, HEADER_ADDRESS);
  const publicKey = header(opts.headers, HEADER_PUBLIC_KEY);
  const timestampText = header(opts.headers, HEADER_TIMESTAMP);
  const signature = header(opts.headers, HEADER_SIGNATURE);

  const missing = [
    [HEADER_ADDRESS, address],
    [HEADER_PUBLIC_KEY, publicKey],
    [HEADER_TIMESTAMP, timestampText],
    [HEADER_SIGNATURE, signature],
  ]
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0 || !address || !publicKey || !timestampText || !signature) {
    return refuse(`missing signature header(s): ${missing.join(', ')}`);
  }

  if (!/^[0-9a-fA-F]{64}$/.test(publicKey)) {
    return refuse(`malformed ${HEADER_PUBLIC_KEY}: expected 64 hex characters`);
  }
  if (addressFromPublicKey(publicKey) !== address) {
    return refuse(`${HEADER_ADDRESS} does not match ${HEADER_PUBLIC_KEY}`);
  }

  if (!/^\d{1,15}$/.test(timestampText)) {
    return refuse(`malformed ${HEADER_TIMESTAMP}: expected integer milliseconds since the epoch`);
  }
  const timestamp = Number(timestampText);
  const skew = opts.now - timestamp;
  if (skew > maxSkewMs) {
    return refuse(`stale request: timestamp is ${skew} ms old, more than the allowed ${maxSkewMs} ms`);
  }
  if (-skew > maxSkewMs) {
    return refuse(`stale request: timestamp is ${-skew} ms in the future, more than the allowed ${maxSkewMs} ms`);
  }
  if (!decodeSignature(signature)) {
    return refuse(`malformed ${HEADER_SIGNATURE}: expected base64 of a 64-byte Ed25519 signature`);
  }
  return { ok: true, address, publicKey, timestampText, signature, timestamp };
}

export function verifyRequestSignature(opts: {
  deploymentId: string;
  method: string;
  path: string;
  headers: HeaderBag;
  rawBody?: string | Buffer;
  now: number;
  maxSkewMs?: number;
}): SignatureCheck {
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const h = checkSignatureHeaders(opts);
  if (!h.ok) return h;
  const { address, publicKey, timestampText, signature, timestamp } = h;
  const idempotencyKey = header(opts.headers, HEADER_IDEMPOTENCY_KEY);
  if (idempotencyKey !== undefined && /[\r\n]/.test(idempotencyKey))
    return refuse(`malformed ${HEADER_IDEMPOTENCY_KEY}: it cannot hold a line break`);
  const message = canonicalMessage(
    opts.deploymentId,
    opts.method,
    opts.path,
    timestampText,
    idempotencyKey,
    opts.rawBody,
  );
  if (!verify(publicKey, message, signature)) {
    return refuse('bad signature: it does not match deployment, method, path, timestamp, Idempotency-Key and body');
  }
  return {
    ok: true,
    address,
    publicKey: publicKey.toLowerCase(),
    signature,
    timestamp,
    expiresAt: timestamp + maxSkewMs,
  };
}

/** Remembers signatures already used while they could still pass the timestamp check. */
export interface ReplayGuard {
  /** true if first use */
  claim(signature: string, expiresAt: number): Promise<boolean>;
}

/**
 * In-process replay guard (single API instance, tests). Expired entries are dropped on each
 * claim; when still over `maxEntries`, the oldest claims are evicted first. Size it above
 * peak signed requests per skew window, or an evicted signature could be replayed.
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: { maxEntries?: number; now?: () => number } = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.seen.size;
  }

  claim(signature: string, expiresAt: number): Promise<boolean> {
    return Promise.resolve(this.claimSync(signature, expiresAt));
  }

  private claimSync(signature: string, expiresAt: number): boolean {
    const now = this.now();
    this.purgeExpired(now);
    const previous = this.seen.get(signature);
    if (previous !== undefined && previous > now) return false;
    this.seen.set(signature, expiresAt);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    return true;
  }

  private purgeExpired(now: number): void {
    for (const [sig, expiresAt] of this.seen) {
      if (expiresAt <= now) this.seen.delete(sig);
    }
  }
}

/** verifyRequestSignature followed by a replay claim: what an API route needs. */
export async function checkSignedRequest(
  opts: Parameters<typeof verifyRequestSignature>[0] & { replayGuard: ReplayGuard },
): Promise<SignatureCheck> {
  const result = verifyRequestSignature(opts);
  if (!result.ok) return result;
  if (!(await opts.replayGuard.claim(result.signature, result.expiresAt))) {
    return refuse('replayed request: this signature was already used');
  }
  return result;
}

const deploymentIds = new Map<string, Promise<string>>();

/** The deployment id an API publishes (GET /v1/deployment), fetched once per base URL. */
export function deploymentIdOf(baseUrl: string): Promise<string> {
  const base = baseUrl.replace(/\/+$/, '');
  let id = deploymentIds.get(base);
  if (!id) {
    id = (async () => {
      const res = await fetch(base + DEPLOYMENT_PATH);
      const json = (await res.json().catch(() => null)) as { deploymentId?: unknown } | null;
      const value = json?.deploymentId;
      if (!res.ok || typeof value !== 'string' || !DEPLOYMENT_ID_PATTERN.test(value))
        throw new Error(`${base}${DEPLOYMENT_PATH} did not answer with a deployment id (status ${res.status})`);
      return value;
    })();
    id.catch(() => deploymentIds.delete(base));
    deploymentIds.set(base, id);
  }
  return id;
}

/**
 * Sends a signed JSON request. `path` (with its query) is appended to `baseUrl` and is what
 * gets signed, so the server must see the same path (no path prefix in `baseUrl`). The deployment
 * id is the API's own unless given.
 */
export async function signedFetch(
  baseUrl: string,
  keys: KeyPair,
  method: string,
  path: string,
  body?: unknown,
  opts: { deploymentId?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const deploymentId = opts.deploymentId ?? (await deploymentIdOf(baseUrl));
  const idempotencyKey = Object.entries(opts.headers ?? {}).find(
    ([k]) => k.toLowerCase() === HEADER_IDEMPOTENCY_KEY,
  )?.[1];
  const headers: Record<string, string> = {
    ...opts.headers,
    ...signRequest({ deploymentId, method, path, body: text, keys, ...(idempotencyKey ? { idempotencyKey } : {}) }),
  };
  if (text !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl.replace(/\/+$/, '') + path, { method: method.toUpperCase(), headers, body: text });
  const responseText = await res.text();
  let json: unknown = null;
  if (responseText !== '') {
    try {
      json = JSON.parse(responseText);
    } catch {
      json = responseText;
    }
  }
  return { status: res.status, json, headers: res.headers };
}
