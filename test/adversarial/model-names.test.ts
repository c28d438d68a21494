import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { ApiError, type CommonsClient } from '../../client/commons-client.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { createDeploymentActivities } from '../../activities/deployment/activities.js';

/**
 * Attacks on model-name ownership: two developers racing for one name (the check and the write
 * were two statements, so both proposals could pass), and a version promoted under a name another
 * developer owns. The first proposal owns the name atomically; the other gets 409 with nothing
 * written, and a promotion by anyone but the owner is refused before anything is copied.
 */
describe('adversarial: model names', () => {
  let app: TestApp;
  let alice: CommonsClient;
  let bob: CommonsClient;
  // Voting stays open long enough to race; an expiry ends a lifecycle in seconds.
  const slow = { governance: { votingPeriodMs: 120_000 }, collection: { windowMs: 600_000 } };
  const quick = { governance: { votingPeriodMs: 3_000 }, collection: { windowMs: 600_000 } };

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    [alice, bob] = await Promise.all([
      participant(app.url, ['developer'], { OPEN: '100000' }),
      participant(app.url, ['developer'], { OPEN: '100000' }),
    ]);
  });
  afterAll(async () => {
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
    await app?.close();
  });

  const propose = (who: CommonsClient, id: string, modelName: string, params = slow) =>
    who.propose({ ...proposalBody(id, params), modelName }).then(
      () => 'won' as const,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 409 && /belongs to another developer/.test(e.message))
          return 'refused' as const;
        throw e;
      },
    );

  it('gives a name raced for by two developers to exactly one, and nothing to the other', async () => {
    const names = Array.from({ length: 6 }, () => uniqueId('race'));
    for (const name of names) {
      const ids = [uniqueId('race-a'), uniqueId('race-b')];
      const before = await Promise.all([alice, bob].map((d) => app.ledger.balance(d.address, 'OPEN')));
      const outcome = await Promise.all([propose(alice, ids[0]!, name), propose(bob, ids[1]!, name)]);
      expect(outcome.filter((o) => o === 'won')).toHaveLength(1);
      const winner = outcome[0] === 'won' ? alice : bob;
      const loserIndex = outcome[0] === 'won' ? 1 : 0;
      const rows = await app.sql`select id, proposer from proposals where model_name = ${name}`;
      expect(rows.map((r) => String(r.proposer))).toEqual([winner.address]);
      const [owner] = await app.sql`select developer from model_names where name = ${name}`;
      expect(owner?.developer).toBe(winner.address);
      // The loser's stake never left it.
      expect(await app.ledger.balance([alice, bob][loserIndex]!.address, 'OPEN')).toBe(before[loserIndex]);
      await expect(
        app.temporal.workflow.getHandle(workflowIds.lifecycle(ids[loserIndex]!)).describe(),
      ).rejects.toThrow();
    }
  });

  it('refuses a promotion under a name another developer owns, before anything is copied', async () => {
    const name = uniqueId('owned');
    expect(await propose(alice, uniqueId('owned-a'), name)).toBe('won');
    expect(await propose(bob, uniqueId('owned-b'), name)).toBe('refused');
    const deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    await expect(
      deploy.promoteModel({
        proposalId: uniqueId('owned-b'),
        modelName: name,
        developer: bob.address,
        stagingArtifactKey: 'staging/none',
        datasetVersionId: 'none',
        merkleRoot: 'none',
        metrics: { accuracy: 1, macroF1: 1 } as never,
        lineage: {},
      }),
    ).rejects.toMatchObject({ type: ERROR_TYPES.modelRefused, nonRetryable: true });
    expect(await app.sql`select 1 from model_versions where model_name = ${name}`).toHaveLength(0);
  });

  it('lets the owner propose again under its name, and frees the name once its lifecycles ended', async () => {
    const name = uniqueId('freed');
    expect(await propose(alice, uniqueId('freed-a1'), name, quick)).toBe('won');
    expect(await propose(alice, uniqueId('freed-a2'), name, quick)).toBe('won');
    expect(await propose(bob, uniqueId('freed-b1'), name)).toBe('refused');
    // Both of alice's proposals expire (no votes): the name is no longer in use and bob may take it.
    await eventually(async () => {
      const rows =
        await app.sql`select status from proposals where model_name = ${name} and proposer = ${alice.address}`;
      return rows.every((r) => r.status !== 'running') ? true : undefined;
    }, 60_000);
    expect(await propose(bob, uniqueId('freed-b2'), name)).toBe('won');
    expect(await propose(alice, uniqueId('freed-a3'), name)).toBe('refused');
    const [owner] = await app.sql`select developer from model_names where name = ${name}`;
    expect(owner?.developer).toBe(bob.address);
  });
});
