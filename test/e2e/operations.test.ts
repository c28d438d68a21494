import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { freePort } from '../../infra/local/ports.js';
import { accountsOf } from '../../contracts/accounts.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

/**
 * What ops sees and does: lifecycles listed by stage through Temporal visibility, memo summaries,
 * Prometheus metrics from the API and the workers, and cancellation of a lifecycle in review,
 * which must refund the stake, close its review tasks and promote nothing.
 */
describe('operating lifecycles', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let metricsPort: number;
  const id = uniqueId('ops');

  beforeAll(async () => {
    metricsPort = await freePort();
    process.env.COMMONS_WORKER_METRICS_ADDRESS = `127.0.0.1:${metricsPort}`;
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '5000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
    // A bonded reviewer who enlists and never answers: the round's tasks are assigned to it and stay open.
    const idle = await participant(app.url, ['reviewer'], { OPEN: '5000' });
    await idle.bondForReview('1000');
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 60_000,
          targetCount: 200,
          pollIntervalMs: 300,
          batchSize: 100,
          minAcceptedRecords: 20,
          keywords: EMAIL_KEYWORDS,
        },
        training: { hyperparams: { epochs: 4, learningRate: 2 } },
        rlhf: { rounds: 1, promptsPerRound: 3, answersPerItem: 2, roundDeadlineMs: 300_000 },
      }),
    );
    await idle.enlistForReview(id);
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
    const { balances } = await gov.account();
    await gov.transfer(dev.address, 'gOPEN', balances.gOPEN);
    await contributor.contributeBatch(
      id,
      loadSpamAssassin({ limit: 200, seed: 9 }).map((r) => ({ text: r.text, label: r.label })),
    );
    // Nobody answers: the lifecycle waits in rlhf with open review tasks.
    await eventually(
      async () =>
        (await app.sql`select 1 from review_tasks where proposal_id = ${id} and status = 'open'`).length > 0
          ? true
          : undefined,
      120_000,
      300,
    );
  }, 180_000);

  afterAll(async () => {
    await app?.close();
  });

  it('lists lifecycles by stage through the visibility API, with typed attributes and a memo summary', async () => {
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of app.temporal.workflow.list({ query: `LifecycleStage = "rlhf" AND ProposalId = "${id}"` }))
        ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual(expect.arrayContaining([workflowIds.lifecycle(id), workflowIds.rlhfRound(id, 1)]));
    const d = await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).describe();
    expect(d.searchAttributes.ModelName).toEqual([`m-${id}`]);
    expect(d.searchAttributes.Domain).toEqual(['email spam']);
    expect(d.memo).toMatchObject({ stage: 'rlhf', status: 'running' });
  });

  it('exports Prometheus metrics from the API and from the workers', async () => {
    const api = await (await fetch(`${app.url}/metrics`)).text();
    expect(api).toContain('commons_api_request_duration_seconds_bucket');
    expect(api).toMatch(/commons_lifecycles\{stage="rlhf",status="running"\} [1-9]/);
    const workers = await eventually(async () => {
      const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return t.includes('activity_execution_latency') ? t : undefined;
    });
    expect(workers).toMatch(/task_queue="lifecycle"/);
  });

  it('cancelling in review refunds the stake, closes review tasks and promotes nothing', async () => {
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('500');
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
    const s = await eventually(async () => {
      const p = await dev.proposal(id);
      return p.status === 'cancelled' ? p : undefined;
    });
    expect(s.stage).toBe('rlhf');
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    const open = await app.sql`select id from review_tasks where proposal_id = ${id} and status = 'open'`;
    expect(open).toHaveLength(0);
    expect(await app.sql`select 1 from model_versions where proposal_id = ${id}`).toHaveLength(0);
    expect(await app.sql`select 1 from models where proposal_id = ${id}`).toHaveLength(0);
    const reviews = await dev.reviews();
    expect(reviews.tasks.filter((t: { proposalId: string }) => t.proposalId === id)).toHaveLength(0);
    const round = await app.temporal.workflow.getHandle(workflowIds.rlhfRound(id, 1)).describe();
    expect(round.status.name).toBe('CANCELLED');
  });
});
