/**
 * The one interface every artifact read/write goes through. The S3 implementation lives in
 * ./s3-store.ts; trainers and data activities depend only on this shape.
 */
export interface PutOptions {
  contentType?: string;
  /** Refuse to overwrite an existing object (S3 conditional write, If-None-Match: *). */
  ifNoneMatch?: boolean;
  metadata?: Record<string, string>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  metadata: Record<string, string>;
}

export interface ArtifactStore {
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void>;
  /** Streams a local file up, for objects too large to hold in memory (dataset manifests). */
  putFile(key: string, path: string, opts?: PutOptions): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Streams an object into a local file; stores without it are read whole (see ml/embedded/manifest-stream). */
  getFile?(key: string, path: string): Promise<void>;
  /** Bytes `start` to `end` inclusive (an HTTP Range GET): one record out of a pack without the rest. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  copy(fromKey: string, toKey: string, opts?: { ifNoneMatch?: boolean }): Promise<void>;
  delete(key: string): Promise<void>;
}
