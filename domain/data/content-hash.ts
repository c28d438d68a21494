import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

/** A contribution's content hash: SHA-256 over its canonical JSON bytes (what is stored in S3). */
export function contentHash(payload: unknown): { hash: string; bytes: Buffer } {
  const bytes = Buffer.from(canonicalJson(payload), 'utf8');
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
}
