import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { launchBrowser, overflowing, PHONE, seriousA11yViolations } from '../support/browser.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';

/**
 * The public explorer in real headless Chromium, with no key stored: after one lifecycle has run to
 * serving and been paid for a call, the console's landing page shows the model with its calls and
 * fees, the proposal with its tally drawn against the governance rules, and the Datanet with its
 * deposit, acceptance rate and leaderboard, with no serious accessibility violation, at desktop and
 * phone width.
 */
const POLL = { timeout: 20_000, interval: 200 };

describe('console: the public explorer', () => {
  let app: TestApp;
  let browser: Browser;
  let r: ScenarioResult;
  const id = `explorer-${Date.now().toString(36)}`;
  const modelName = `spam-${id}`;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    r = await runScenario({
      baseUrl: app.url,
      log: () => undefined,
      proposalId: id,
      modelName,
      records: 200,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '1000',
        collection: { minAcceptedRecords: 20 },
        training: { hyperparams: { epochs: 4, checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
        deployment: { minAccuracy: 0.5, minMacroF1: 0.4 },
        serving: { feePerCall: '100', rewardPool: '1000' },
      },
    });
    browser = await launchBrowser();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function visit(viewport: { width: number; height: number }, path = '/console/'): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // A missing favicon or a proposal with no tally yet answers 404: not an error of the page.
    page.on(
      'console',
      (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
    );
    await page.goto(`${app.url}${path}`);
    await page.locator(`article.model[data-model="${modelName}"]`).waitFor({ timeout: POLL.timeout });
    return page;
  }

  /** The datasets of the Chart.js chart drawn on a canvas: labels and values. */
  const chartOf = async (page: Page, selector: string) =>
    // Evaluated as a string: these tests compile without the DOM library; `Chart` is the page's global.
    page.evaluate<{ label: string; data: number[] }[] | undefined>(`(() => {
      const chart = Chart.getChart(document.querySelector(${JSON.stringify(selector)}));
      return chart && chart.data.datasets.map((d) => ({ label: d.label, data: d.data }));
    })()`);

  it('lists the model, the proposal and the Datanet to a visitor with no key', async () => {
    const page = await visit({ width: 1100, height: 1400 });
    // The signed-in console stays where it was: the key form is still the first card.
    expect(await page.isVisible('#key-input')).toBe(true);

    const [calls] = await app.sql<{ calls: number; fees: string }[]>`
      select count(*)::int as calls, sum(fee)::text as fees from inference_calls where model_name = ${modelName}`;
    expect(calls!.calls).toBeGreaterThanOrEqual(1);
    const model = page.locator(`article.model[data-model="${modelName}"]`);
    expect(await model.locator('dd.calls').textContent()).toBe(String(calls!.calls));
    expect(await model.locator('dd.fees').textContent()).toBe(`${calls!.fees} OPEN`);
    const attributed = r.inference.attribution.contributors.length;
    expect(await model.locator('ol.contributors li').count()).toBe(Math.min(attributed, 5));
    const contributors = await chartOf(
      page,
      `article.model[data-model="${modelName}"] canvas[data-chart=contributors]`,
    );
    expect(contributors?.[0]?.data).toHaveLength(Math.min(attributed, 5));

    const proposal = page.locator(`article.proposal[data-proposal="${id}"]`);
    expect(await proposal.locator('h4 a').getAttribute('href')).toBe(`lifecycle.html?id=${id}`);
    expect(await proposal.locator('dd.outcome').textContent()).toBe('closed: passed');
    const tally = await chartOf(page, `article.proposal[data-proposal="${id}"] canvas[data-chart=tally]`);
    const { settings } = (await (await fetch(`${app.url}/v1/protocol`)).json()) as {
      settings: { governance: { quorum: number; passThreshold: number; vetoThreshold: number } };
    };
    const g = settings.governance;
    expect(tally?.map((d) => d.label)).toEqual(['Now', 'Needed (quorum / thresholds)']);
    expect(tally?.[1]?.data).toEqual([g.quorum * 100, g.passThreshold * 100, g.vetoThreshold * 100]);
    // It passed: turnout above the quorum and yes above the pass threshold.
    expect(tally![0]!.data[0]!).toBeGreaterThanOrEqual(g.quorum * 100);
    expect(tally![0]!.data[1]!).toBeGreaterThan(g.passThreshold * 100);

    const [dn] = await app.sql<{ id: string; accepted: number; decided: number }[]>`
      select d.id, count(*) filter (where c.status = 'accepted')::int as accepted,
        count(*) filter (where c.status in ('accepted', 'rejected', 'duplicate', 'near-duplicate', 'curator-rejected'))::int as decided
      from datanets d join contributions c on c.datanet_id = d.id where d.proposal_id = ${id} group by d.id`;
    const datanet = page.locator(`article.datanet[data-datanet="${dn!.id}"]`);
    expect(await datanet.locator('h3 a').getAttribute('href')).toBe(`datanets.html?datanet=${dn!.id}`);
    expect(await datanet.locator('dd.deposit').textContent()).toBe('none');
    expect(await datanet.locator('dd.acceptance').textContent()).toBe(
      `${((dn!.accepted / dn!.decided) * 100).toFixed(1)}%`,
    );
    expect(await datanet.locator('ul.requirements').textContent()).toContain('label (enum: spam, ham, required)');
    expect(await datanet.locator('table.leaderboard tbody tr').count()).toBe(2);
    const board = await chartOf(page, `article.datanet[data-datanet="${dn!.id}"] canvas[data-chart=leaderboard]`);
    expect(board?.[0]?.data.reduce((a, b) => a + b, 0)).toBe(dn!.accepted);

    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('fits a phone, on the landing page and on explorer.html', async () => {
    for (const path of ['/console/', '/console/explorer.html']) {
      const page = await visit(PHONE, path);
      expect(await overflowing(page)).toEqual([]);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.close();
    }
    expect(pageErrors).toEqual([]);
  });

  it('pages and filters the public Datanet list, and refuses an unknown status with the reason', async () => {
    const open = (await (await fetch(`${app.url}/v1/datanets?status=closed&limit=1`)).json()) as {
      datanets: { id: string; status: string; acceptanceRate: number | null }[];
      nextCursor: string | null;
    };
    expect(open.datanets).toHaveLength(1);
    expect(open.datanets[0]!.status).toBe('closed');
    const bad = await fetch(`${app.url}/v1/datanets?status=someday`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('status');
  });
});
