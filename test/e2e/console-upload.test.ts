import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { PHONE, launchBrowser, overflowing, seriousA11yViolations, signedInPage } from '../support/browser.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { contentHash } from '../../domain/data/content-hash.js';

/**
 * The console's contributor and governor flows in real headless Chromium on the real stack: a
 * governor votes a Datanet's proposal through with its parameters, budget, stake and the rules of
 * the vote in view; a contributor then uploads a JSONL and a CSV file of records, sent signed in
 * several batches with a progress bar, sees each refused row's reason, every record's status (all
 * pages of the list) and earnings over time as a chart.
 */
/** Requests are real (S3, Postgres, the ledger) on a shared machine: give answers time to land. */
const POLL = { timeout: 30_000, interval: 200 };
const DEPOSIT = 1n;

/** A mail-like text per record: distinct content, so every valid row is a new record. */
const mail = (i: number, tag: string) =>
  `Subject: order ${tag}-${i}\nPlease reply to this message about the meeting, thanks. Regards, sender ${i}`;

interface ChartInfo {
  datasets: { label: string; data: unknown[] }[];
}

/**
 * The datasets of the Chart.js chart drawn on a canvas (Chart.getChart in the page). Evaluated as
 * text: the page's globals (document, Chart) are not in this project's TypeScript lib.
 */
async function chartOf(page: Page, selector: string): Promise<ChartInfo | null> {
  return page.evaluate<ChartInfo | null>(`(() => {
    const chart = Chart.getChart(document.querySelector(${JSON.stringify(selector)}));
    return chart ? { datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })) } : null;
  })()`);
}

/** The progress bar's value and max. */
const progressOf = (page: Page) =>
  page.evaluate<number[]>(
    "(() => { const p = document.getElementById('upload-progress'); return [p.value, p.max]; })()",
  );

describe('console: a contributor uploads files in batches, a governor votes with everything in view', () => {
  let app: TestApp;
  let browser: Browser;
  let dev: CommonsClient;
  let gov: CommonsClient;
  let holdout: CommonsClient;
  let contributor: CommonsClient;
  let other: CommonsClient;
  const id = uniqueId('dn-upload');
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    browser = await launchBrowser();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    // Voting power is snapshotted when voting opens. The holdout never votes: the vote stays open
    // (its power could still veto) until the period ends, then passes on turnout 40%.
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    holdout = await participant(app.url, ['governor'], { gOPEN: '150000000' });
    contributor = await participant(app.url, ['contributor'], { OPEN: '1000' });
    other = await participant(app.url, ['contributor'], { OPEN: '10' });
    // The budget is reserved from the treasury when the vote passes (a genesis allocation, as in the demo).
    await dev.faucet('OPEN', '1000', 'treasury');
    await dev.propose({
      ...proposalBody(id, {
        governance: { votingPeriodMs: 30_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
        },
      }),
      budget: '250',
      datanetSpec: { ...SPAM_SPEC, access: { deposit: String(DEPOSIT) } },
    });
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await eventually(async () => ((await dev.proposal(id)).stage === 'governance' ? true : undefined));
  }, 180_000);

  afterAll(async () => {
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await retireGovernor(gov, dev.address).catch(() => undefined);
    await retireGovernor(holdout, dev.address).catch(() => undefined);
    await browser?.close();
    await app?.close();
  });

  const pageAs = (who: CommonsClient, path: string, viewport?: { width: number; height: number }): Promise<Page> =>
    signedInPage(browser, app.url, who, path, pageErrors, viewport);

  it('shows a governor the parameters, budget, stake and the tally against the rules, and takes the vote', async () => {
    const page = await pageAs(gov, '/console/');
    const card = page.locator(`article.proposal[data-proposal-id="${id}"]`);
    await card.waitFor({ timeout: 30_000 });
    await expect.poll(() => card.locator('.asks [data-field=budget]').textContent(), POLL).toBe('250 OPEN');
    const asks = card.locator('.asks');
    expect(await asks.getAttribute('open')).not.toBeNull();
    expect(await asks.textContent()).toContain('stake 500 OPEN');
    // Every parameter, as the API has them.
    const params = JSON.parse((await card.locator('pre.params').textContent())!) as Record<string, unknown>;
    expect(params).toEqual((await dev.proposal(id)).params);
    expect(await card.locator('pre.params').isVisible()).toBe(true);
    // The rules of the vote against where it stands, as text and as a chart.
    expect(await card.locator('.rules-list li[data-rule=quorum]').textContent()).toMatch(/^turnout 0% — quorum 33\.4%/);
    expect(await card.locator('.rules-list li[data-rule=pass]').textContent()).toContain('passes above 50%');
    expect(await card.locator('.rules-list li[data-rule=veto]').textContent()).toContain('vetoes above 33.4%');
    await expect
      .poll(() => chartOf(page, `article.proposal[data-proposal-id="${id}"] canvas.rules-chart`), POLL)
      .toEqual({
        datasets: [
          { label: 'now', data: [0, 0, 0] },
          { label: 'rule', data: [33.4, 50, 33.4] },
        ],
      });
    expect(await seriousA11yViolations(page)).toEqual([]);

    await card.locator('button[data-option=yes]').click();
    await expect.poll(() => page.textContent('#message'), POLL).toContain(`${id}: Vote "yes" accepted`);
    expect(await app.sql`select voter, option from votes where proposal_id = ${id}`).toEqual([
      { voter: gov.address, option: 'yes' },
    ]);
    // The tally moved against the rules: 100M of 250M power cast, all of it yes.
    await expect
      .poll(() => card.locator('.rules-list li[data-rule=quorum]').textContent(), POLL)
      .toMatch(/^turnout 40% — quorum 33\.4% ✓/);
    await expect
      .poll(() => chartOf(page, `article.proposal[data-proposal-id="${id}"] canvas.rules-chart`), POLL)
      .toEqual({
        datasets: [
          { label: 'now', data: [40, 100, 0] },
          { label: 'rule', data: [33.4, 50, 33.4] },
        ],
      });

    const phone = await pageAs(gov, '/console/', PHONE);
    await phone.locator('#governance-card').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await overflowing(phone)).toEqual([]);
    await phone.close();
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console-vote.png', fullPage: true });
    await page.close();

    // The vote carries: the Datanet opens for contributions.
    await eventually(
      async () => ((await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined),
      120_000,
    ).catch(async (err: unknown) => {
      // Say where the proposal stood, so a slow vote is told apart from a failed one.
      const [p, t] = await Promise.all([dev.proposal(id), dev.tally(id)]);
      throw new Error(`the Datanet did not open: ${JSON.stringify({ stage: p.stage, status: p.status, tally: t })}`, {
        cause: err,
      });
    });
  }, 240_000);

  it('uploads a JSONL and a CSV file in signed batches with progress, refused rows with reasons, statuses and earnings', async () => {
    // Someone else's record: the same content in the file is refused by the API, with its reason.
    const taken = { text: mail(0, 'taken'), label: 'ham' };
    await other.signed('POST', `/v1/datanets/${id}/contributions`, { payload: taken });

    const page = await pageAs(contributor, `/console/datanets.html?datanet=${id}`);
    await expect.poll(() => page.textContent('#eligibility'), POLL).toContain('Deposit per record: 1 OPEN');

    // JSONL: 160 good lines, 2 outside the spec, 1 not JSON, 1 someone else's content.
    const good = Array.from({ length: 160 }, (_, i) => ({ text: mail(i, 'jsonl'), label: i % 3 ? 'ham' : 'spam' }));
    const jsonl = [
      ...good.slice(0, 50).map((p) => JSON.stringify(p)),
      JSON.stringify({ text: 'x', label: 'eggs' }),
      '{not json',
      JSON.stringify(taken),
      ...good.slice(50).map((p) => JSON.stringify(p)),
      JSON.stringify({ label: 'spam' }),
    ].join('\n');
    await page.setInputFiles('#upload-file', {
      name: 'mails.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(jsonl + '\n'),
    });
    await page.click('#upload-start');
    await expect.poll(() => page.textContent('#upload-notice'), { ...POLL, timeout: 60_000 }).toContain('Done');
    // 161 rows were sent (two batches), 160 stored; 4 refused: 3 before sending, 1 by the API.
    expect(await progressOf(page)).toEqual([161, 161]);
    expect(await page.textContent('#upload-counts')).toBe(
      "161 of 161 records sent · 160 accepted · 4 refused (3 by the Datanet's rules before sending)",
    );
    const refused = page.locator('#upload-refused li.refused');
    expect(await refused.count()).toBe(4);
    expect(await page.locator('li.refused[data-line="51"]').textContent()).toContain('label: must be one of spam, ham');
    expect(await page.locator('li.refused[data-line="52"]').textContent()).toContain('is not JSON');
    expect(await page.locator('li.refused[data-line="53"]').textContent()).toContain(
      'duplicate: identical content was already contributed by another account',
    );
    expect(await page.locator('li.refused[data-line="164"]').textContent()).toContain('text: required');
    expect(await stored()).toBe(160);

    // CSV, columns in another order than the spec's fields, with quotes, commas and line breaks.
    const texts = Array.from({ length: 150 }, (_, i) => `${mail(i, 'csv')}, "quoted"\nsecond line`);
    const quote = (t: string) => `"${t.replace(/"/g, '""')}"`;
    const csv = [
      'label,text',
      ...texts.map((t, i) => `${i % 2 ? 'spam' : 'ham'},${quote(t)}`),
      'ham,',
      'spam,"two",cells too many',
    ].join('\r\n');
    await page.setInputFiles('#upload-file', { name: 'mails.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('#upload-start');
    await expect
      .poll(() => page.textContent('#upload-notice'), { ...POLL, timeout: 60_000 })
      .toContain('Done: 150 of 152 rows accepted, 2 refused.');
    expect(await progressOf(page)).toEqual([150, 150]);
    expect(await page.locator('li.refused[data-line="151"]').textContent()).toContain('text: required');
    expect(await page.locator('li.refused[data-line="152"]').textContent()).toContain('has 3 cells, the header has 2');
    expect(await stored()).toBe(310);
    // The parser kept the quoted text whole (quotes, commas, the line break): the same content hash.
    const [first] = await app.sql<{ hash: string }[]>`select hash from contributions
      where datanet_id = ${id} and contributor = ${contributor.address} and hash = ${contentHash({ label: 'ham', text: texts[0] }).hash}`;
    expect(first).toBeDefined();
    expect(await app.ledger.balance(contributor.address, 'OPEN')).toBe(String(1000n - 310n * DEPOSIT));

    // Every record is listed with its status: the list follows nextCursor past the first page of 200.
    await expect.poll(() => page.locator('tr.record').count(), POLL).toBe(310);
    const statuses = new Set(await page.locator('tr.record td.status').allTextContents());
    expect([...statuses].every((s) => s.length > 0)).toBe(true);

    // Earnings over time: the model's fee shares for this proposal, paid by the ledger.
    for (const [n, amount] of [
      [1, '3'],
      [2, '4'],
    ] as const)
      await app.ledger.transfer({
        idempotencyKey: `upload-test-fee-${id}-${n}`,
        asset: 'OPEN',
        from: dev.address,
        to: contributor.address,
        amount,
        reason: 'inference fee share (contributors)',
        proposalId: id,
      });
    await page.reload();
    await expect.poll(() => page.locator('tr.record').count(), POLL).toBe(310);
    await expect
      .poll(
        async () => (await chartOf(page, '#earnings-chart'))?.datasets[0]?.data.map((p) => (p as { y: number }).y),
        POLL,
      )
      .toEqual([3, 7]);
    expect(await seriousA11yViolations(page)).toEqual([]);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console-upload.png', fullPage: true });
    await page.close();

    const phone = await pageAs(contributor, `/console/datanets.html?datanet=${id}`, PHONE);
    await expect.poll(() => phone.locator('tr.record').count(), POLL).toBe(310);
    expect(await overflowing(phone)).toEqual([]);
    await phone.close();
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });

  async function stored(): Promise<number> {
    const [r] = await app.sql<{ n: number }[]>`select count(*)::int as n from contributions
      where datanet_id = ${id} and contributor = ${contributor.address}`;
    return r!.n;
  }
});
