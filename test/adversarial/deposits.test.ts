import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { buildDomainProfile } from '../../domain/data/relevance.js';
import { scoreRecord } from '../../domain/data/score-record.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { accountsOf } from '../../contracts/accounts.js';
import { createLedgerActivities } from '../../activities/ledger/activities.js';
import { insertOpenDatanet } from '../../db/queries/collection-passes.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';

/**
 * Submission deposits on every ending, on the real stack (API, lifecycle, data and training
 * workers, Postgres, S3, Temporal): a deposit still held when the lifecycle ends (its record awaiting
 * a curator) goes back to its contributor once, and no decision after the ending moves money, so an
 * owner cannot forfeit a contributor's deposits once the lifecycle is over. The last test checks the
 * ledger's invariants after all of them.
 */
const DEPOSIT = 10n;
const profile = buildDomainProfile({
  domain: 'email spam',
  description: 'A spam classifier used by the test suite.',
  keywords: EMAIL_KEYWORDS,
  labels: ['spam', 'ham'],
});
// Records that pass scoring on their own, so each one's fate is the curator's doing.
const corpus = loadSpamAssassin({ limit: 600, seed: 23 })
  .filter((r) => r.text.split(' ').length > 60)
  .filter(
    (r) =>
      scoreRecord(SPAM_SPEC, profile, { text: r.text, label: r.label }, { minQuality: 0.3, minRelevance: 0.1 })
        .status === 'accepted',
  )
  .map((r) => ({ text: r.text, label: r.label }));
const byLabel = (label: string) => corpus.filter((r) => r.label === label);
const pool = [...byLabel('spam').slice(0, 20), ...byLabel('ham').slice(0, 20)];
let next = 0;
/** Alternates labels, so any prefix of what is taken trains and evaluates on both. */
const take = () => {
  const r = next % 2 === 0 ? pool[next / 2] : pool[20 + (next - 1) / 2];
  next++;
  if (!r) throw new Error('ran out of corpus records');
  return r;
};

const params = (minAcceptedRecords: number) => ({
  governance: { votingPeriodMs: 60_000 },
  collection: {
    windowMs: 600_000,
    targetCount: 100_000,
    pollIntervalMs: 300,
    batchSize: 50,
    minAcceptedRecords,
    keywords: EMAIL_KEYWORDS,
  },
  training: { hyperparams: { epochs: 5, checkpointEvery: 1000 }, heartbeatTimeoutMs: 30_000 },
  rlhf: { rounds: 0 },
  deployment: { minAccuracy: 0, minMacroF1: 0, maxRegression: 1 },
});
/** Requires approval, so records nobody decides wait; the short review lets the build go on without them. */
const curated = { curation: { requireApproval: true, reviewMs: 1500 }, deposit: String(DEPOSIT) };

describe('adversarial: every deposit settled on every ending', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let gov: CommonsClient;
  const started: string[] = [];

  const post = <T = unknown>(c: CommonsClient, path: string, body: unknown) => c.signed<T>('POST', path, body);
  const balance = async (account: string) => BigInt(await app.ledger.balance(account, 'OPEN'));
  const settlements = (id: string, hash: string) =>
    app.sql<{ to_account: string; amount: string }[]>`
      select to_account, amount::text from transfers where idempotency_key = ${`deposit:${id}:${hash}:settle`}`;
  const status = async (id: string, hash: string) =>
    (
      await app.sql<{ status: string }[]>`select status from contributions where datanet_id = ${id} and hash = ${hash}`
    )[0]?.status;
  const decide = (id: string, decisions: { hash: string; decision: 'approve' | 'reject' }[]) =>
    post<{ applied: boolean; deposits: { refunded: number; forfeited: number } }>(dev, `/v1/datanets/${id}/curation`, {
      decisions: decisions.map((d) => ({ ...d, reason: `${d.decision}d by the owner` })),
    });
  const ended = (id: string) =>
    app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id)).result();

  async function open(id: string, minAcceptedRecords: number) {
    await dev.propose({
      ...proposalBody(id, params(minAcceptedRecords)),
      datanetSpec: { ...SPAM_SPEC, access: curated },
      budget: '0',
    });
    started.push(id);
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
  }
  async function contribute(c: CommonsClient, id: string, n: number): Promise<string[]> {
    const hashes: string[] = [];
    for (let i = 0; i < n; i++) hashes.push((await c.contribute(id, take())).hash);
    return hashes;
  }

  /**
   * After the ending: every deposit of the Datanet settled exactly once, the escrow empty, and a
   * rejection by the owner (and an approval) of the records that were awaiting moves nothing.
   */
  async function expectSettledForGood(id: string, contributor: CommonsClient, awaiting: string[]) {
    expect(await balance(accountsOf.datanetDeposits(id))).toBe(0n);
    for (const h of awaiting)
      expect(await settlements(id, h)).toEqual([{ to_account: contributor.address, amount: String(DEPOSIT) }]);
    // Every record's deposit once, by the rule: back when accepted or never decided, else forfeited.
    const records = await app.sql<{ hash: string; status: string }[]>`
      select hash, status from contributions where datanet_id = ${id}`;
    let forfeited = 0n;
    for (const r of records) {
      const back = r.status === 'accepted' || r.status === 'awaiting-approval';
      if (!back) forfeited += DEPOSIT;
      expect(await settlements(id, r.hash)).toEqual([
        { to_account: back ? contributor.address : 'treasury', amount: String(DEPOSIT) },
      ]);
    }
    expect(await balance(contributor.address)).toBe(1000n - forfeited);

    const transfers = async () => (await app.sql<{ n: number }[]>`select count(*)::int as n from transfers`)[0]!.n;
    const [t0, mine0, treasury0] = [await transfers(), await balance(contributor.address), await balance('treasury')];
    const late = await decide(id, [
      { hash: awaiting[0]!, decision: 'reject' },
      { hash: awaiting[1]!, decision: 'approve' },
    ]);
    expect(late.deposits).toEqual({ refunded: 0, forfeited: 0 });
    expect(await status(id, awaiting[0]!)).toBe('curator-rejected');
    expect(await transfers()).toBe(t0);
    expect(await balance(contributor.address)).toBe(mine0);
    expect(await balance('treasury')).toBe(treasury0);
    for (const h of awaiting) expect(await settlements(id, h)).toHaveLength(1);
  }

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data', 'training'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
  }, 180_000);

  afterAll(async () => {
    for (const id of started)
      await app.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => undefined);
    await retireGovernor(gov, dev.address).catch(() => undefined);
    await app?.close();
  });

  it('refunds the deposits of records awaiting a curator when the lifecycle fails the collection gate', async () => {
    const id = uniqueId('gate');
    await open(id, 5);
    const c = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const [approved, rejected, ...awaiting] = await contribute(c, id, 4);
    await decide(id, [
      { hash: approved!, decision: 'approve' },
      { hash: rejected!, decision: 'reject' },
    ]);
    await dev.closeDatanet(id);
    const result = await ended(id);
    expect(result.status).toBe('failed-gate');
    // The build settled the decided records by the rule; the ending refunded the two nobody decided.
    expect(await status(id, awaiting[0]!)).toBe('awaiting-approval');
    expect(await status(id, rejected!)).toBe('curator-rejected');
    expect(await settlements(id, rejected!)).toEqual([{ to_account: 'treasury', amount: String(DEPOSIT) }]);
    await expectSettledForGood(id, c, awaiting);
  }, 240_000);

  it('refunds the deposits of records awaiting a curator when the lifecycle ends serving', async () => {
    const id = uniqueId('serving');
    await open(id, 4);
    const c = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const hashes = await contribute(c, id, 12);
    const awaiting = hashes.slice(10);
    await decide(
      id,
      hashes.slice(0, 10).map((hash) => ({ hash, decision: 'approve' as const })),
    );
    await dev.closeDatanet(id);
    const result = await ended(id);
    expect(result.status).toBe('serving');
    expect(await status(id, awaiting[0]!)).toBe('awaiting-approval');
    await expectSettledForGood(id, c, awaiting);
  }, 300_000);

  it('moves each deposit once when the ending settlement is retried and overlaps another ending', async () => {
    const id = uniqueId('retry');
    await open(id, 1);
    const c = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const hashes = await contribute(c, id, 3);
    expect(await balance(accountsOf.datanetDeposits(id))).toBe(3n * DEPOSIT);
    // The activity the serving and failed-gate endings run, retried while a first attempt is in
    // flight; then the lifecycle is cancelled, so the compensation runs the same settlement again.
    const acts = createLedgerActivities({ ledger: app.ledger, sql: app.sql });
    await Promise.all([acts.closeBudget({ proposalId: id }), acts.closeBudget({ proposalId: id })]);
    await acts.closeBudget({ proposalId: id });
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
    await eventually(async () =>
      (await app.sql<{ status: string }[]>`select status from proposals where id = ${id}`)[0]?.status === 'cancelled'
        ? true
        : undefined,
    );
    for (const h of hashes)
      expect(await settlements(id, h)).toEqual([{ to_account: c.address, amount: String(DEPOSIT) }]);
    expect(await balance(c.address)).toBe(1000n);
    expect(await balance(accountsOf.datanetDeposits(id))).toBe(0n);
  }, 180_000);

  it('keeps a Datanet opened after its lifecycle was cancelled closed to contributions (and their deposits)', async () => {
    // A proposal whose lifecycle reached data collection: the collection's openDatanet is still in
    // flight when the cancellation's compensation runs, and its insert lands after it.
    const id = uniqueId('race');
    const p = proposalBody(id, params(1));
    const insertProposal = (pid: string, status: string) => app.sql`
      insert into proposals (id, proposer, model_name, title, description, domain, labels, datanet_spec, params, stake, budget, workflow_id, stage, status)
      values (${pid}, ${dev.address}, ${`m-${pid}`}, ${p.title}, ${p.description}, ${p.domain}, ${app.sql.json(p.labels)},
              ${app.sql.json({ ...SPAM_SPEC, access: curated })}, ${app.sql.json(p.params)}, ${'500'}, ${'0'},
              ${workflowIds.lifecycle(pid)}, ${'data-collection'}, ${status})`;
    await insertProposal(id, 'running');
    const acts = createLedgerActivities({ ledger: app.ledger, sql: app.sql });
    await acts.compensate({ proposalId: id, reason: 'cancelled' });
    const spec = { ...SPAM_SPEC, access: curated } as Parameters<typeof insertOpenDatanet>[1]['spec'];
    await insertOpenDatanet(app.sql, {
      proposalId: id,
      datanetId: id,
      spec,
      targetCount: 100,
      closesAt: Date.now() + 600_000,
    });
    expect((await app.sql<{ status: string }[]>`select status from datanets where id = ${id}`)[0]?.status).toBe(
      'cancelled',
    );
    const c = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const e = await refusal(c.contribute(id, take()));
    expect(e.status).toBe(409);

    // An open row whatever the reason (written before this check existed): the ended lifecycle refuses.
    const stale = uniqueId('stale');
    await insertProposal(stale, 'failed');
    await insertOpenDatanet(app.sql, {
      proposalId: stale,
      datanetId: stale,
      spec,
      targetCount: 100,
      closesAt: Date.now() + 600_000,
    });
    const e2 = await refusal(c.contribute(stale, take()));
    expect(e2.status).toBe(409);
    expect(JSON.stringify(e2.body)).toContain('(its lifecycle is failed)');
    expect(await app.sql`select 1 from contributions where datanet_id = any(${[id, stale]}::text[])`).toHaveLength(0);
    expect(await balance(c.address)).toBe(1000n);
  });

  it('leaves the ledger balanced', async () => {
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
  });
});
