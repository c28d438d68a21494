import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { ApiError, type CommonsClient } from '../../client/commons-client.js';
import { accountsOf } from '../../contracts/accounts.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import { generateKeyPair } from '../../identity/keys.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

/**
 * Governance on the real stack: every outcome, the money it moves, and every refusal path.
 * Snapshots count every governor's gOPEN, so each outcome test uses one dominant governor and
 * then retires it (sends its gOPEN away) so it cannot skew other tests' quorums.
 */
describe('stake, governance and the ledger', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const fast = (votingPeriodMs: number) => ({ governance: { votingPeriodMs }, collection: { windowMs: 600_000 } });

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
  });
  afterAll(async () => {
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
    await app?.close();
  });

  const status = (id: string) => dev.proposal(id);
  const settled = (id: string) =>
    eventually(async () => {
      const s = await status(id);
      return s.status !== 'running' || s.stage === 'data-collection' ? s : undefined;
    }, 60_000);
  const votingOpen = (id: string) => eventually(async () => ((await dev.tally(id)).open ? true : undefined));
  const cancel = (id: string) => app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
  const retire = async (g: CommonsClient) => {
    const { balances } = await g.account();
    if (balances.gOPEN !== '0') await g.transfer(dev.address, 'gOPEN', balances.gOPEN);
  };

  it('refuses a proposal without enough OPEN with 402, leaving no workflow and no row', async () => {
    const poor = await participant(app.url, ['developer'], { OPEN: '10' });
    const id = uniqueId('poor');
    const err = await refusal(poor.propose(proposalBody(id)));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(402);
    await expect(app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).describe()).rejects.toThrow();
    expect(await app.sql`select 1 from proposals where id = ${id}`).toHaveLength(0);
    expect(await app.ledger.balance(poor.address, 'OPEN')).toBe('10');
  });

  it('refuses a malformed proposal with 400 and the reason', async () => {
    const err = await refusal(
      dev.propose({ ...proposalBody(uniqueId('bad')), datanetSpec: { fields: [], textField: 'nope' } }),
    );
    expect(err.status).toBe(400);
    const err2 = await refusal(dev.propose(proposalBody(uniqueId('bad'), { governance: { quorum: 3 } })));
    expect(err2.status).toBe(400);
    // The reason names the field (the schema's path, body/params/governance/quorum).
    expect(JSON.stringify(err2.body)).toMatch(/governance[./]quorum/);
  });

  it('passes early once the remaining power cannot change the outcome, and keeps the stake escrowed', async () => {
    const big = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const id = uniqueId('pass');
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    const v = await big.vote(id, 'yes');
    expect(v.accepted).toBe(true);
    const s = await settled(id);
    expect(s.stage).toBe('data-collection');
    const [t] = await app.sql`select outcome, closed_early from tallies where proposal_id = ${id}`;
    expect(t).toEqual({ outcome: 'passed', closed_early: true });
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('500');
    // A late vote is refused with the reason.
    const late = await participant(app.url, ['governor'], { gOPEN: '5' });
    const err = await refusal(late.vote(id, 'no'));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/closed|no voting power/);
    // Cancelling by ops runs compensations: escrow refunded, the open Datanet closed. The stage is
    // entered before the collection opens its Datanet: wait for the Datanet, so there is one to close.
    await eventually(async () =>
      (await app.sql`select 1 from datanets where id = ${id} and status = 'open'`).length ? true : undefined,
    );
    await cancel(id);
    await eventually(async () => ((await status(id)).status === 'cancelled' ? true : undefined));
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    const [d] = await app.sql<{ status: string }[]>`select status from datanets where id = ${id}`;
    expect(d?.status).toBe('cancelled');
    await retire(big);
  });

  it('vetoes and slashes the stake to the treasury', async () => {
    const vetoer = await participant(app.url, ['governor'], { gOPEN: '1000000000' });
    const id = uniqueId('veto');
    const treasury = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    await vetoer.vote(id, 'veto');
    const s = await settled(id);
    expect(s.status).toBe('vetoed');
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(treasury + 500n);
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    await retire(vetoer);
  });

  it('rejects on a no majority and refunds', async () => {
    const naysayer = await participant(app.url, ['governor'], { gOPEN: '1000000000' });
    const id = uniqueId('reject');
    const before = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    await naysayer.vote(id, 'no');
    const s = await settled(id);
    expect(s.status).toBe('rejected');
    expect(BigInt(await app.ledger.balance(dev.address, 'OPEN'))).toBe(before);
    await retire(naysayer);
  });

  it('expires below quorum at the deadline and refunds', async () => {
    const id = uniqueId('expire');
    const before = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    await dev.propose(proposalBody(id, fast(3_000)));
    const s = await settled(id);
    expect(s.status).toBe('expired');
    expect(BigInt(await app.ledger.balance(dev.address, 'OPEN'))).toBe(before);
    const [t] = await app.sql`select outcome, closed_early from tallies where proposal_id = ${id}`;
    expect(t).toEqual({ outcome: 'expired', closed_early: false });
  });

  it('lets the proposer withdraw before the close, and nobody else', async () => {
    const id = uniqueId('withdraw');
    const before = BigInt(await app.ledger.balance(dev.address, 'OPEN'));
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    const stranger = await participant(app.url, ['developer']);
    const err = await refusal(stranger.withdraw(id));
    expect(err.status).toBe(409);
    expect(err.message).toContain('only the proposer');
    await dev.withdraw(id);
    const s = await settled(id);
    expect(s.status).toBe('withdrawn');
    expect(BigInt(await app.ledger.balance(dev.address, 'OPEN'))).toBe(before);
    const again = await refusal(dev.withdraw(id));
    expect(again.status).toBe(409);
  });

  it('counts delegated gOPEN for the delegatee, snapshotted when voting opens', async () => {
    const delegator = await participant(app.url, ['governor'], { gOPEN: '5000' });
    const delegatee = await participant(app.url, ['governor'], { gOPEN: '100' });
    const holdout = await participant(app.url, ['governor'], { gOPEN: '100000' }); // keeps the vote open
    await delegator.delegate(delegatee.address);
    const id = uniqueId('delegate');
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    const r = await delegatee.vote(id, 'yes');
    expect(r.tally.yes).toBe('5100');
    const refused = await refusal(delegator.vote(id, 'no'));
    expect(refused.status).toBe(409);
    expect(refused.message).toContain('no voting power');
    const t = await dev.tally(id);
    expect(t.votes).toEqual([expect.objectContaining({ voter: delegatee.address, option: 'yes', power: '5100' })]);
    await cancel(id);
    for (const g of [delegator, delegatee, holdout]) await retire(g);
  });

  it('refuses bad signatures, replays, wrong roles and double votes', async () => {
    const g = await participant(app.url, ['governor'], { gOPEN: '10' });
    const holdout = await participant(app.url, ['governor'], { gOPEN: '1000' }); // keeps the vote open
    const id = uniqueId('refuse');
    await dev.propose(proposalBody(id, fast(120_000)));
    await votingOpen(id);
    const path = `/v1/proposals/${id}/votes`;
    const body = JSON.stringify({ option: 'yes' });
    const send = (headers: Record<string, string>, b = body) =>
      fetch(app.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });

    const deploymentId = await deploymentIdOf(app.url);
    const forged = signRequest({ deploymentId, method: 'POST', path, body, keys: generateKeyPair() });
    const bad = await send({ ...forged, 'x-commons-public-key': g.keys!.publicKey, 'x-commons-address': g.address });
    expect(bad.status).toBe(401);

    const stale = signRequest({
      deploymentId,
      method: 'POST',
      path,
      body,
      keys: g.keys!,
      now: Date.now() - 6 * 60_000,
    });
    const staleRes = await send(stale);
    expect(staleRes.status).toBe(401);
    expect(((await staleRes.json()) as { error: string }).error).toMatch(/stale/);

    const good = signRequest({ deploymentId, method: 'POST', path, body, keys: g.keys! });
    expect((await send(good)).status).toBe(200);
    const replay = await send(good);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toMatch(/replayed/);

    const tampered = signRequest({ deploymentId, method: 'POST', path, body, keys: g.keys! });
    expect((await send(tampered, JSON.stringify({ option: 'veto' }))).status).toBe(401);

    const double = await refusal(g.vote(id, 'no'));
    expect(double.status).toBe(409);
    expect(double.message).toContain('already voted');

    const contributor = await participant(app.url, ['contributor']);
    const wrongRole = await refusal(contributor.vote(id, 'yes'));
    expect(wrongRole.status).toBe(403);

    const powerless = await participant(app.url, ['governor']);
    const none = await refusal(powerless.vote(id, 'yes'));
    expect(none.status).toBe(409);
    expect(none.message).toContain('no voting power');

    const votes = await app.sql`select voter, option from votes where proposal_id = ${id}`;
    expect(votes).toEqual([{ voter: g.address, option: 'yes' }]);
    await cancel(id);
    await retire(g);
    await retire(holdout);
  });
});
