import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { findFinalTally, insertVote, listVoterPowers } from '../../db/queries/governance.js';

/**
 * A governor races many votes with different options at one proposal, each a separately signed
 * request: the vote is recorded inside the workflow task that accepts it (a local activity, before
 * the answer), and exactly one of the racing votes may be accepted, recorded and counted, once, with
 * the option the workflow counts. Its power is what the governors' share of inference fees follows.
 */
describe('adversarial: racing votes', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const governors: CommonsClient[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
  });
  afterAll(async () => {
    // Governors made here hand their power back, so they never weigh on later quorums.
    for (const g of governors) {
      const { balances } = await g.account();
      if (balances.gOPEN !== '0') await g.transfer(dev.address, 'gOPEN', balances.gOPEN);
    }
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
    await app?.close();
  });

  it('counts one of many concurrent votes by one governor, recorded once with the counted option', async () => {
    const racer = await participant(app.url, ['governor'], { gOPEN: '10' });
    const holdout = await participant(app.url, ['governor'], { gOPEN: '1000000' }); // keeps the vote open
    governors.push(racer, holdout);
    const id = uniqueId('race');
    await dev.propose(proposalBody(id, { governance: { votingPeriodMs: 120_000 }, collection: { windowMs: 600_000 } }));
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));

    const options = ['yes', 'no', 'veto', 'abstain', 'yes', 'no', 'veto', 'abstain'] as const;
    const results = await Promise.allSettled(options.map((o) => racer.vote(id, o)));
    const accepted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ option: options[i]!, r: r.value }] : []));
    const refused = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason as { status?: number; message: string }] : [],
    );
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(options.length - 1);
    for (const e of refused) {
      expect(e.status).toBe(409);
      expect(e.message).toContain('already voted');
    }
    const counted = accepted[0]!;
    expect(counted.r.tally.cast).toBe('10');

    // Recorded before the answer, once, with the option the workflow counts.
    const rows = await app.sql`select voter, option, power::text from votes where proposal_id = ${id}`;
    expect(rows).toEqual([{ voter: racer.address, option: counted.option, power: '10' }]);
    const live = (await fetch(`${app.url}/v1/proposals/${id}/tally?live=1`).then((r) => r.json())) as {
      tally: { cast: string };
    };
    expect(live.tally.cast).toBe('10');
    const projected = await dev.tally(id);
    expect(projected.tally?.cast).toBe('10');
    expect(projected.votes.map((v) => [v.voter, v.option])).toEqual([[racer.address, counted.option]]);

    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
  });

  it('a vote row the workflow never counted (a lost task recorded it, its retry refused it) is removed with the tally and earns no fees', async () => {
    const stray = await participant(app.url, ['governor'], { gOPEN: '10' });
    const decider = await participant(app.url, ['governor'], { gOPEN: '10000000' });
    governors.push(stray, decider);
    const id = uniqueId('stray');
    await dev.propose(proposalBody(id, { governance: { votingPeriodMs: 120_000 }, collection: { windowMs: 600_000 } }));
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    // What a workflow task that recorded the vote and was then lost leaves behind, when its retry
    // refuses the vote: a row the workflow never counted.
    await insertVote(app.sql, { proposalId: id, voter: stray.address, option: 'yes', power: '10' });
    await decider.vote(id, 'yes');
    await eventually(async () => ((await findFinalTally(app.sql, id)) ? true : undefined));
    const rows = await app.sql`select voter from votes where proposal_id = ${id}`;
    expect(rows).toEqual([{ voter: decider.address }]);
    // The governors' share of inference fees follows these powers.
    expect(await listVoterPowers(app.sql, id)).toEqual([{ address: decider.address, power: '10000000' }]);
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
  });
});
