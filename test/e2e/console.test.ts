import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

/**
 * The web console in real headless Chromium: keys imported or generated in the page, requests
 * signed by WebCrypto Ed25519 in the browser and checked by the real API, votes and review
 * answers clicked, the API's refusal reasons shown. test/support/ensure-chromium.sh installs it.
 */

describe('web console', () => {
  let app: TestApp;
  let browser: Browser;
  let dev: CommonsClient;
  const started: string[] = [];
  const governors: CommonsClient[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle'] });
    browser = await launchBrowser();
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
  });
  afterAll(async () => {
    for (const id of started)
      await app.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => {});
    // Governors hand their gOPEN back so they do not weigh on other suites' quorums.
    for (const g of governors) {
      const { balances } = await g.account();
      if (balances.gOPEN !== '0') await g.transfer(dev.address, 'gOPEN', balances.gOPEN);
    }
    await browser?.close();
    await app?.close();
  });

  async function openConsole(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The browser logs every 4xx as "Failed to load resource"; those are answers the page shows.
    page.on(
      'console',
      (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
    );
    await page.goto(`${app.url}/console/`);
    return page;
  }

  async function importKey(page: Page, privateKey: string, address: string) {
    await page.fill('#key-input', privateKey);
    await page.click('#key-import');
    await expect.poll(() => page.textContent('#address')).toBe(address);
  }

  it('serves the console files with their content types, and nothing else', async () => {
    const index = await fetch(`${app.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('/console/app.js');
    const js = await fetch(`${app.url}/console/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${app.url}/console/..%2Fconsole-routes.ts`)).status).toBe(404);
    expect((await fetch(`${app.url}/console/package.json`)).status).toBe(404);
    const redirect = await fetch(`${app.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
  });

  it('generates a key in the browser and registers it with a request signed by WebCrypto', async () => {
    const page = await openConsole();
    await page.click('#key-generate');
    const address = (
      await eventually(async () => (await page.textContent('#address').catch(() => null)) ?? undefined, 10_000)
    ).trim();
    expect(address).toMatch(/^cm[0-9a-f]{40}$/);
    await expect.poll(() => page.textContent('#account-status')).toContain('not registered');
    await page.check('input[name=role][value=reviewer]');
    await page.check('input[name=role][value=contributor]');
    await page.click('#register');
    await expect.poll(() => page.textContent('#roles')).toContain('reviewer');
    const [row] = await app.sql<
      { roles: string[]; public_key: string }[]
    >`select roles, public_key from accounts where address = ${address}`;
    expect([...(row?.roles ?? [])].sort()).toEqual(['contributor', 'reviewer']);
    // The key survives a reload (localStorage), and the derived address is the server's.
    await page.reload();
    await expect.poll(() => page.textContent('#address')).toBe(address);
    await page.close();
  });

  it('lets a governor vote from the page, shows the accepted tally, then the refusal reason', async () => {
    // Voting power is snapshotted when voting opens: both governors exist before the proposal.
    const governor = await participant(app.url, ['governor'], { gOPEN: '10' });
    // A larger governor that does not vote keeps the vote open after the first one.
    const holdout = await participant(app.url, ['governor'], { gOPEN: '100000' });
    governors.push(governor, holdout);
    const id = uniqueId('console');
    await dev.propose({ ...proposalBody(id, { governance: { votingPeriodMs: 120_000 } }), budget: '250' });
    started.push(id);
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await eventually(async () => ((await dev.proposal(id)).stage === 'governance' ? true : undefined));

    const page = await openConsole();
    await importKey(page, governor.keys!.privateKey, governor.address);
    await expect.poll(() => page.textContent('#roles')).toContain('governor');
    await expect.poll(() => page.textContent('#balances')).toContain('10');
    const card = page.locator(`article.proposal[data-proposal-id="${id}"]`);
    await card.waitFor({ timeout: 15_000 });
    // Before voting, the governor sees what the proposal asks for: budget, stake, rules, parameters.
    await expect.poll(() => card.locator('.asks [data-field=budget]').textContent()).toBe('250 OPEN');
    const asks = await card.locator('.asks').textContent();
    expect(asks).toContain('stake 500 OPEN');
    expect(asks).toContain('quorum 0.334');

    await card.locator('button[data-option=yes]').click();
    const ok = card.locator('.notice.ok');
    await ok.waitFor({ timeout: 15_000 });
    expect(await ok.textContent()).toMatch(/Vote "yes" accepted — tally: yes 10, no 0, abstain 0, veto 0 of \d+/);
    await expect.poll(() => card.locator('.tally b[data-option=yes]').textContent()).toBe('10');
    expect(await card.locator('.your-vote').textContent()).toContain('You voted yes with 10 power');

    // The vote landed: in Postgres and in the workflow's live tally.
    expect(await app.sql`select voter, option, power::text from votes where proposal_id = ${id}`).toEqual([
      { voter: governor.address, option: 'yes', power: '10' },
    ]);
    const tally = await dev.tally(id);
    expect(tally.tally?.yes).toBe('10');
    expect(tally.open).toBe(true);

    await card.locator('button[data-option=no]').click();
    const refused = card.locator('.notice.error');
    await refused.waitFor({ timeout: 15_000 });
    const text = await refused.textContent();
    expect(text).toContain('409');
    expect(text).toContain('already voted (yes)');
    expect(await app.sql`select option from votes where proposal_id = ${id}`).toEqual([{ option: 'yes' }]);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console.png', fullPage: true });
    await page.close();
  });

  it("lists a reviewer's open tasks and shows the API's reason when an answer is refused", async () => {
    const reviewer = await participant(app.url, ['reviewer'], { OPEN: '1000' });
    // Answering needs the protocol's minimum review bond.
    await reviewer.bondForReview('1000');
    // A task whose round workflow does not exist (a real round needs a trained model): the
    // listing is real, and answering it reaches the API's Temporal Update path and is refused.
    const taskId = uniqueId('task');
    await app.sql`
      insert into review_tasks (id, proposal_id, round, workflow_id, prompt, candidates, required_answers)
      values (${taskId}, ${'no-such-proposal'}, 1, ${`rlhf-missing-${taskId}`}, ${'Is "WIN A FREE CRUISE <b>now</b>" spam?'}, ${app.sql.json(['spam', 'ham'])}, 3)`;
    // Tasks are listed only to the reviewers a round assigned them to.
    await app.sql`insert into review_assignments (task_id, reviewer) values (${taskId}, ${reviewer.address})`;
    try {
      const page = await openConsole();
      await importKey(page, reviewer.keys!.privateKey, reviewer.address);
      const task = page.locator(`article.task[data-task-id="${taskId}"]`);
      await task.waitFor({ timeout: 15_000 });
      // Other people's text is shown as text, never as HTML.
      expect(await task.locator('.prompt').textContent()).toBe('Is "WIN A FREE CRUISE <b>now</b>" spam?');
      expect(await task.locator('.prompt b').count()).toBe(0);
      expect(await task.locator('button.choice').allTextContents()).toEqual(['spam', 'ham']);
      await task.locator('button.choice[data-choice=spam]').click();
      const err = page.locator('#reviews-view .notice.error').first();
      await err.waitFor({ timeout: 15_000 });
      expect(await err.textContent()).toMatch(/409.*review answer refused: the workflow is (no longer running|closed)/);
      expect(await app.sql`select 1 from review_answers where task_id = ${taskId}`).toHaveLength(0);
      await page.close();
    } finally {
      await app.sql`delete from review_assignments where task_id = ${taskId}`;
      await app.sql`delete from review_tasks where id = ${taskId}`;
    }
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
