import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../db/ledger.js';
import { accountsOf } from '../../contracts/accounts.js';
import { createLedgerActivities } from './activities.js';
import { createDeploymentActivities } from '../deployment/activities.js';
import { S3ArtifactStore } from '../../storage/s3-store.js';
import { loadConfig } from '../../infra/config.js';

/**
 * Temporal retries activities after timeouts and crashes, possibly while an earlier attempt is
 * still running. Each money-moving activity is called many times at once here: money moves once.
 */
describe('ledger activities under retries', () => {
  let sql: postgres.Sql;
  let ledger: Ledger;
  let acts: ReturnType<typeof createLedgerActivities>;
  let deploy: ReturnType<typeof createDeploymentActivities>;
  const run = Date.now().toString(36);
  const proposer = `cm-proposer-${run}`;
  const retried = <T>(n: number, fn: () => Promise<T>) => Promise.allSettled(Array.from({ length: n }, fn));

  beforeAll(async () => {
    sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
    ledger = new Ledger(sql);
    acts = createLedgerActivities({ sql, ledger });
    deploy = createDeploymentActivities({ sql, ledger, store: S3ArtifactStore.fromConfig(loadConfig().s3) });
    await ledger.mint(proposer, 'OPEN', '10000', `mint:${proposer}`);
    await ledger.mint(accountsOf.treasury, 'OPEN', '100000', `mint:treasury:${run}`);
  });
  afterAll(async () => {
    expect((await ledger.checkInvariants()).problems).toEqual([]);
    await sql.end();
  });

  it('escrowStake and refundStake move the stake once', async () => {
    const id = `retry-refund-${run}`;
    await retried(50, () => acts.escrowStake({ proposalId: id, proposer, amount: '700' }));
    expect(await ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('700');
    expect(await ledger.balance(proposer, 'OPEN')).toBe('9300');
    await retried(50, () => acts.refundStake({ proposalId: id, reason: 'test' }));
    expect(await ledger.balance(accountsOf.escrow(id), 'OPEN')).toBe('0');
    expect(await ledger.balance(proposer, 'OPEN')).toBe('10000');
    // A compensation after the refund finds nothing left to move.
    await acts.compensate({ proposalId: id, reason: 'cancelled' });
    expect(await ledger.balance(proposer, 'OPEN')).toBe('10000');
  });

  it('slashStake moves the stake to the treasury once, and a later refund cannot move it again', async () => {
    const id = `retry-slash-${run}`;
    const treasury = BigInt(await ledger.balance(accountsOf.treasury, 'OPEN'));
    await acts.escrowStake({ proposalId: id, proposer, amount: '300' });
    await retried(50, () => acts.slashStake({ proposalId: id, reason: 'vetoed' }));
    expect(BigInt(await ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(treasury + 300n);
    await expect(acts.refundStake({ proposalId: id, reason: 'oops' })).rejects.toThrow(/different transfer/);
    expect(await ledger.balance(proposer, 'OPEN')).toBe('9700');
  });

  it('releaseStake returns the stake once', async () => {
    const id = `retry-release-${run}`;
    await acts.escrowStake({ proposalId: id, proposer, amount: '200' });
    await retried(30, () => acts.releaseStake({ proposalId: id }));
    expect(await ledger.balance(proposer, 'OPEN')).toBe('9700');
  });

  it('settleRewards funds the pool and pays each contributor once', async () => {
    const id = `retry-rewards-${run}`;
    const dv = `dv-${run}`;
    const [a, b] = [`cm-a-${run}`, `cm-b-${run}`];
    await sql`insert into attribution_weights (dataset_version_id, contributor, raw_score, weight, accepted, rejected) values (${dv}, ${a}, 9, 0.75, 9, 0), (${dv}, ${b}, 1, 0.25, 1, 0)`;
    // The reward pool is paid from the proposal's budget, which a passing vote reserved.
    await ledger.mint(accountsOf.budget(id), 'OPEN', '1001', `mint:budget:${id}`);
    await retried(20, () =>
      deploy.settleRewards({ proposalId: id, modelName: `m-${run}`, datasetVersionId: dv, amount: '1001' }),
    );
    const pa = BigInt(await ledger.balance(a, 'OPEN'));
    const pb = BigInt(await ledger.balance(b, 'OPEN'));
    expect(pa + pb).toBe(1001n);
    expect(pa).toBe(751n); // 750.75 rounded by largest remainder
    expect(await ledger.balance(accountsOf.modelPool(`m-${run}`), 'OPEN')).toBe('0');
    expect(await ledger.balance(accountsOf.budget(id), 'OPEN')).toBe('0');
  });
});
