import type postgres from 'postgres';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { PredictorRegistry, type Predictor } from '../../ml/serving/predictor.js';
import { HttpError, notFound } from '../errors.js';
import { servedVersion, type ServingState } from '../../domain/serving/served-version.js';
import { findServableVersion, findServingState } from '../../db/queries/models.js';

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
 * Versions are loaded from S3 on first use and kept in memory (LRU by count). What serves of a
 * model (retired or not, the production pointer, each version's status) is checked before every
 * call, from a copy re-read at most every `pointerTtlMs`: a rollback or a retirement takes effect
 * within that time on every replica (at once on the one that made it). A refusal is always
 * confirmed against Postgres, so a version promoted or a model restored a moment ago serves at once.
 */
export class ModelCache {
  private readonly versions = new Map<string, Promise<LoadedVersion>>();
  /** The versions of `versions` whose load has finished, for callers that need no promise. */
  private readonly ready = new Map<string, LoadedVersion>();
  private readonly states = new Map<string, { state: ServingState | undefined; at: number }>();

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

  private async readState(modelName: string): Promise<ServingState | undefined> {
    const state = await findServingState(this.sql, modelName);
    this.states.set(modelName, { state, at: Date.now() });
    return state;
  }

  /**
   * The number of the version serving `which`, checked before anything is loaded or charged (404
   * or 410 otherwise): paid calls admit their payer between this and `get`.
   */
  async served(modelName: string, which: number | 'production'): Promise<number> {
    const hit = this.states.get(modelName);
    const cached = hit && Date.now() - hit.at < (this.opts.pointerTtlMs ?? 2000) ? hit.state : undefined;
    let v = cached ? servedVersion(modelName, cached, which) : undefined;
    if (v === undefined || 'refused' in v) v = servedVersion(modelName, await this.readState(modelName), which);
    if ('refused' in v) throw new HttpError(v.refused, v.reason);
    return v.version;
  }

  /**
   * `served` from the copy in memory alone: the version when that copy is fresh and serves it,
   * undefined when Postgres must be asked (and every refusal is confirmed there, as `served` does).
   */
  servedNow(modelName: string, which: number | 'production'): number | undefined {
    const hit = this.states.get(modelName);
    if (!hit?.state || Date.now() - hit.at >= (this.opts.pointerTtlMs ?? 2000)) return undefined;
    const v = servedVersion(modelName, hit.state, which);
    return 'refused' in v ? undefined : v.version;
  }

  private async resolve(modelName: string, which: number | 'production'): Promise<LoadedVersion> {
    return this.get(modelName, await this.served(modelName, which));
  }

  /** The production version, ready to answer; 404 when there is none, 410 when the model is retired. */
  production(modelName: string): Promise<LoadedVersion> {
    return this.resolve(modelName, 'production');
  }

  /**
   * A version by number, only while it serves (production, or an earlier production it superseded):
   * a retired one is 410, a candidate or abandoned one 404.
   */
  version(modelName: string, version: number): Promise<LoadedVersion> {
    return this.resolve(modelName, version);
  }

  /** Forget what serves of a model (after a rollback, retirement or restore through this instance). */
  invalidate(modelName: string): void {
    this.states.delete(modelName);
  }

  /** A version `served` answered with, loaded (or from memory). */
  get(modelName: string, version: number): Promise<LoadedVersion> {
    const key = `${modelName}@${version}`;
    let hit = this.versions.get(key);
    if (hit) {
      this.versions.delete(key);
      this.versions.set(key, hit); // LRU: most recent last
      return hit;
    }
    const loading = this.load(modelName, version);
    hit = loading;
    loading.then(
      (v) => {
        if (this.versions.get(key) === loading) this.ready.set(key, v);
      },
      () => {
        if (this.versions.get(key) === loading) this.versions.delete(key);
      },
    );
    this.versions.set(key, hit);
    for (const oldest of this.versions.keys()) {
      if (this.versions.size <= (this.opts.maxVersions ?? 8)) break;
      this.versions.delete(oldest);
      this.ready.delete(oldest);
    }
    return hit;
  }

  /** `get` for a version already loaded: no promise to wait for; undefined while it is not. */
  loadedNow(modelName: string, version: number): LoadedVersion | undefined {
    const key = `${modelName}@${version}`;
    const v = this.ready.get(key);
    const hit = this.versions.get(key);
    if (!v || !hit) return undefined;
    this.versions.delete(key);
    this.versions.set(key, hit); // LRU: most recent last
    return v;
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
