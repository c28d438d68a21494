import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInPage } from '../support/browser.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { contentHash } from '../../domain/data/content-hash.js';

/**
 * The console's curation queue of a private Datanet in real headless Chromium: the queue shows no
 * record until the curator asks; "Read (logged)" makes an X25519 key pair in the page (WebCrypto),
 * signs the sealed read and opens the box there; the read is in the contributor's access log. A
 * contributor's record from the form is sealed in the page: it is stored, and no pack holds its text.
 */
const POLL = { timeout: 20_000, interval: 200 };

describe('console: the curator and contributor views of a private Datanet', () => {
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

  it("seals a contributor's record from the form in the page: stored, and no pack holds its text", async () => {
    const canary = `CANARY${randomBytes(8).toString('hex')}`;
    const mine = {
      text: `Subject: private follow-up. Please reply to the clinic about ${canary} today.`,
      label: 'ham',
    };
    const expected = contentHash(mine).hash;
    const page = await pageAs(contributor);
    await page.locator('#record-form textarea[name="text"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#sealed-note').isVisible()).toBe(true);
    // What the page sends: an envelope, never the text.
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith(`/v1/datanets/${id}/contributions`)) sent.push(r.postData() ?? '');
    });
    await page.fill('#record-form textarea[name="text"]', mine.text);
    await page.selectOption('#record-form select[name="label"]', 'ham');
    await page.click('#record-submit');
    await expect
      .poll(() => page.locator('#submit-notice .notice').textContent(), POLL)
      .toContain(`Record ${expected.slice(0, 12)}`);
    expect(await page.locator('#submit-notice .notice.ok').count()).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain(canary);
    const body = JSON.parse(sent[0]!) as { payload?: unknown; envelope?: { hash: string } };
    expect(body.payload).toBeUndefined();
    expect(body.envelope?.hash).toBe(expected);
    // The contribution row, under the hash of the record's canonical JSON, by the contributor.
    const rows = (await contributor.contribution(expected)).contributions;
    expect(rows).toEqual([
      expect.objectContaining({ datanetId: id, hash: expected, contributor: contributor.address }),
    ]);
    // The pack the API wrote holds the ciphertext only.
    const packs = (await app.store.list(`datanets/${id}/packs/`)).filter((o) => o.key.endsWith('.jsonl'));
    expect(packs.length).toBeGreaterThan(0);
    for (const o of packs) {
      const bytes = await app.store.get(o.key);
      for (const view of [bytes.toString('utf8'), bytes.toString('latin1')])
        expect(view.includes(canary), `${o.key} holds the canary`).toBe(false);
    }
    // The row in the contributor's table.
    await page.locator(`#records tr.record[data-hash="${expected}"]`).waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('seals every record of an uploaded file in the page: the batch carries no text, and each is stored', async () => {
    const canary = `CANARY${randomBytes(8).toString('hex')}`;
    const mails = [0, 1, 2].map((i) => ({
      text: `Subject: private note ${i}. Please reply about the ${canary} appointment number ${i * 7 + 3}.`,
      label: i % 2 ? 'spam' : 'ham',
    }));
    const page = await pageAs(contributor);
    await page.locator('#upload-file').waitFor({ state: 'attached', timeout: 15_000 });
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith(`/v1/datanets/${id}/contributions/batch`))
        sent.push(r.postData() ?? '');
    });
    await page.setInputFiles('#upload-file', {
      name: 'private.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(mails.map((m) => JSON.stringify(m)).join('\n') + '\n'),
    });
    await page.click('#upload-start');
    await expect
      .poll(() => page.textContent('#upload-notice'), { ...POLL, timeout: 60_000 })
      .toContain('Done: 3 of 3 rows accepted, 0 refused.');
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain(canary);
    const body = JSON.parse(sent[0]!) as { records: { payload?: unknown; envelope?: { hash: string } }[] };
    const hashes = mails.map((m) => contentHash(m).hash);
    expect(body.records.map((r) => r.payload)).toEqual([undefined, undefined, undefined]);
    expect(body.records.map((r) => r.envelope?.hash)).toEqual(hashes);
    for (const h of hashes)
      expect((await contributor.contribution(h)).contributions).toEqual([
        expect.objectContaining({ datanetId: id, contributor: contributor.address }),
      ]);
    for (const o of await app.store.list(`datanets/${id}/packs/`)) {
      const bytes = await app.store.get(o.key);
      for (const view of [bytes.toString('utf8'), bytes.toString('latin1')])
        expect(view.includes(canary), `${o.key} holds the canary`).toBe(false);
    }
    await page.close();
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
