import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInPage } from '../support/browser.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { generateKeyPair } from '../../identity/keys.js';
import { signAttestation } from '../../identity/attestations.js';

/**
 * The console's Datanet page in real headless Chromium: a contributor sees what they lack, submits
 * a record through the form (signed by WebCrypto) and follows its status, reason, deposit and
 * earnings; a curator approves and rejects from the queue with reasons and sees the versions.
 */
/** Requests are real (S3, Postgres, the ledger) on a shared machine: give answers time to land. */
const POLL = { timeout: 20_000, interval: 200 };

describe('console: contributor and curator views of a Datanet', () => {
  let app: TestApp;
  let browser: Browser;
  let dev: CommonsClient;
  let gov: CommonsClient;
  let contributor: CommonsClient;
  const board = generateKeyPair();
  const id = uniqueId('dn-console');
  const pageErrors: string[] = [];
  const mails = loadSpamAssassin({ limit: 200, seed: 3 }).filter((m) => m.text.split(' ').length > 80);

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    browser = await launchBrowser();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    contributor = await participant(app.url, ['contributor'], { OPEN: '100' });
    await dev.propose({
      ...proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
        },
      }),
      datanetSpec: {
        ...SPAM_SPEC,
        access: { credentials: [{ claim: 'mail admin', verifiers: [board.publicKey] }], deposit: '5' },
      },
    });
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await retireGovernor(gov, dev.address).catch(() => undefined);
    await browser?.close();
    await app?.close();
  });

  const pageAs = (who: CommonsClient): Promise<Page> =>
    signedInPage(browser, app.url, who, `/console/datanets.html?datanet=${id}`, pageErrors);

  it('shows a contributor what they lack, then takes their record through the form with its deposit', async () => {
    const page = await pageAs(contributor);
    await expect.poll(() => page.textContent('#eligibility'), POLL).toContain('mail admin');
    await page.fill('textarea[name=text]', mails[0]!.text);
    await page.selectOption('select[name=label]', mails[0]!.label);
    await page.click('#record-submit');
    await expect
      .poll(() => page.textContent('#submit-notice'))
      .toMatch(/403 — datanet .* requires the credential "mail admin"/);

    await contributor.signed(
      'POST',
      '/v1/credentials',
      signAttestation(board, {
        claim: 'mail admin',
        subject: contributor.address,
        issuedAt: Date.now(),
        expiresAt: Date.now() + 3600_000,
      }),
    );
    await page.reload();
    await expect
      .poll(() => page.textContent('#eligibility'))
      .toContain('You may contribute. Deposit per record: 5 OPEN');
    for (const m of mails.slice(0, 2)) {
      await page.fill('textarea[name=text]', m.text);
      await page.selectOption('select[name=label]', m.label);
      await page.click('#record-submit');
      await expect.poll(() => page.textContent('#submit-notice'), POLL).toMatch(/Record .* stored/);
    }
    await expect.poll(() => page.locator('tr.record').count(), POLL).toBe(2);
    expect(await page.locator('tr.record td.deposit').allTextContents()).toEqual(['5 (held)', '5 (held)']);
    // Blank text: the API's reason is shown.
    await page.fill('textarea[name=text]', '   ');
    await page.click('#record-submit');
    await expect.poll(() => page.textContent('#submit-notice'), POLL).toContain('400');
    expect(await app.ledger.balance(contributor.address, 'OPEN')).toBe('90');
    await page.close();
  });

  it('lets the owner curate from the queue with reasons, and the contributor sees the outcome', async () => {
    const rows = await app.sql<
      { hash: string }[]
    >`select hash from contributions where datanet_id = ${id} order by seq`;
    const [keep, drop] = rows.map((r) => r.hash);
    const page = await pageAs(dev);
    await page.locator('#curator-card').waitFor({ state: 'visible', timeout: 15_000 });
    const item = page.locator(`article.queue-item[data-hash="${drop}"]`);
    await item.waitFor({ timeout: 15_000 });
    expect(await item.locator('pre.payload').textContent()).toBe(mails[1]!.text);
    await item.locator('button[data-decision=reject]').click();
    await expect.poll(() => page.textContent('#curation-notice'), POLL).toContain('Give a reason');
    await item.locator('input.reason').fill('forwarded chain letter');
    await item.locator('button[data-decision=reject]').click();
    await expect.poll(() => page.textContent('#curation-notice'), POLL).toContain('applied when the dataset is built');
    await page.locator(`article.queue-item[data-hash="${keep}"] input.reason`).fill('clean sample');
    await page.locator(`article.queue-item[data-hash="${keep}"] button[data-decision=approve]`).click();
    await expect.poll(() => page.locator('article.queue-item').count(), POLL).toBe(0);

    // A non-curator sees no curator view (and the API refuses them anyway).
    const other = await pageAs(contributor);
    expect(await other.locator('#curator-card').isHidden()).toBe(true);

    await dev.closeDatanet(id);
    await eventually(
      async () => ((await app.sql`select 1 from dataset_versions where datanet_id = ${id}`).length ? true : undefined),
      180_000,
    ).catch(async (err: unknown) => {
      // Say where the collection stood, so a slow or stuck build is told apart from a wrong one.
      throw new Error(`no dataset version: ${JSON.stringify(await dev.proposal(id))}`, { cause: err });
    });
    await page.reload();
    await expect.poll(() => page.locator('li.version').count(), POLL).toBe(1);
    // The page loads the leaderboard after the versions: wait for it too.
    await expect
      .poll(() => page.textContent('#leaderboard'), POLL)
      .toContain(`${contributor.address}: 50% of decided (1/2)`);

    await other.reload();
    const dropped = other.locator(`tr.record[data-hash="${drop}"]`);
    await expect.poll(() => dropped.locator('td.status').textContent(), POLL).toBe('curator-rejected');
    expect(await dropped.locator('td.reasons').textContent()).toContain('curator (rejected): forwarded chain letter');
    expect(await dropped.locator('td.deposit').textContent()).toBe('5 (forfeited)');
    expect(await other.locator(`tr.record[data-hash="${keep}"] td.deposit`).textContent()).toBe('5 (refunded)');
    expect(await other.textContent('#earned')).toContain('Earned on this Datanet: 0 OPEN');
    mkdirSync('test-results', { recursive: true });
    await other.screenshot({ path: 'test-results/console-datanets.png', fullPage: true });
    await other.close();
    await page.close();
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
