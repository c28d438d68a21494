import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { startWorkflowTier, eventually, uniqueId, type WorkflowTier } from '../test/workflow-tier/tier.js';
import { succeedingActivities } from '../test/workflow-tier/mocks.js';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { statusQuery, tallyQuery, voteUpdate } from '../contracts/messages.js';
import { lifecycleInput } from '../test/workflow-tier/lifecycle-input.js';
import type { VoteOption } from '../domain/governance/tally.js';
import type { lifecycleWorkflow } from './lifecycle.js';

/**
 * The LifecycleOutcome search attribute (the patched branch of a lifecycle's ending): every way
 * out sets it to the final status, so the Temporal UI tells a vetoed lifecycle from a serving one
 * although both show "Completed". Histories recorded before the patch replay without it
 * (workflows/replay.test.ts).
 */
describe.concurrent('lifecycle outcome search attribute (workflow tier)', () => {
  let tier: WorkflowTier;

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, succeedingActivities());
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  const start = (id: string) =>
    tier.client.workflow.start<typeof lifecycleWorkflow>('lifecycleWorkflow', {
      taskQueue: TASK_QUEUES.lifecycle,
      workflowId: workflowIds.lifecycle(id),
      args: [lifecycleInput(id)],
    });
  const decided = async (id: string, option: VoteOption) => {
    const h = await start(id);
    await eventually(async () => ((await h.query(tallyQuery)).open ? true : undefined));
    await h.executeUpdate(voteUpdate, { args: [{ voter: 'gov-a', option }] });
    return h;
  };
  /** The attribute as Temporal stores it, and the workflows a UI filter on it finds for this proposal. */
  const outcomeOf = async (h: WorkflowHandle, id: string, outcome: string) => {
    const attribute = (await h.describe()).searchAttributes.LifecycleOutcome;
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of tier.client.workflow.list({
        query: `LifecycleOutcome = "${outcome}" AND ProposalId = "${id}"`,
      }))
        ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    return { attribute, listed };
  };

  for (const [option, outcome] of [
    ['veto', 'vetoed'],
    ['no', 'rejected'],
    ['yes', 'serving'],
  ] as const) {
    it(`a lifecycle that ends ${outcome} is found by LifecycleOutcome = "${outcome}"`, async () => {
      const id = tier.scope(uniqueId(outcome)).key;
      const h = await decided(id, option);
      expect((await h.result()).status).toBe(outcome);
      expect((await h.describe()).status.name).toBe('COMPLETED');
      expect(await outcomeOf(h, id, outcome)).toEqual({
        attribute: [outcome],
        listed: [workflowIds.lifecycle(id)],
      });
    });
  }

  it('a failed stage: the compensation sets LifecycleOutcome = "failed"', async () => {
    const t = tier.scope(uniqueId('failed'));
    const id = t.key;
    t.mock({
      trainModel: () => {
        throw ApplicationFailure.create({ message: 'no worker offers trainer gpt-9', type: 'UnknownTrainer' });
      },
    });
    const h = await decided(id, 'yes');
    expect((await h.result()).status).toBe('failed');
    expect(await outcomeOf(h, id, 'failed')).toEqual({ attribute: ['failed'], listed: [workflowIds.lifecycle(id)] });
  });

  it('a running lifecycle has no outcome; a cancelled one ends with LifecycleOutcome = "cancelled"', async () => {
    const t = tier.scope(uniqueId('cancelled'));
    const id = t.key;
    t.mock({ countContributions: () => 0 });
    const h = await decided(id, 'yes');
    await eventually(async () => ((await h.query(statusQuery)).stage === 'data-collection' ? true : undefined));
    expect((await h.describe()).searchAttributes.LifecycleOutcome).toBeUndefined();
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
    expect((await h.describe()).status.name).toBe('CANCELLED');
    expect(await outcomeOf(h, id, 'cancelled')).toEqual({
      attribute: ['cancelled'],
      listed: [workflowIds.lifecycle(id)],
    });
  });
});
