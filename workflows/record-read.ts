import type { RecordReadInput, SealedRecord } from '../activities/records/sealed-read.js';
import { recordReads } from './activity-proxies.js';

/**
 * A curator's or member's read of one encrypted record: one activity on the data-collection queue
 * opens it (logged) and seals it to the reader's key. A workflow, not a call into a worker, so the
 * API never holds an unwrap capability; its history holds the reader's public key and the sealed
 * box, never the record.
 */
export async function recordReadWorkflow(input: RecordReadInput): Promise<SealedRecord> {
  return recordReads.readRecordSealed(input);
}
