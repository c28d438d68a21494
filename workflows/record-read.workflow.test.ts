import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { startWorkflowTier, uniqueId, type Scope, type WorkflowTier } from '../test/workflow-tier/tier.js';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { ERROR_TYPES } from '../contracts/error-types.js';
import type { RecordReadInput } from '../activities/records/sealed-read.js';
import type { recordReadWorkflow } from './record-read.js';

/**
 * The sealed read's workflow with its one activity mocked: the box comes back as the worker made
 * it, a refusal fails the read at once (no second decryption attempt), and a worker that could not
 * answer is retried.
 */
describe.concurrent('record read (workflow tier)', () => {
  let tier: WorkflowTier;
  const box = { sealed: Buffer.from('sealed box').toString('base64'), purpose: 'curator-view' as const };

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, { lifecycle: {}, data: { readRecordSealed: () => box } });
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  const input = (t: Scope): RecordReadInput => ({
    datanetId: `dn-${t.key}`,
    hash: 'a'.repeat(64),
    reader: `cm${'1'.repeat(40)}`,
    readerPublicKey: Buffer.alloc(32, 7).toString('base64'),
  });
  const read = (t: Scope) =>
    tier.client.workflow.execute<typeof recordReadWorkflow>('recordReadWorkflow', {
      workflowId: workflowIds.recordRead(t.key),
      taskQueue: TASK_QUEUES.lifecycle,
      args: [input(t)],
    });

  it('returns the box the worker sealed, after one activity with the request as given', async () => {
    const t = tier.scope(uniqueId('read'));
    expect(await read(t)).toEqual(box);
    expect(t.inputs('readRecordSealed')).toEqual([input(t)]);
  });

  it('fails at once on a refusal, an erased or an unreadable record: no second attempt', async () => {
    for (const type of [ERROR_TYPES.readRefused, ERROR_TYPES.recordGone, ERROR_TYPES.recordUnreadable]) {
      const t = tier.scope(uniqueId('refused'));
      t.mock({
        readRecordSealed: () => {
          throw ApplicationFailure.create({ type, message: `${type} by the worker` });
        },
      });
      const err = await read(t).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      let cause: unknown = err;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
      expect((cause as ApplicationFailure).type).toBe(type);
      expect(t.inputs('readRecordSealed')).toHaveLength(1);
    }
  });

  it('retries a worker that could not answer', async () => {
    const t = tier.scope(uniqueId('retry'));
    let calls = 0;
    t.mock({
      readRecordSealed: () => {
        if (calls++ === 0) throw new Error('this worker holds no key-encryption key');
        return box;
      },
    });
    expect(await read(t)).toEqual(box);
    expect(t.inputs('readRecordSealed')).toHaveLength(2);
  });
});
