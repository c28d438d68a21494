import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { launchBrowser, overflowing, PHONE, seriousA11yViolations } from '../support/browser.js';
import { runScenario } from '../../scenarios/scenario.js';
import { STAGES } from '../../domain/lifecycle/types.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

/**
 * The lifecycle page (/console/lifecycle.html?id=) in real headless Chromium, on a lifecycle run
 * to serving on the real stack: every stage with its duration, the loss curve with one point per
 * epoch the training activity reported, a review round's α, the budget, the gate's metrics against
 * its floors, a paid call's attribution and the workflow's link into the Temporal UI.
 */
describe('console lifecycle page', () => {
  let app: TestApp;
  let browser: Browser;
  const id = `tl-${Date.now().toString(36)}`;
  const modelName = `spam-${id}`;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName,
      records: 400,
      contributors: 3,
      pollMs: 300,
      params: {
        stake: '1000',
        training: { hyperparams: { checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
        deployment: { minAccuracy: 0.7, minMacroF1: 0.6 },
        serving: { feePerCall: '100', rewardPool: '1000' },
      },
    });
    browser = await launchBrowser();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function open(viewport?: { width: number; height: number }): Promise<Page> {
    const page = await browser.newPage(viewport ? { viewport } : {});
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${app.url}/console/lifecycle.html?id=${encodeURIComponent(id)}`);
    await page.waitForSelector('body[data-loaded="true"]');
    return page;
  }

  it('serves the timeline as a public read', async () => {
    const res = await fetch(`${app.url}/v1/proposals/${id}/timeline`);
    expect(res.status).toBe(200);
    const t = (await res.json()) as { stages: { stage: string; durationMs: number }[]; status: string };
    expect(t.status).toBe('serving');
    expect(t.stages.map((s) => s.stage)).toEqual([...STAGES]);
    expect((await fetch(`${app.url}/v1/proposals/no-such-proposal/timeline`)).status).toBe(404);
  });

  it('shows every stage with a duration, the curves, a round with α, the budget, the gate and the Temporal link', async () => {
    const page = await open();

    const stages = await page.evaluate<
      { stage: string; duration: string; ms: string }[]
    >(`[...document.querySelectorAll('#stages li')].map((li) => ({
      stage: li.getAttribute('data-stage'),
      duration: li.querySelector('.duration')?.textContent ?? '',
      ms: li.querySelector('.duration')?.getAttribute('data-duration-ms'),
    }))`);
    expect(stages.map((s) => s.stage)).toEqual([...STAGES]);
    for (const s of stages) {
      expect(s.duration).toMatch(/\d+ (ms|s|min|h|d)/);
      expect(Number(s.ms)).toBeGreaterThanOrEqual(0);
    }
    // Governance and data collection take real time: their durations are not zero.
    expect(Number(stages.find((s) => s.stage === 'data-collection')!.ms)).toBeGreaterThan(0);

    // The loss chart: one point per epoch the training activity recorded (and every epoch trained).
    const epochs = await app.sql<{ epoch: number; loss: number }[]>`
      select epoch, loss from training_epochs where proposal_id = ${id} order by epoch`;
    const proposal = (await (await fetch(`${app.url}/v1/proposals/${id}`)).json()) as {
      params: { training: { hyperparams: { epochs: number } } };
    };
    const trained = proposal.params.training.hyperparams.epochs;
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: trained }, (_, i) => i + 1));
    const loss = await page.evaluate<
      { labels: string[]; datasets: { label: string; data: number[] }[] } | undefined
    >(`(() => {
      const c = Chart.getChart(document.getElementById('loss-chart'));
      return c && { labels: c.data.labels, datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) };
    })()`);
    expect(loss?.datasets).toHaveLength(1);
    expect(loss!.datasets[0]!.data).toHaveLength(epochs.length);
    expect(loss!.datasets[0]!.data).toEqual(epochs.map((e) => Number(e.loss)));
    const heldOut = await page.evaluate<{ labels: string[]; points: number[] } | undefined>(`(() => {
      const c = Chart.getChart(document.getElementById('heldout-chart'));
      return c && { labels: c.data.labels, points: c.data.datasets.map((d) => d.data.length) };
    })()`);
    expect(heldOut?.labels[0]).toBe('fine-tune');
    expect(heldOut?.labels.length).toBeGreaterThanOrEqual(2);
    expect(heldOut?.points).toEqual([heldOut!.labels.length, heldOut!.labels.length]);

    // Review rounds: at least one, with its agreement.
    const alpha = await page.getAttribute('#rounds tr[data-round="1"] td[data-alpha]', 'data-alpha');
    expect(alpha).not.toBeNull();
    expect(alpha).not.toBe('');
    expect(Number.isFinite(Number(alpha))).toBe(true);

    // The budget figures match the API's status read.
    const status = (await (await fetch(`${app.url}/v1/proposals/${id}`)).json()) as {
      budget: { asked: string; reserved: string; paid: string; left: string };
    };
    for (const k of ['asked', 'reserved', 'paid', 'left'] as const)
      expect(await page.textContent(`#budget dd[data-budget="${k}"]`)).toBe(`${status.budget[k]} OPEN units`);
    expect(BigInt(status.budget.paid)).toBeGreaterThan(0n);

    // The gate: the candidate's metrics against the floors the proposal set.
    expect(await page.textContent('#gate-verdict')).toMatch(/^Passed: /);
    expect(await page.textContent('#gate tr[data-metric="accuracy"]')).toContain('≥ 70.0%');
    expect(await page.textContent('#gate tr[data-metric="macro-F1"]')).toContain('≥ 60.0%');
    expect(await page.textContent('#gate tr[data-metric="accuracy"] td.pass')).toBe('meets');

    // A paid call's attribution.
    expect(await page.locator('#attribution li').count()).toBeGreaterThan(0);

    // The workflow's link into the Temporal UI the stack runs.
    const href = await page.getAttribute('#temporal-link', 'href');
    expect(process.env.COMMONS_TEMPORAL_UI_URL).toBeTruthy();
    expect(href).toBe(
      `${process.env.COMMONS_TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(app.cfg.temporal.namespace)}/workflows/${workflowIds.lifecycle(id)}`,
    );

    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('fits a phone', async () => {
    const page = await open(PHONE);
    expect(await overflowing(page)).toEqual([]);
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
