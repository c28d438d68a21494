import type postgres from 'postgres';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { Trainer } from '../ml/trainer.js';
import type { Ledger } from '../db/ledger.js';
import type { ProtocolSettings } from '../domain/protocol/settings.js';
import type { Kek } from '../infra/kms/kek.js';
import type { RecordOpener } from '../infra/private-records/open-records.js';

/** What activities need from the outside world; each worker builds one from its config. */
export interface ActivityDeps {
  sql: postgres.Sql;
  store: ArtifactStore;
  ledger: Ledger;
  trainers: Record<string, Trainer>;
  /** The admin's protocol settings this worker started with (the review bond minimum). */
  protocol: ProtocolSettings;
  /**
   * The full key-encryption key, on workers configured with it (data collection and training); the
   * collection makes each encrypted Datanet's key pair with it. Undefined elsewhere.
   */
  kek?: Kek;
  /** Opens encrypted records and logs each read (infra/private-records); present exactly when `kek` is. */
  records?: RecordOpener;
}
