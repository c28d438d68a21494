import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ArtifactStore, ObjectInfo, PutOptions } from './artifact-store.js';

/**
 * An in-memory ArtifactStore for unit tests of code that reads and writes artifacts (the S3 store
 * itself is covered by the stack tests). Same contract: ifNoneMatch refuses overwrites.
 */
export class MemoryStore implements ArtifactStore {
  readonly objects = new Map<string, { body: Buffer; metadata: Record<string, string> }>();
  put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    if (opts.ifNoneMatch && this.objects.has(key)) return Promise.reject(new Error(`precondition failed: ${key}`));
    this.objects.set(key, { body: Buffer.from(body), metadata: { ...(opts.metadata ?? {}) } });
    return Promise.resolve();
  }
  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    await this.put(key, await readFile(path), opts);
  }
  get(key: string): Promise<Buffer> {
    const o = this.objects.get(key);
    if (!o) return Promise.reject(new Error(`no such key: ${key}`));
    return Promise.resolve(Buffer.from(o.body));
  }
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return (await this.get(key)).subarray(start, end + 1);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return Promise.resolve(
      o && { key, size: o.body.length, etag: createHash('md5').update(o.body).digest('hex'), metadata: o.metadata },
    );
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    return Promise.all(keys.map(async (k) => (await this.head(k))!));
  }
  async copy(from: string, to: string, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    await this.put(to, await this.get(from), { ifNoneMatch: opts.ifNoneMatch });
  }
  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
}
