import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  CopyObjectCommand,
  DeleteObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { CommonsConfig } from '../infra/config.js';
import type { ArtifactStore, ObjectInfo, PutOptions } from './artifact-store.js';

export class ObjectExistsError extends Error {
  constructor(readonly key: string) {
    super(`object ${key} already exists and is never overwritten`);
  }
}

function isStatus(err: unknown, ...codes: number[]): boolean {
  return err instanceof S3ServiceException && codes.includes(err.$metadata.httpStatusCode ?? 0);
}

export function createS3Client(cfg: CommonsConfig['s3']): S3Client {
  return new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    // Local S3-compatible servers answer path-style only, and reject the SDK's default trailing checksums.
    forcePathStyle: Boolean(cfg.endpoint),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: cfg.accessKeyId
      ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey ?? '' }
      : undefined,
  });
}

export class S3ArtifactStore implements ArtifactStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  static fromConfig(cfg: CommonsConfig['s3']): S3ArtifactStore {
    return new S3ArtifactStore(createS3Client(cfg), cfg.bucket);
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    await this.send(key, body, Buffer.byteLength(body), opts);
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    const { size } = await stat(path);
    await this.send(key, createReadStream(path), size, opts);
  }

  private async send(key: string, body: Buffer | string | Readable, length: number, opts: PutOptions): Promise<void> {
    if (opts.ifNoneMatch && (await this.head(key))) throw new ObjectExistsError(key);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          // A stream has no length of its own; S3 needs one for a single (non-chunked) PUT.
          ContentLength: length,
          ContentType: opts.contentType,
          Metadata: opts.metadata,
          IfNoneMatch: opts.ifNoneMatch ? '*' : undefined,
        }),
      );
    } catch (err) {
      if (opts.ifNoneMatch && isStatus(err, 412, 409)) throw new ObjectExistsError(key);
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /** Streams an object to a local file (manifests and indexes too large to hold in memory). */
  async getFile(key: string, path: string): Promise<void> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    await pipeline(res.Body as Readable, createWriteStream(path));
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const res = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }),
    );
    const body = Buffer.from(await res.Body!.transformToByteArray());
    // A server that ignores Range answers 200 with the whole object: take the range out of it.
    return res.ContentRange || body.length === end - start + 1 ? body : body.subarray(start, end + 1);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: res.ContentLength ?? 0, etag: res.ETag, metadata: res.Metadata ?? {} };
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag, metadata: {} });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async copy(fromKey: string, toKey: string, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    if (opts.ifNoneMatch && (await this.head(toKey))) throw new ObjectExistsError(toKey);
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: toKey,
        CopySource: `${this.bucket}/${encodeURIComponent(fromKey).replace(/%2F/g, '/')}`,
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
