import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInPage } from '../support/browser.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';

/**
 * The console's curation queue of a private Datanet in real headless Chromium: the queue shows no
 * record until the curator asks; "Read (logged)" makes an X25519 key pair in the page (WebCrypto),
 * signs the sealed read and opens the box there; the read is in the contributor's access log.
 */
const POLL = { timeout: 20_000, interval: 200 };

describe('console: the curator view of a private Datanet', () => {
  let app: TestApp;
  let browser: Browser;
  let dev: CommonsClient;
  let gov: CommonsClient;
  let contributor: CommonsClient;
  const id = uniqueId('dn-private-console');
  const text = 'Subject: clinic follow-up. Please reply with the lab results for the patient seen on Monday.';
  const pageErrors: string[] = [];
  let hash = '';

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    browser = await launchBrowser();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    contributor = await participant(app.url, ['contributor']);
    await dev.propose({
      ...proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: { windowMs: 600_000, targetCount: 100_000, pollIntervalMs: 300, keywords: EMAIL_KEYWORDS },
        rlhf: { rounds: 0 },
      }),
      datanetSpec: { ...SPAM_SPEC, visibility: 'private' as const },
    });
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
    hash = (await contributor.contribute(id, { text, label: 'ham' })).hash;
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

  it('reads a record only when the curator asks, opens it in the page, and logs the read', async () => {
    const page = await pageAs(dev);
    await page.locator('#curator-card').waitFor({ state: 'visible', timeout: 15_000 });
    const item = page.locator(`article.queue-item[data-hash="${hash}"]`);
    await item.waitFor({ timeout: 15_000 });
    expect(await item.locator('pre.payload').textContent()).not.toContain('lab results');
    const logged = async () =>
      (
        await contributor.signed<{ entries: { actor: string; purpose: string }[] }>(
          'GET',
          `/v1/accounts/${contributor.address}/access-log`,
        )
      ).entries.filter((e) => e.actor === dev.address);
    expect(await logged()).toEqual([]);
    await item.locator(`button[data-read="${hash}"]`).click();
    await expect.poll(() => item.locator('pre.payload').textContent(), POLL).toBe(text);
    expect(await logged()).toEqual([expect.objectContaining({ purpose: 'curator-view' })]);
    await page.close();
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
