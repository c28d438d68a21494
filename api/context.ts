import type postgres from 'postgres';
import type { Client } from '@temporalio/client';
import type { CommonsConfig } from '../infra/config.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { Ledger } from '../db/ledger.js';
import type { ReplayGuard } from '../identity/request-signing.js';

/** What every route needs; built once by api/main.ts (or a test) and passed to buildServer. */
export interface ApiContext {
  cfg: CommonsConfig;
  sql: postgres.Sql;
  ledger: Ledger;
  store: ArtifactStore;
  temporal: Client;
  replayGuard: ReplayGuard;
  /** Bound into every signed message (api/deployment.ts). */
  deploymentId: string;
}
