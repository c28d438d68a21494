import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import { visibilityOf } from '../../domain/data/datanet-spec.js';
import { sealedReadOf, type ReadPurpose } from '../../domain/data/payload-access.js';
import { sealTo, X25519_KEY_BYTES } from '../../domain/data/envelope/sealed-box.js';
import { readerContext } from '../../domain/data/envelope/record-envelope.js';
import { findDatanetCuration } from '../../db/queries/curation.js';
import { findDatanetRecord, isDatanetMember } from '../../db/queries/record-reads.js';

export interface RecordReadInput {
  datanetId: string;
  hash: string;
  /** The verified address of the reader (the API checked the request's signature). */
  reader: string;
  /** The reader's ephemeral X25519 public key (raw, base64) from the signed request. */
  readerPublicKey: string;
}

export interface SealedRecord {
  /** The record's bytes sealed to readerPublicKey (domain/data/envelope/sealed-box.ts), base64. */
  sealed: string;
  purpose: ReadPurpose;
}

const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * The one path by which a person reads a record of an encrypted Datanet: this worker (it holds the
 * unwrap capability, the API does not) checks the read against the rule again, opens the record
 * through the record opener, which logs the read with the reader as actor, and seals it to the
 * reader's key. Only the box leaves: the workflow's history and the API carry ciphertext.
 */
export function createRecordReadActivities(deps: ActivityDeps) {
  const { sql } = deps;
  return {
    async readRecordSealed(a: RecordReadInput): Promise<SealedRecord> {
      const readerKey = Buffer.from(a.readerPublicKey, 'base64');
      if (readerKey.length !== X25519_KEY_BYTES)
        throw refuse(ERROR_TYPES.readRefused, `the reader's public key must be ${X25519_KEY_BYTES} bytes`);
      // Retryable: another worker of the queue may hold the key (a misconfigured one should not fail the read).
      if (!deps.records) throw new Error('this worker holds no key-encryption key: it cannot open records');
      const [d, record] = await Promise.all([
        findDatanetCuration(sql, a.datanetId),
        findDatanetRecord(sql, a.datanetId, a.hash),
      ]);
      if (!d || !record) throw refuse(ERROR_TYPES.recordGone, `datanet ${a.datanetId} holds no record ${a.hash}`);
      const member = visibilityOf(d.spec) === 'members' ? await isDatanetMember(sql, a.datanetId, a.reader) : false;
      const rule = sealedReadOf(
        { status: record.status, contributor: record.contributor, datanet: d },
        a.datanetId,
        a.reader,
        member,
      );
      if (!rule.ok) throw refuse(ERROR_TYPES.readRefused, rule.reason);
      const opened = (
        await deps.records.openRecords(a.datanetId, [record], { actor: a.reader, purpose: rule.purpose })
      ).get(a.hash);
      if (!opened) throw refuse(ERROR_TYPES.recordGone, `record ${a.hash} was erased: its data key is destroyed`);
      if (!opened.ok) throw refuse(ERROR_TYPES.recordUnreadable, `record ${a.hash} cannot be opened: ${opened.reason}`);
      return {
        sealed: sealTo(readerKey, opened.bytes, readerContext(a.datanetId, a.hash)).toString('base64'),
        purpose: rule.purpose,
      };
    },
  };
}

export type RecordReadActivities = ReturnType<typeof createRecordReadActivities>;
