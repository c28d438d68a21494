import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { startWorkflowTier, eventually, uniqueId, type WorkflowTier } from '../test/workflow-tier/tier.js';
import { succeedingActivities } from '../test/workflow-tier/mocks.js';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { closeWindowSignal, collectionProgressQuery } from '../contracts/messages.js';
import { merge, withDefaults, type DeepPartial } from '../domain/lifecycle/params.js';
import type { LifecycleParams, DatanetSpecInput } from '../domain/lifecycle/types.js';
import type { collectionWorkflow, CollectionInput } from './collection.js';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * The Datanet round with its data activities mocked: how the window closes (signal, target,
 * deadline), continue-as-new in the window and in the scoring passes with nothing lost or done
 * twice, and the curators' review before the build.
 */
const COLLECTION: LifecycleParams['collection'] = merge(withDefaults().collection, {
  windowMs: 30_000,
  targetCount: 1000,
  pollIntervalMs: 50,
  batchSize: 10,
  parallelism: 2,
  batchesPerRun: 200,
  minAcceptedRecords: 1,
});
const SPEC: DatanetSpecInput = {
  fields: [
    { name: 'text', type: 'string', required: true },
    { name: 'label', type: 'enum', values: ['spam', 'ham'], required: true },
  ],
  textField: 'text',
  labelField: 'label',
};

describe.concurrent('Datanet collection (workflow tier)', () => {
  let tier: WorkflowTier;

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, succeedingActivities());
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  const start = (id: string, params: DeepPartial<LifecycleParams['collection']>, spec: DatanetSpecInput = SPEC) => {
    const input: CollectionInput = {
      proposalId: id,
      datanetId: id,
      modelName: `m-${id}`,
      domain: 'email spam',
      description: 'classifies mail',
      labels: ['spam', 'ham'],
      spec,
      params: merge(COLLECTION, params),
    };
    return tier.client.workflow.start<typeof collectionWorkflow>('collectionWorkflow', {
      taskQueue: TASK_QUEUES.lifecycle,
      workflowId: workflowIds.collection(id),
      args: [input],
    });
  };
  /** Every run of the chain, oldest first: whether it received the close signal and how it ended. */
  const runsOf = async (id: string, firstRunId: string) => {
    const runs: { signalled: boolean; continuedAsNew: boolean; completed: boolean; events: number }[] = [];
    let runId: string | undefined = firstRunId;
    while (runId) {
      const events: HistoryEvent[] = (
        await tier.client.workflow.getHandle(workflowIds.collection(id), runId).fetchHistory()
      ).events!;
      const last = events.at(-1)!;
      runs.push({
        signalled: events.some((e) => e.workflowExecutionSignaledEventAttributes),
        continuedAsNew: !!last.workflowExecutionContinuedAsNewEventAttributes,
        completed: !!last.workflowExecutionCompletedEventAttributes,
        events: events.length,
      });
      runId = last.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return runs;
  };

  /** The current run of the chain once it waits on its poll timer (the last event in its history). */
  const waitingOnTimer = (id: string, notRun?: string) =>
    eventually(async () => {
      const { runId } = await tier.client.workflow.getHandle(workflowIds.collection(id)).describe();
      if (runId === notRun) return undefined;
      const events = (await tier.client.workflow.getHandle(workflowIds.collection(id), runId).fetchHistory()).events;
      return events?.at(-1)?.timerStartedEventAttributes ? true : undefined;
    });

  it('closes the window on the close-window signal, long before its deadline', async () => {
    const t = tier.scope(uniqueId('signal'));
    t.mock({ countContributions: () => 3, closeDatanet: () => ({ minSeq: 1, maxSeq: 3, count: 3 }) });
    const h = await start(t.key, { pollIntervalMs: 20_000 });
    await waitingOnTimer(t.key);
    const signalledAt = Date.now();
    await h.signal(closeWindowSignal);
    const r = await h.result();
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(t.inputs('openDatanet')).toEqual([
      expect.objectContaining({ proposalId: t.key, datanetId: t.key, targetCount: 1000, spec: SPEC }),
    ]);
    expect(t.inputs('closeDatanet')).toEqual([{ datanetId: t.key }]);
    expect(t.inputs('countContributions')).toHaveLength(2); // the first poll, and the one the signal woke
    expect(r).toMatchObject({ datanetId: t.key, received: 3, datasetVersionId: `dv-${t.key}` });
  });

  it('closes the window when the target count has arrived', async () => {
    const t = tier.scope(uniqueId('target'));
    const counts = [5, 12, 40];
    t.mock({
      countContributions: () => counts.shift() ?? 40,
      closeDatanet: () => ({ minSeq: 1, maxSeq: 40, count: 40 }),
    });
    const r = await (await start(t.key, { targetCount: 40 })).result();
    expect(t.inputs('countContributions')).toHaveLength(3);
    expect(t.inputs('closeDatanet')).toHaveLength(1);
    expect(r.received).toBe(40);
  });

  it('closes the window at its deadline, and builds an empty Datanet without scoring', async () => {
    const t = tier.scope(uniqueId('deadline'));
    t.mock({
      countContributions: () => 0,
      closeDatanet: () => ({ minSeq: 1, maxSeq: 0, count: 0 }),
      buildDataset: () => ({
        datasetVersionId: 'dv',
        merkleRoot: 'r',
        manifestKey: 'k',
        recordCount: 0,
        contributors: 0,
      }),
    });
    const began = Date.now();
    const r = await (await start(t.key, { windowMs: 400, pollIntervalMs: 100 })).result();
    expect(Date.now() - began).toBeGreaterThanOrEqual(400);
    expect(t.inputs('closeDatanet')).toHaveLength(1);
    expect(t.inputs('scoreBatch')).toEqual([]);
    expect(t.inputs('dedupeBatch')).toEqual([]);
    expect(r).toMatchObject({ received: 0, accepted: 0 });
  });

  it('carries the close-window signal across continue-as-new: a later run closes the window', async () => {
    const t = tier.scope(uniqueId('can-window'));
    t.mock({ countContributions: () => 7, closeDatanet: () => ({ minSeq: 1, maxSeq: 7, count: 7 }) });
    // Every run polls once, waits, then continues as new (windowRunMaxEvents: 1).
    const h = await start(t.key, { windowRunMaxEvents: 1, pollIntervalMs: 2_000 });
    // Signal a later run while it waits on its poll timer: the signal wakes it, it continues as
    // new, and the request must travel to the next run.
    await waitingOnTimer(t.key, h.firstExecutionRunId);
    await h.signal(closeWindowSignal);
    const r = await tier.client.workflow.getHandle<typeof collectionWorkflow>(workflowIds.collection(t.key)).result();
    expect(r.received).toBe(7);
    const runs = await runsOf(t.key, h.firstExecutionRunId);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    // The run that received the signal continued as new (carrying it); the last run closed.
    const signalled = runs.filter((x) => x.signalled);
    expect(signalled).toMatchObject([{ signalled: true, continuedAsNew: true, completed: false }]);
    expect(runs.at(-1)).toMatchObject({ signalled: false, continuedAsNew: false, completed: true });
    // The window was opened once, by the first run, and closed once.
    expect(t.inputs('openDatanet')).toHaveLength(1);
    expect(t.inputs('closeDatanet')).toHaveLength(1);
  });

  it('scores and dedupes every seq exactly once across continue-as-new, in seq-aligned batches', async () => {
    const t = tier.scope(uniqueId('can-scoring'));
    const dedupeAccepted = new Map<number, number>();
    t.mock({
      countContributions: () => 30,
      closeDatanet: () => ({ minSeq: 101, maxSeq: 130, count: 30 }),
      scoreBatch: (a) => ({ scored: a.toSeq - a.fromSeq + 1, accepted: a.toSeq - a.fromSeq }),
      dedupeBatch: (a) => {
        const accepted = a.fromSeq % 3;
        dedupeAccepted.set(a.fromSeq, accepted);
        return { accepted, duplicates: 0 };
      },
    });
    const h = await start(t.key, { targetCount: 30, batchSize: 4, parallelism: 2, batchesPerRun: 3 });
    await h.result();
    const ranges = t.inputs('scoreBatch').map((a) => [a.fromSeq, a.toSeq]);
    const expected = Array.from({ length: 8 }, (_, i) => [101 + 4 * i, Math.min(130, 104 + 4 * i)]);
    expect(ranges.sort((a, b) => a[0]! - b[0]!)).toEqual(expected);
    // The dedupe pass starts its batches where the scoring pass did, after every scoring batch.
    expect(
      t
        .inputs('dedupeBatch')
        .map((a) => a.fromSeq)
        .sort((a, b) => a - b),
    ).toEqual(expected.map(([from]) => from));
    const order = t.calls().map((c) => c.name);
    expect(order.lastIndexOf('scoreBatch')).toBeLessThan(order.indexOf('dedupeBatch'));
    expect(t.inputs('scoreBatch')[0]).toMatchObject({ spec: SPEC, minQuality: COLLECTION.minQuality });
    // Both passes ran 8 batches, at most 3 per run: the chain continued as new.
    const runs = await runsOf(t.key, h.firstExecutionRunId);
    expect(runs.length).toBeGreaterThanOrEqual(5);
    // History stays small whatever the Datanet's size: each run holds at most a few batches.
    expect(Math.max(...runs.map((r) => r.events))).toBeLessThan(100);
    const progress = await tier.client.workflow.getHandle(workflowIds.collection(t.key)).query(collectionProgressQuery);
    expect(progress).toMatchObject({
      phase: 'done',
      firstSeq: 101,
      maxSeq: 130,
      received: 30,
      scored: 30,
      accepted: [...dedupeAccepted.values()].reduce((a, b) => a + b, 0),
    });
    expect(t.inputs('openDatanet')).toHaveLength(1);
    expect(t.inputs('buildDataset')).toEqual([{ proposalId: t.key, datanetId: t.key }]);
  });

  it('a curated Datanet waits for the curators to decide every record before the build', async () => {
    const t = tier.scope(uniqueId('curated'));
    const waiting = [3, 1, 0];
    t.mock({ countAwaitingApproval: () => waiting.shift() ?? 0, countContributions: () => 1000 });
    const curated = { ...SPEC, access: { curation: { requireApproval: true, reviewMs: 20_000 } } };
    await (await start(t.key, {}, curated)).result();
    expect(t.inputs('countAwaitingApproval')).toHaveLength(3);
    const order = t.calls().map((c) => c.name);
    expect(order.lastIndexOf('countAwaitingApproval')).toBeLessThan(order.indexOf('buildDataset'));
    expect(order.lastIndexOf('dedupeBatch')).toBeLessThan(order.indexOf('countAwaitingApproval'));
  });

  it('a curated Datanet builds when its review time is up, undecided records left out', async () => {
    const t = tier.scope(uniqueId('curated-timeout'));
    t.mock({ countAwaitingApproval: () => 2, countContributions: () => 1000 });
    const curated = { ...SPEC, access: { curation: { requireApproval: true, reviewMs: 1000 } } };
    await (await start(t.key, { pollIntervalMs: 200 }, curated)).result();
    expect(t.inputs('countAwaitingApproval').length).toBeGreaterThanOrEqual(2);
    expect(t.inputs('buildDataset')).toHaveLength(1);
  });

  it('an uncurated Datanet builds right after the passes', async () => {
    const t = tier.scope(uniqueId('uncurated'));
    t.mock({ countContributions: () => 1000 });
    await (await start(t.key, {})).result();
    expect(t.inputs('countAwaitingApproval')).toEqual([]);
    expect(t.inputs('buildDataset')).toHaveLength(1);
  });
});
