import client from 'prom-client';
import type postgres from 'postgres';
import {
  countLiveContributions,
  listLiveBudgets,
  reviewTotalsByModel,
  slashedProposalStakes,
  treasuryBalance,
} from '../db/queries/business-metrics.js';

type Snapshot = {
  contributions: Awaited<ReturnType<typeof countLiveContributions>>;
  budgets: Awaited<ReturnType<typeof listLiveBudgets>>;
  treasury: string;
  reviews: Awaited<ReturnType<typeof reviewTotalsByModel>>;
  slashedStakes: string;
};

/**
 * The economy as Postgres holds it, exported at scrape time: contributions by Datanet and status,
 * budgets reserved, paid and left, the treasury, review agreement, rewards and slashes. These are
 * global figures (every replica reports the same value): dashboards take `max`, never `sum`,
 * across replicas. One snapshot is read at most every `cacheMs` (COMMONS_METRICS_CACHE_MS), shared
 * by every gauge and every scrape meanwhile: Prometheus and several replicas then cost one read of
 * Postgres per period.
 */
export function registerBusinessMetrics(
  registry: client.Registry,
  sql: postgres.Sql,
  { cacheMs }: { cacheMs: number },
): void {
  let cached: { at: number; value: Promise<Snapshot | undefined> } | undefined;
  const readErrors = new client.Counter({
    name: 'commons_metrics_db_read_errors_total',
    help: 'Scrape-time reads of Postgres that failed (the business gauges are then empty for that scrape)',
    registers: [registry],
  });
  const snapshot = (): Promise<Snapshot | undefined> => {
    const now = Date.now();
    if (cached && now - cached.at < cacheMs) return cached.value;
    const value = read(sql).catch(() => {
      readErrors.inc();
      // A failed read is not kept: the next scrape reads again.
      if (cached?.value === value) cached = undefined;
      return undefined;
    });
    cached = { at: now, value };
    return value;
  };
  const units = (amount: string) => Number(amount);

  new client.Gauge({
    name: 'commons_contributions',
    help: 'Contributions to the Datanets of running lifecycles, by status (accepted, rejected, duplicate, near-duplicate, ...)',
    labelNames: ['datanet', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of (await snapshot())?.contributions ?? [])
        this.set({ datanet: c.datanet, status: c.status }, c.count);
    },
  });
  const budgets = {
    reserved: 'Treasury budget reserved for a running lifecycle when its vote passed (OPEN base units)',
    paid: 'Paid out of a running lifecycle budget so far: review rewards, the contributor reward pool (OPEN base units)',
    left: 'Left in a running lifecycle budget (OPEN base units)',
  } as const;
  for (const [kind, help] of Object.entries(budgets) as [keyof typeof budgets, string][])
    new client.Gauge({
      name: `commons_budget_${kind}_units`,
      help,
      labelNames: ['proposal'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of (await snapshot())?.budgets ?? []) {
          const value = { reserved: units(b.reserved), paid: units(b.paid), left: units(b.left) };
          this.set({ proposal: b.proposal }, value[kind]);
        }
      },
    });
  new client.Gauge({
    name: 'commons_treasury_balance_units',
    help: 'OPEN in the treasury, what new budgets are reserved from (OPEN base units)',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(units(s.treasury));
    },
  });
  new client.Counter({
    name: 'commons_review_rounds_settled_total',
    help: 'Review rounds settled, by model',
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await snapshot())?.reviews ?? []) this.inc({ model: r.model }, r.rounds);
    },
  });
  new client.Counter({
    name: 'commons_review_items_total',
    help: 'Resolved review items answered with (agreed) or against (disagreed) the consensus, by model',
    labelNames: ['model', 'verdict'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await snapshot())?.reviews ?? []) {
        this.inc({ model: r.model, verdict: 'agreed' }, r.agreed);
        this.inc({ model: r.model, verdict: 'disagreed' }, r.disagreed);
      }
    },
  });
  new client.Counter({
    name: 'commons_review_reward_units_total',
    help: 'Rewards reviewers earned in settled rounds, by model (OPEN base units)',
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await snapshot())?.reviews ?? []) this.inc({ model: r.model }, units(r.rewards));
    },
  });
  new client.Counter({
    name: 'commons_slashed_units_total',
    help: 'Stake slashed to the treasury: reviewer bonds for disagreeing with the consensus (by model), proposal stakes by a veto (OPEN base units)',
    labelNames: ['kind', 'model'],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot();
      if (!s) return;
      for (const r of s.reviews) this.inc({ kind: 'review-bond', model: r.model }, units(r.penalties));
      this.inc({ kind: 'proposal-stake', model: '' }, units(s.slashedStakes));
    },
  });
}

async function read(sql: postgres.Sql): Promise<Snapshot> {
  const [contributions, budgets, treasury, reviews, slashedStakes] = await Promise.all([
    countLiveContributions(sql),
    listLiveBudgets(sql),
    treasuryBalance(sql),
    reviewTotalsByModel(sql),
    slashedProposalStakes(sql),
  ]);
  return { contributions, budgets, treasury, reviews, slashedStakes };
}
