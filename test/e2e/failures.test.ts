import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { accountsOf } from '../../contracts/accounts.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { LifecycleStatusView } from '../../domain/lifecycle/types.js';

const fakeTrainer = fileURLToPath(new URL('../../ml/external/test-fixtures/fake-trainer.mjs', import.meta.url));

/**
 * A stage that fails (not only a cancellation) ends the lifecycle with a final status, refunds the
 * stake to the proposer, closes the Datanet and the review tasks, promotes nothing and leaves the
 * ledger balanced: an unknown trainer, a trainer that always fails, and a promotion that finds
 * its version's immutable prefix already taken.
 */
describe('lifecycles that fail a stage are compensated', () => {
  let app: TestApp;
  const cases = {
    unknownTrainer: { id: uniqueId('fail-trainer'), stage: 'training', cause: /UnknownTrainer/ },
    alwaysFails: { id: uniqueId('fail-always'), stage: 'training', cause: /exited with code 3/ },
    promotion: {
      id: uniqueId('fail-promote'),
      stage: 'deployment',
      cause: /IntegrityError.*exists with different content/,
    },
  };
  const devs = new Map<string, CommonsClient>();
  const ended = new Map<string, LifecycleStatusView>();

  beforeAll(async () => {
    // GPU workers in this process offer the external trainer too: the fake one, crashing at step 1.
    process.env.COMMONS_TRAINER_COMMAND = process.execPath;
    process.env.COMMONS_TRAINER_ARGS = fakeTrainer;
    process.env.FAKE_TRAINER_FAIL_AT_STEP = '1';
    app = await startTestApp();
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
    const records = loadSpamAssassin({ limit: 120, seed: 5 }).map((r) => ({ text: r.text, label: r.label }));
    const params = (extra: Record<string, unknown>) => ({
      governance: { votingPeriodMs: 60_000 },
      collection: {
        windowMs: 60_000,
        targetCount: records.length,
        pollIntervalMs: 300,
        batchSize: 100,
        minAcceptedRecords: 20,
        keywords: EMAIL_KEYWORDS,
      },
      rlhf: { rounds: 0 },
      ...extra,
    });
    const perCase = {
      unknownTrainer: params({ training: { trainer: 'no-such-trainer' } }),
      alwaysFails: params({ training: { trainer: 'external', maxAttempts: 2 } }),
      promotion: params({
        training: { hyperparams: { epochs: 2 } },
        deployment: { minAccuracy: 0, minMacroF1: 0, maxRegression: 1 },
      }),
    };
    // The promotion case: someone else's bytes already sit where version 1 would be promoted.
    await app.store.put(`models/m-${cases.promotion.id}/1/model.bin`, Buffer.from('not this model'), {
      ifNoneMatch: true,
    });
    for (const [name, c] of Object.entries(cases)) {
      const dev = await participant(app.url, ['developer'], { OPEN: '5000' });
      devs.set(name, dev);
      await dev.propose(proposalBody(c.id, perCase[name as keyof typeof cases]));
    }
    for (const c of Object.values(cases)) {
      await eventually(async () => ((await gov.tally(c.id)).open ? true : undefined));
      await gov.vote(c.id, 'yes');
    }
    const { balances } = (await gov.account()) as { balances: { gOPEN: string } };
    await gov.transfer('treasury', 'gOPEN', balances.gOPEN);
    for (const c of Object.values(cases)) {
      await eventually(async () =>
        (await gov.datanet(c.id).catch(() => undefined))?.status === 'open' ? true : undefined,
      );
      await contributor.contributeBatch(c.id, records);
    }
    await Promise.all(
      Object.values(cases).map(async (c) => {
        const h = app.temporal.workflow.getHandle(workflowIds.lifecycle(c.id));
        ended.set(c.id, (await h.result()) as LifecycleStatusView);
      }),
    );
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    delete process.env.COMMONS_TRAINER_COMMAND;
    delete process.env.COMMONS_TRAINER_ARGS;
    delete process.env.FAKE_TRAINER_FAIL_AT_STEP;
  });

  for (const name of Object.keys(cases) as (keyof typeof cases)[]) {
    it(`${name}: final status, stake back with the proposer, Datanet and reviews closed, nothing promoted`, async () => {
      const c = cases[name];
      const view = ended.get(c.id)!;
      expect(view.status).toBe('failed');
      expect(view.stage).toBe(c.stage);
      expect(view.reason).toMatch(c.cause);
      const [p] = await app.sql`select stage, status, status_reason from proposals where id = ${c.id}`;
      expect(p).toMatchObject({ stage: c.stage, status: 'failed' });
      expect(p?.status_reason).toMatch(/stake refunded/);
      const d = await devs.get(name)!.proposal(c.id);
      expect(d.status).toBe('failed');

      expect(await app.ledger.balance(accountsOf.escrow(c.id), 'OPEN')).toBe('0');
      expect(await app.ledger.balance(devs.get(name)!.address, 'OPEN')).toBe('5000');
      const [refund] =
        await app.sql`select to_account, reason from transfers where idempotency_key = ${`proposal:${c.id}:escrow-close`}`;
      expect(refund?.to_account).toBe(devs.get(name)!.address);

      const [dn] = await app.sql`select status from datanets where proposal_id = ${c.id}`;
      expect(dn?.status).not.toBe('open');
      expect(await app.sql`select 1 from review_tasks where proposal_id = ${c.id} and status = 'open'`).toHaveLength(0);
      expect(
        await app.sql`select 1 from model_versions where proposal_id = ${c.id} and status in ('production', 'candidate')`,
      ).toHaveLength(0);
      const desc = await app.temporal.workflow.getHandle(workflowIds.lifecycle(c.id)).describe();
      expect(desc.status.name).toBe('COMPLETED');
      expect((await app.ledger.checkInvariants()).problems).toEqual([]);
    });
  }

  it('retries a failing trainer only maxAttempts times, and an unknown trainer not at all', async () => {
    const history = async (id: string) =>
      (await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).fetchHistory()).events ?? [];
    const trainAttempt = async (id: string) => {
      const events = await history(id);
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel');
      const started = events.find(
        (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled?.eventId?.toString(),
      );
      return started?.activityTaskStartedEventAttributes?.attempt;
    };
    expect(await trainAttempt(cases.unknownTrainer.id)).toBe(1);
    expect(await trainAttempt(cases.alwaysFails.id)).toBe(2);
  });
});
