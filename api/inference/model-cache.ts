import type postgres from 'postgres';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { PredictorRegistry, type Predictor } from '../../ml/serving/predictor.js';
import { notFound } from '../errors.js';
import { findProductionVersion, findServableVersion } from '../../db/queries/models.js';

export interface LoadedVersion {
  modelName: string;
  version: number;
  proposalId: string;
  developer: string;
  sha256: string;
  /** Answers calls with attribution: the implementation is picked per version (ml/serving/predictor.ts). */
  predictor: Predictor;
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
    private readonly opts: {
      maxVersions?: number;
      pointerTtlMs?: number;
      predictors?: PredictorRegistry;
      /** Called as each load from S3 begins (the commons_model_loads_total metric). */
      onLoad?: (modelName: string) => void;
      /** Called once a version is ready to answer (the commons_attribution_records gauge). */
      onLoaded?: (loaded: LoadedVersion) => void;
    } = {},
  ) {}

  async production(modelName: string): Promise<LoadedVersion> {
    return this.get(modelName, await this.productionVersion(modelName));
  }

  /** The production version's number, without loading it (404 when there is none). */
  async productionVersion(modelName: string): Promise<number> {
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
    return version;
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
    this.opts.onLoad?.(modelName);
    const v = await findServableVersion(this.sql, modelName, version);
    if (!v) throw notFound(`model ${modelName} has no version ${version}`);
    const artifact = await this.store.get(v.artifactKey);
    const predictor = await (this.opts.predictors ?? new PredictorRegistry()).load(
      { modelName, version, artifactKey: v.artifactKey, manifestKey: v.manifestKey, trainer: v.trainer, task: v.task },
      artifact,
      this.store,
    );
    const loaded = {
      modelName,
      version,
      proposalId: v.proposalId,
      developer: v.developer,
      sha256: v.sha256,
      predictor,
    };
    this.opts.onLoaded?.(loaded);
    return loaded;
  }
}
