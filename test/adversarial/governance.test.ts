import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { accountsOf } from '../../contracts/accounts.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { DEFAULT_PROTOCOL_SETTINGS } from '../../domain/protocol/settings.js';

/**
 * Attacks on the rules of the vote and the proposal's own terms, on the real stack. A proposer
 * controls their proposal's body and may hold several accounts (developer and governor); every
 * attack must fail and leave the ledger whole (supply conserved, no negative balance, no stake
 * stranded in an escrow no lifecycle owns).
 */
describe('adversarial: governance and proposal terms', () => {
  let app: TestApp;
  let attacker: CommonsClient;
  const retired: CommonsClient[] = [];
  const noBudget = { collection: { windowMs: 600_000 } };

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    // One key as developer and governor, with one base unit of voting power.
    attacker = await participant(app.url, ['developer', 'governor'], { OPEN: '100000', gOPEN: '1' });
  });
  afterAll(async () => {
    // Governors made here hand their power to a non-governor, so they never weigh on later quorums.
    for (const g of [...retired, attacker]) {
      const { balances } = await g.account();
      if (balances.gOPEN !== '0') await g.transfer(accountsOf.treasury, 'gOPEN', balances.gOPEN);
    }
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
    await app?.close();
  });

  const governor = async (power: string) => {
    const g = await participant(app.url, ['governor'], { gOPEN: power });
    retired.push(g);
    return g;
  };
  const status = (id: string) => attacker.proposal(id);
  const ended = (id: string) =>
    eventually(async () => {
      const s = await status(id);
      return s.status !== 'running' ? s : undefined;
    }, 60_000);
  const votingOpen = (id: string) => eventually(async () => ((await attacker.tally(id)).open ? true : undefined));
  /** Nothing written and nothing moved for a refused proposal. */
  const nothingLeft = async (id: string, balanceBefore: string) => {
    expect(await app.sql`select 1 from proposals where id = ${id}`).toHaveLength(0);
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    expect(await app.ledger.balance(attacker.address, 'OPEN')).toBe(balanceBefore);
    await expect(app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).describe()).rejects.toThrow();
  };

  it('quorum-0 self-pass: the rules of the vote cannot be written by the proposer, and one unit of power passes nothing', async () => {
    const before = await app.ledger.balance(attacker.address, 'OPEN');
    const id = uniqueId('selfpass');
    const err = await refusal(
      attacker.propose(
        proposalBody(id, { ...noBudget, governance: { quorum: 0, passThreshold: 0, vetoThreshold: 1 } }),
      ),
    );
    expect(err.status).toBe(400);
    for (const field of ['governance.quorum', 'governance.passThreshold', 'governance.vetoThreshold'])
      expect(err.message).toContain(`${field} is a protocol setting`);
    await nothingLeft(id, before);

    // Under the protocol's rules: an honest governor holds the power and stays away; the
    // attacker's one unit votes yes. Turnout is far below quorum: the proposal expires, refunded.
    await governor('1000000000');
    const id2 = uniqueId('selfpass');
    await attacker.propose(proposalBody(id2, { ...noBudget, governance: { votingPeriodMs: 2500 } }));
    await votingOpen(id2);
    await attacker.vote(id2, 'yes');
    const s = await ended(id2);
    expect(s.status).toBe('expired');
    expect(s.params.governance).toMatchObject({
      quorum: DEFAULT_PROTOCOL_SETTINGS.governance.quorum,
      passThreshold: DEFAULT_PROTOCOL_SETTINGS.governance.passThreshold,
    });
    expect(await app.ledger.balance(attacker.address, 'OPEN')).toBe(before);
    expect(await app.ledger.balance(accountsOf.escrow(id2), 'OPEN')).toBe('0');
  });

  it('the proposer cannot set their own reward amounts, nor ask for more than the published caps', async () => {
    const before = await app.ledger.balance(attacker.address, 'OPEN');
    const { settings, protocolOnlyParams } = await attacker.protocol();
    expect(protocolOnlyParams).toContain('rlhf.agreementReward');
    const asks: [Record<string, unknown>, string | undefined, string][] = [
      [{ rlhf: { agreementReward: '1000000' } }, '1000000', 'rlhf.agreementReward is a protocol setting'],
      [{ rlhf: { disagreementPenalty: '0' } }, undefined, 'rlhf.disagreementPenalty is a protocol setting'],
      [{}, (BigInt(settings.treasury.maxProposalBudget) + 1n).toString(), 'treasury.maxProposalBudget'],
      [
        { serving: { rewardPool: (BigInt(settings.treasury.maxRewardPool) + 1n).toString() } },
        settings.treasury.maxProposalBudget,
        'treasury.maxRewardPool',
      ],
      [{ serving: { rewardPool: '5000' } }, '10', 'budget must be at least that'],
      [{ governance: { votingPeriodMs: 1 } }, undefined, 'governance.votingPeriodMs must be from'],
      [
        { serving: { shares: { developer: 0.95, contributors: 0, reviewers: 0, governors: 0, treasury: 0.05 } } },
        undefined,
        'serving.shares.developer must be from',
      ],
      [{ stake: '1' }, undefined, 'governance.minProposalStake'],
    ];
    for (const [params, budget, reason] of asks) {
      const id = uniqueId('greedy');
      const err = await refusal(attacker.propose({ ...proposalBody(id, { ...noBudget, ...params }), budget }));
      expect(err.status, reason).toBe(400);
      expect(err.message).toContain(reason);
      await nothingLeft(id, before);
    }
    // What governors see before voting: the effective parameters (protocol values filled in),
    // the stake and the budget asked for.
    const id = uniqueId('shown');
    await attacker.propose({
      ...proposalBody(id, { governance: { votingPeriodMs: 60_000 }, serving: { rewardPool: '300' } }),
      budget: '700',
    });
    const shown = await attacker.proposal(id);
    expect(shown.stake).toBe('500');
    expect(shown.budget).toMatchObject({ asked: '700', reserved: null, paid: '0' });
    const p = shown.params as { rlhf: { agreementReward: string }; serving: { rewardPool: string } };
    expect(p.rlhf.agreementReward).toBe(settings.rewards.reviewAgreementReward);
    expect(p.serving.rewardPool).toBe('300');
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
    await ended(id);
    expect(await app.ledger.balance(attacker.address, 'OPEN')).toBe(before);
  });

  it('veto dodge: withdrawing while a veto is winning is refused, and the veto slashes at the close', async () => {
    const dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    // 30% veto + 10% no cast: veto is 75% of the votes cast (above the 33.4% threshold) but the
    // 60% not yet cast could still dilute it, so the vote stays open and a withdrawal would dodge it.
    const vetoer = await governor('3000000000');
    const naysayer = await governor('1000000000');
    await governor('6000000000');
    const id = uniqueId('dodge');
    await dev.propose(proposalBody(id, { ...noBudget, governance: { votingPeriodMs: 6000 } }));
    await votingOpen(id);
    const treasury = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    await vetoer.vote(id, 'veto');
    await naysayer.vote(id, 'no');
    expect((await dev.tally(id)).open).toBe(true);
    const err = await refusal(dev.withdraw(id));
    expect(err.status).toBe(409);
    expect(err.message).toContain('veto');
    const s = await ended(id);
    expect(s.status).toBe('vetoed');
    expect(await app.ledger.balance(dev.address, 'OPEN')).toBe('9500');
    expect(await app.ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(treasury + 500n);
    for (const g of retired.splice(0)) {
      const { balances } = await g.account();
      if (balances.gOPEN !== '0') await g.transfer(accountsOf.treasury, 'gOPEN', balances.gOPEN);
    }
  });

  it('a proposal that fails after validation leaves no stake stranded in escrow', async () => {
    const before = await app.ledger.balance(attacker.address, 'OPEN');
    // A NUL character passes the schema but Postgres refuses it in a text column: the row fails
    // after the stake was checked. Row and escrow are one transaction, so neither is left.
    const id = uniqueId('nul');
    const err = await refusal(attacker.propose({ ...proposalBody(id, noBudget), title: 'bad \u0000 title' }));
    expect(err.status).toBeGreaterThanOrEqual(400);
    await nothingLeft(id, before);

    // Two racing proposals with one id: one is created, the other refused; one stake escrowed.
    const id2 = uniqueId('race');
    const body = proposalBody(id2, { ...noBudget, governance: { votingPeriodMs: 60_000 } });
    // (the second a few ms later, so its signature differs and the replay guard does not answer first)
    const results = await Promise.allSettled([
      attacker.propose(body),
      new Promise((r) => setTimeout(r, 3)).then(() => attacker.propose(body)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect((refused?.reason as { status?: number }).status).toBe(409);
    expect(await app.ledger.balance(accountsOf.escrow(id2), 'OPEN')).toBe('500');
    expect(BigInt(await app.ledger.balance(attacker.address, 'OPEN'))).toBe(BigInt(before) - 500n);
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id2)).cancel();
    await ended(id2);
    expect(await app.ledger.balance(accountsOf.escrow(id2), 'OPEN')).toBe('0');
    expect(await app.ledger.balance(attacker.address, 'OPEN')).toBe(before);
  });
});
