/**
 * An ArtifactStore over a local directory, for benchmarks that measure the trainer and the index
 * alone (no S3 server in the figures). Same contract as the S3 store: keys are paths, ifNoneMatch
 * refuses overwrites, getFile streams.
 */
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { ArtifactStore, ObjectInfo, PutOptions } from '../../storage/artifact-store.js';

export class DirStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    return join(this.root, key);
  }

  private async refuseOverwrite(key: string, opts: PutOptions): Promise<void> {
    if (opts.ifNoneMatch && (await this.head(key))) throw new Error(`${key} already exists`);
    await mkdir(dirname(this.path(key)), { recursive: true });
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    await this.refuseOverwrite(key, opts);
    await writeFile(this.path(key), body);
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    await this.refuseOverwrite(key, opts);
    await copyFile(path, this.path(key));
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async getFile(key: string, path: string): Promise<void> {
    await copyFile(this.path(key), path);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return (await readFile(this.path(key))).subarray(start, end + 1);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const s = await stat(this.path(key)).catch(() => undefined);
    return s?.isFile() ? { key, size: s.size, metadata: {} } : undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else {
          const key = relative(this.root, p);
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(p)).size, metadata: {} });
        }
      }
    };
    await walk(this.root);
    return out;
  }

  async copy(fromKey: string, toKey: string, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    await this.refuseOverwrite(toKey, opts);
    await copyFile(this.path(fromKey), this.path(toKey));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
