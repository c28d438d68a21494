import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant as testParticipant, uniqueId } from '../support/participants.js';
import { metricNamesOf, sampledNames } from '../support/promql.js';
import { freePort } from '../../infra/local/ports.js';
import { observabilityExpressions } from '../support/observability.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';

/**
 * SDK counters the Temporal runtime exports only from their first increment (a run with no failing
 * activity or no failed request to the frontend has none). Such a name must be one the SDK's native
 * runtime defines.
 */
const ON_FIRST_EVENT = ['temporal_activity_execution_failed', 'temporal_request_failure'];
const definedBySdk = (name: string) => {
  const releases = join(dirname(createRequire(import.meta.url).resolve('@temporalio/core-bridge')), 'releases');
  const [platform] = readdirSync(releases);
  return readFileSync(join(releases, platform!, 'index.node')).includes(name.replace(/^temporal_/, ''));
};

/**
 * Every metric a Grafana dashboard or a Prometheus alert in infra/observability/ uses is exported
 * with samples by the API or the workers, once a lifecycle has run to serving on the stack with
 * contributions, a review round, a paid call and a refused one. The business metrics carry the
 * values Postgres and the paid path hold.
 */
describe('metrics behind the dashboards and alerts', () => {
  let app: TestApp;
  let r: ScenarioResult;
  let workerMetricsUrl: string;
  const id = uniqueId('metrics');
  const modelName = `spam-${id}`;
  /** Every name seen with a sample during the run (budgets and contributions exist while the lifecycle runs). */
  const seen = new Set<string>();
  /** The API's expositions while the lifecycle ran past its vote. */
  const during: string[] = [];

  const scrape = async () => {
    const [api, workers] = await Promise.all(
      [`${app.url}/metrics`, workerMetricsUrl].map(async (u) => (await fetch(u)).text()),
    );
    for (const n of [...sampledNames(api!), ...sampledNames(workers!)]) seen.add(n);
    return api!;
  };

  beforeAll(async () => {
    const port = await freePort();
    workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
    process.env.COMMONS_WORKER_METRICS_ADDRESS = `127.0.0.1:${port}`;
    // Postgres is read at every scrape: a lifecycle of this size passes its vote and ends within seconds.
    app = await startTestApp({ env: { COMMONS_METRICS_CACHE_MS: '250' } });
    let running = true;
    const scraping = (async () => {
      while (running) {
        const api = await scrape().catch(() => '');
        if (api.includes(`proposal="${id}"`)) during.push(api);
        await new Promise((ok) => setTimeout(ok, 500));
      }
    })();
    try {
      r = await runScenario({
        baseUrl: app.url,
        log: () => {},
        proposalId: id,
        modelName,
        records: 200,
        contributors: 3,
        pollMs: 300,
        // A random reviewer answers by coin flip: what it disagreed on is slashed from its bond.
        randomReviewer: true,
        params: { serving: { feePerCall: '100', rewardPool: '1000' } },
      });
    } finally {
      running = false;
      await scraping;
    }
    // A payer who cannot cover the fee: a refused call.
    const broke = await testParticipant(app.url, ['app-builder']);
    const { apiKey } = await broke.issueApiKey('broke');
    expect((await refusal(broke.infer(modelName, 'free money, click here', apiKey))).status).toBe(402);
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('exports every metric the dashboards and alert rules use', async () => {
    const used = new Map<string, string>();
    for (const { where, expr } of observabilityExpressions())
      for (const name of metricNamesOf(expr)) if (!used.has(name)) used.set(name, where);
    expect(used.size).toBeGreaterThan(20);
    // Settled reviews reach the gauges at the next snapshot (a few seconds after the lifecycle ends).
    const missing = () =>
      [...used]
        .filter(([name]) => !seen.has(name) && !(ON_FIRST_EVENT.includes(name) && definedBySdk(name)))
        .map(([name, where]) => `${name} (${where})`);
    await eventually(async () => {
      await scrape();
      return missing().length === 0 ? true : undefined;
    }, 60_000).catch(() => {});
    expect(missing()).toEqual([]);
  });

  it('labels worker pollers by task queue, as CommonsNoWorkersPolling selects them', async () => {
    const workers = await (await fetch(workerMetricsUrl)).text();
    for (const queue of ['lifecycle', 'data-collection'])
      expect(workers).toMatch(new RegExp(`^temporal_num_pollers\\{[^}]*task_queue="${queue}"[^}]*\\} [1-9]`, 'm'));
  });

  it("counts the lifecycle's paid and refused calls and its fees by model", async () => {
    const api = await (await fetch(`${app.url}/metrics`)).text();
    expect(api).toContain(`commons_paid_calls_total{model="${modelName}",result="paid"} 1`);
    expect(api).toContain(`commons_paid_calls_total{model="${modelName}",result="refused"} 1`);
    expect(api).toContain(`commons_paid_calls_total{model="${modelName}",result="failed"} 0`);
    expect(api).toContain(`commons_paid_call_fee_units_total{model="${modelName}"} 100`);
    expect(r.inference.version).toBe(1);
  });

  it("reported the running lifecycle's Datanet and budget, and its settled reviews after it ended", async () => {
    const last = during.at(-1) ?? '';
    expect(last).toMatch(new RegExp(`commons_contributions\\{datanet="${id}",status="near-duplicate"\\} 1\\b`));
    expect(last).toMatch(new RegExp(`commons_contributions\\{datanet="${id}",status="accepted"\\} [1-9]`));
    const value = (t: string, metric: string) =>
      Number(new RegExp(`^${metric}\\{proposal="${id}"\\} (\\S+)$`, 'm').exec(t)?.[1]);
    // Before the budget closes, what was reserved is either paid out or left.
    const budgets = during.map((t) => ({
      reserved: value(t, 'commons_budget_reserved_units'),
      accounted: value(t, 'commons_budget_paid_units') + value(t, 'commons_budget_left_units'),
    }));
    expect(budgets).toContainEqual({ reserved: 2000, accounted: 2000 });
    const api = await eventually(async () => {
      const t = await (await fetch(`${app.url}/metrics`)).text();
      return t.includes(`commons_review_rounds_settled_total{model="${modelName}"} 1`) ? t : undefined;
    });
    const [rv] = await app.sql<{ agreed: number; disagreed: number; penalty: string }[]>`
      select sum(agreed)::int as agreed, sum(disagreed)::int as disagreed, sum(penalty)::text as penalty
      from review_round_reviewers where proposal_id = ${id}`;
    expect(api).toContain(`commons_review_items_total{model="${modelName}",verdict="agreed"} ${rv!.agreed}`);
    expect(api).toContain(`commons_review_items_total{model="${modelName}",verdict="disagreed"} ${rv!.disagreed}`);
    expect(api).toContain(`commons_slashed_units_total{kind="review-bond",model="${modelName}"} ${rv!.penalty}`);
    // The budget is reported only while its lifecycle runs: an ended lifecycle's labels go away.
    expect(api).not.toContain(`proposal="${id}"`);
    expect(api).toMatch(/commons_lifecycles\{stage="serving",status="serving"\} [1-9]/);
  });
});
