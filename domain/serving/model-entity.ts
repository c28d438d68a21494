/**
 * The served model's entity workflow (`model-<name>`): its state, carried across continue-as-new,
 * and the pure rules its handlers apply.
 */
export type ModelStatus = 'serving' | 'retired';

export interface ModelVersionEntry {
  version: number;
  proposalId: string;
  /** Workflow time when the entity took it. */
  at: number;
}

export interface EpochSummary {
  epoch: number;
  /** OPEN base units paid out in this epoch. */
  paid: string;
  recipients: number;
  at: number;
  /** The Merkle root over the epoch's receipts and how many it commits (docs/receipts.md). */
  receipts?: { root: string; size: number };
}

export interface ModelEntityState {
  status: ModelStatus;
  productionVersion?: number;
  versions: ModelVersionEntry[];
  /** Epochs settled so far; the next one is `epoch + 1`. */
  epoch: number;
  nextEpochAt?: number;
  lastEpoch?: EpochSummary;
  retiredReason?: string;
}

export interface ModelEntityView extends ModelEntityState {
  modelName: string;
  developer: string;
  settlementPeriodMs: number;
}

export interface VersionChange {
  productionVersion: number;
  previous: number | null;
}

export interface ModelEntityInput {
  modelName: string;
  developer: string;
  /** Reward-settlement epoch period (ms): a day in production, seconds in tests. */
  settlementPeriodMs: number;
  /** Continue as new past this many history events (default 2000). */
  maxHistoryEvents?: number;
  /** Carried across continue-as-new. */
  state?: ModelEntityState;
}

export const initialModelState = (): ModelEntityState => ({ status: 'serving', versions: [], epoch: 0 });

/**
 * Why a rollback is refused (undefined when allowed). Who may roll back is checked by the API;
 * whether the registry has the version, by the activity.
 */
export function rollbackRefusal(s: ModelEntityState, r: { version: number }): string | undefined {
  if (s.status === 'retired') return 'the model is retired';
  if (!Number.isInteger(r.version) || r.version < 1) return `version must be a positive integer, got ${r.version}`;
  if (r.version === s.productionVersion) return `version ${r.version} is already production`;
  return undefined;
}

/** When the epoch after `nextEpochAt` is due: one period later, skipping periods missed while down. */
export function nextEpochAfter(nextEpochAt: number, now: number, periodMs: number): number {
  let next = nextEpochAt + periodMs;
  if (next <= now) next = now + periodMs;
  return next;
}
