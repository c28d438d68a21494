/** S3 layout of a Datanet. Every key is derived from ids and content hashes, so writes are idempotent. */
export const dataKeys = {
  /** A pack of records written by one ingest request, named by the SHA-256 of its bytes. */
  pack: (datanetId: string, packHash: string) => `datanets/${datanetId}/packs/${packHash}.jsonl`,
  part: (datanetId: string, fromSeq: number) =>
    `datanets/${datanetId}/parts/${String(fromSeq).padStart(12, '0')}.jsonl`,
  partsPrefix: (datanetId: string) => `datanets/${datanetId}/parts/`,
  manifest: (datanetId: string, version: number) => `datanets/${datanetId}/datasets/v${version}/manifest.jsonl`,
};

/**
 * A model artifact's attribution index lives beside it: `<dir of model.bin>attribution/` (staging
 * and the immutable models/<name>/<version>/ prefix alike), so promotion copies it with the model.
 */
export const attributionIndexPrefix = (artifactKey: string) =>
  `${artifactKey.slice(0, artifactKey.lastIndexOf('/') + 1)}attribution/`;

/**
 * A generation model's span index lives beside its artifact: `<dir of the artifact>spans/`
 * (model.bin or model.tar, staging and models/<name>/<version>/ alike), so promotion copies it too.
 */
export const spanIndexPrefix = (artifactKey: string) =>
  `${artifactKey.slice(0, artifactKey.lastIndexOf('/') + 1)}spans/`;
