import type postgres from 'postgres';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { Trainer } from '../ml/trainer.js';
import type { Ledger } from '../db/ledger.js';

/** What activities need from the outside world; each worker builds one from its config. */
export interface ActivityDeps {
  sql: postgres.Sql;
  store: ArtifactStore;
  ledger: Ledger;
  trainers: Record<string, Trainer>;
}
