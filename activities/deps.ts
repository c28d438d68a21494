import type postgres from 'postgres';
import type { Database } from '../db/client.js';
import type { ArtifactStore } from './artifacts/store.js';
import type { Trainer } from './training/trainer.js';
import { Ledger } from './ledger/ledger.js';

/** What activities need from the outside world; each worker builds one from its config. */
export interface ActivityDeps {
  db: Database;
  sql: postgres.Sql;
  store: ArtifactStore;
  ledger: Ledger;
  trainers: Record<string, Trainer>;
}

export function ledgerOf(sql: postgres.Sql): Ledger {
  return new Ledger(sql);
}
