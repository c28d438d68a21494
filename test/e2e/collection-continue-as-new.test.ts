import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * The Datanet window continues as new every iteration here (windowRunMaxEvents: 1), so the
 * close-window signal necessarily arrives in a run that continues as new: it must be carried into
 * the next run and close the window long before its deadline. Contributions racing the close are
 * either refused (409) or, when acknowledged with 201, scored: never left pending.
 */
describe('Datanet window across continue-as-new', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const id = uniqueId('can');
  const acknowledged: string[] = [];
  let refused = 0;
  let closedAfterMs = 0;

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '5000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 240_000,
          targetCount: 100_000,
          // Each run polls once, waits up to 5 s, then continues as new (windowRunMaxEvents: 1).
          pollIntervalMs: 5000,
          windowRunMaxEvents: 1,
          batchSize: 50,
          // Far more than will arrive: after scoring, the lifecycle ends at the data gate.
          minAcceptedRecords: 10_000,
          keywords: EMAIL_KEYWORDS,
        },
      }),
    );
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    const { balances } = (await gov.account()) as { balances: { gOPEN: string } };
    await gov.transfer('treasury', 'gOPEN', balances.gOPEN);
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
    const records = loadSpamAssassin({ limit: 400, seed: 21 }).map((r) => ({ text: r.text, label: r.label }));
    // Wait until the window has continued as new at least once.
    const collection = app.temporal.workflow.getHandle(workflowIds.collection(id));
    const firstRun = (await collection.describe()).runId;
    await eventually(async () => ((await collection.describe()).runId !== firstRun ? true : undefined), 30_000, 100);
    // One contributor sends records one by one while the proposer closes the window.
    let closing = false;
    const sender = (async () => {
      for (const r of records) {
        try {
          const res = (await contributor.contribute(id, r)) as { hash: string };
          acknowledged.push(res.hash);
        } catch (err) {
          if ((err as { status?: number }).status !== 409) throw err;
          refused++;
          if (closing) break;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    // Close while the current run waits on its poll timer: the signal wakes that run, which then
    // continues as new, so the request must travel to the next run.
    await eventually(
      async () => {
        const d = await collection.describe();
        const h = await app.temporal.workflow.getHandle(workflowIds.collection(id), d.runId).fetchHistory();
        return h.events?.at(-1)?.timerStartedEventAttributes ? true : undefined;
      },
      30_000,
      50,
    );
    const closeAt = Date.now();
    closing = true;
    await dev.signed('POST', `/v1/datanets/${id}/close`, {});
    await eventually(async () => ((await dev.datanet(id)).status === 'closed' ? true : undefined), 30_000, 100);
    closedAfterMs = Date.now() - closeAt;
    await sender;
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).result();
  }, 300_000);

  afterAll(async () => {
    await app?.close();
  });

  it('continued as new during the window and still closed on the signal, not at the deadline', async () => {
    expect(closedAfterMs).toBeLessThan(20_000);
    const latest = await app.temporal.workflow.getHandle(workflowIds.collection(id)).describe();
    expect(latest.status.name).toBe('COMPLETED'); // the latest run: the one that closed and scored
    // The run that received the close signal is one that continued as new; a later run closed.
    const runIds: string[] = [];
    for await (const w of app.temporal.workflow.list({ query: `WorkflowId = "${workflowIds.collection(id)}"` }))
      runIds.push(w.runId);
    expect(runIds.length).toBeGreaterThanOrEqual(2);
    const signalled: { runId: string; continuedAsNew: boolean }[] = [];
    for (const runId of runIds) {
      const events =
        (await app.temporal.workflow.getHandle(workflowIds.collection(id), runId).fetchHistory()).events ?? [];
      if (events.some((e) => e.workflowExecutionSignaledEventAttributes))
        signalled.push({ runId, continuedAsNew: !!events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes });
    }
    expect(signalled).toHaveLength(1);
    expect(signalled[0]?.continuedAsNew).toBe(true);
    expect(signalled[0]?.runId).not.toBe(latest.runId);
  });

  it('scores every contribution acknowledged with 201, and refuses the ones after the close', async () => {
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    const rows = await app.sql`select hash, status from contributions where datanet_id = ${id}`;
    expect(rows).toHaveLength(acknowledged.length);
    const pending = rows.filter((r) => r.status === 'pending');
    expect(pending).toEqual([]);
    const s = (await dev.proposal(id)) as { status: string; lifecycle: { collection: { received: number } } };
    expect(s.status).toBe('failed-gate');
    expect(s.lifecycle.collection.received).toBe(acknowledged.length);
  });
});
