import type postgres from 'postgres';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { loadModel, parseManifest } from '../../ml/embedded/embedded-trainer.js';
import { attributeWithIndex, prepareInfluenceIndex, type Attribution } from '../../ml/embedded/influence.js';
import { AttributionIndex, attributionIndexKeys } from '../../ml/embedded/attribution-index.js';
import { attributionIndexPrefix } from '../../storage/keys.js';
import type { LinearSoftmaxModel } from '../../ml/embedded/linear-softmax.js';
import { notFound } from '../errors.js';
import { findProductionVersion, findServableVersion } from '../../db/queries/models.js';

export interface LoadedVersion {
  modelName: string;
  version: number;
  proposalId: string;
  developer: string;
  sha256: string;
  model: LinearSoftmaxModel;
  /**
   * 'exact': TracIn over postings rebuilt from the manifest (small training sets); 'ann': the
   * projected-gradient HNSW index built at training time and promoted with the model.
   */
  attributionMode: 'exact' | 'ann';
  /** Training records the attribution searches. */
  attributionRecords: number;
  /** The topK proponents of the model's answer to `input`, and contributor weights over them. */
  attribute(input: string, topK: number): Attribution;
}

export interface ModelCacheOptions {
  maxVersions?: number;
  pointerTtlMs?: number;
  /** Largest training set attributed exactly; larger versions need their ANN index (default 5000). */
  exactAttributionMaxRecords?: number;
  /** Where downloaded ANN indexes are kept and memory-mapped from. */
  indexCacheDir?: string;
}

/**
 * Versions are loaded from S3 on first use and kept in memory (LRU by count). The production
 * pointer is re-read at most every `pointerTtlMs`, so a rollback takes effect within that time.
 */
export class ModelCache {
  private readonly versions = new Map<string, Promise<LoadedVersion>>();
  private readonly pointers = new Map<string, { version: number; at: number }>();

  constructor(
    private readonly sql: postgres.Sql,
    private readonly store: ArtifactStore,
    private readonly opts: ModelCacheOptions = {},
  ) {}

  async production(modelName: string): Promise<LoadedVersion> {
    const ttl = this.opts.pointerTtlMs ?? 2000;
    const p = this.pointers.get(modelName);
    let version = p && Date.now() - p.at < ttl ? p.version : undefined;
    if (version === undefined) {
      const production = await findProductionVersion(this.sql, modelName);
      if (production === undefined || production === null)
        throw notFound(`model ${modelName} has no production version`);
      version = production;
      this.pointers.set(modelName, { version, at: Date.now() });
    }
    return this.get(modelName, version);
  }

  /** Forget the cached production pointer (after a rollback through this instance). */
  invalidate(modelName: string): void {
    this.pointers.delete(modelName);
  }

  get(modelName: string, version: number): Promise<LoadedVersion> {
    const key = `${modelName}@${version}`;
    let hit = this.versions.get(key);
    if (hit) {
      this.versions.delete(key);
      this.versions.set(key, hit); // LRU: most recent last
      return hit;
    }
    hit = this.load(modelName, version);
    hit.catch(() => this.versions.delete(key));
    this.versions.set(key, hit);
    for (const oldest of this.versions.keys()) {
      if (this.versions.size <= (this.opts.maxVersions ?? 8)) break;
      this.versions.delete(oldest);
    }
    return hit;
  }

  private async load(modelName: string, version: number): Promise<LoadedVersion> {
    const v = await findServableVersion(this.sql, modelName, version);
    if (!v) throw notFound(`model ${modelName} has no version ${version}`);
    const model = await loadModel(this.store, v.artifactKey);
    const base = { modelName, version, proposalId: v.proposalId, developer: v.developer, sha256: v.sha256, model };
    // A version promoted with an index is served from it unless its training set is small enough
    // for exact attribution; the header says how many records the index holds.
    const indexPrefix = attributionIndexPrefix(v.artifactKey);
    const exactMax = this.opts.exactAttributionMaxRecords ?? 5000;
    const header = (await this.store.head(attributionIndexKeys.header(indexPrefix)))
      ? (JSON.parse((await this.store.get(attributionIndexKeys.header(indexPrefix))).toString('utf8')) as {
          size: number;
        })
      : undefined;
    if (header && header.size > exactMax) {
      const ann = await AttributionIndex.fromStore(this.store, indexPrefix, this.opts.indexCacheDir);
      return {
        ...base,
        attributionMode: 'ann',
        attributionRecords: ann.size,
        attribute: (input, topK) => ann.attribute(model, input, topK),
      };
    }
    const index = prepareInfluenceIndex(model, parseManifest(await this.store.get(v.manifestKey)));
    return {
      ...base,
      attributionMode: 'exact',
      attributionRecords: index.size,
      attribute: (input, topK) => attributeWithIndex(index, model, input, topK),
    };
  }
}
