import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, overflowing, PHONE, seriousA11yViolations } from '../support/browser.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { reviewRoundHarness } from '../support/review-round.js';

/**
 * The keyboard review view (/console/review.html) in real headless Chromium, on a real staked
 * round: the reviewer sees only assigned tasks with the model's guidelines, picks with digit keys,
 * submits with Enter (signed in the browser), moves with n/p; refusals show the API's reason.
 */

describe('keyboard review view', () => {
  let app: TestApp;
  let browser: Browser;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    browser = await launchBrowser();
    h = await reviewRoundHarness(app);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function promptShown(page: Page) {
    return (await page.textContent('#prompt')) ?? '';
  }

  it('answers assigned tasks with the keyboard, sealed and signed in the browser', async () => {
    const pid = await h.proposal();
    const me = await h.reviewer(10_000n, pid);
    const other = await h.reviewer(10_000n, pid);
    const round = await h.startRound(pid, 1, {
      promptsPerRound: 2,
      goldPerRound: 1,
      answersPerItem: 2,
      extraReviewers: 0,
    });
    const tasks = await h.openTasks(pid, 1);
    expect(tasks).toHaveLength(3);

    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The console keeps the key in localStorage; the review view signs with it.
    await page.goto(`${app.url}/console/`);
    await page.evaluate((k) => localStorage.setItem('commons.privateKey', k), me.keys!.privateKey);
    await page.goto(`${app.url}/console/review.html`);
    await expect.poll(() => page.textContent('#task-title')).toBe('Task 1 of 3');
    expect(await page.textContent('#guideline-list')).toContain('Spam filter under review (email spam)');
    expect(await page.textContent('#guideline-list')).toContain('Labels: spam, ham');
    expect(await page.textContent('#bond')).toContain('10000 OPEN (minimum 1000)');
    expect(await page.textContent('#status')).toBe('active');
    expect(await seriousA11yViolations(page)).toEqual([]);
    // Usable on a phone: nothing sticks out sideways.
    const desktop = page.viewportSize()!;
    await page.setViewportSize(PHONE);
    expect(await overflowing(page)).toEqual([]);
    await page.setViewportSize(desktop);

    // Enter before picking: the page says what is missing and sends nothing.
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#message')).toContain('Pick a candidate first');
    // n / p move between tasks.
    const first = await promptShown(page);
    await page.keyboard.press('n');
    await expect.poll(() => page.textContent('#task-title')).toBe('Task 2 of 3');
    expect(await promptShown(page)).not.toBe(first);
    await page.keyboard.press('p');
    await expect.poll(() => promptShown(page)).toBe(first);

    for (let left = 3; left > 0; left--) {
      await expect.poll(() => page.textContent('#task-title')).toBe(`Task 1 of ${left}`);
      const prompt = await promptShown(page);
      const task = tasks.find((t) => t.prompt === prompt)!;
      const label = h.truth.get(prompt)!;
      await page.keyboard.press(String(task.candidates.indexOf(label) + 1));
      await expect.poll(() => page.getAttribute('li.choice.picked', 'data-choice')).toBe(label);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.textContent('#message')).toContain(`Task ${task.id}: answer recorded`);
      const [row] = await app.sql<{ choice: string }[]>`
        select choice from review_answers where task_id = ${task.id} and reviewer = ${me.address}`;
      expect(row?.choice).toBe(label);
    }
    await expect.poll(() => page.textContent('#no-tasks')).toContain('No task is assigned to you');

    // The other reviewer answers through the API; the round settles and the view shows the standing.
    for (const t of (await other.reviews(other.address)).tasks) await other.answerReview(t.id, h.truth.get(t.prompt)!);
    await round.result();
    await page.keyboard.press('r');
    await expect.poll(() => page.textContent('#gold')).toMatch(/\(1\/1 gold items/);
    expect(pageErrors).toEqual([]);
  }, 600_000);
});
