import { describe, expect, it } from 'vitest';
import { qualityScore } from './quality.js';

const GOOD =
  'Hi Anna, thanks for sending the quarterly report. I read through the budget section and have two ' +
  "questions about the travel costs; could we go over them at Thursday's meeting? Best, Marco";

describe('qualityScore', () => {
  it('gives clean prose a perfect score and no reasons', () => {
    expect(qualityScore(GOOD)).toEqual({ score: 1, reasons: [] });
  });

  it.each([
    ['empty', '   ', /empty text/],
    ['too short', 'ok thanks', /too short/],
    ['too long', `${GOOD} `.repeat(200), /too long/],
    [
      'low alphabetic ratio',
      '1234 5678 9012 3456 7890 $$$ %%% 1234 5678 ### 42 17 99 (555) 123-4567',
      /low alphabetic ratio/,
    ],
    [
      'repeated characters',
      'Amaaaaaaaaaaaazing deal, sooooooo good!!!!!!!!!!!!!!!!!!!!!!!! buy it today',
      /repeated characters/,
    ],
    [
      'repetitive tokens',
      'buy now buy now buy now cheap cheap cheap buy now buy now buy now cheap cheap',
      /repetitive/,
    ],
    [
      'excessive uppercase',
      'THIS IS AN AMAZING OPPORTUNITY TO EARN MONEY FROM HOME, ACT NOW BEFORE IT ENDS',
      /excessive uppercase/,
    ],
    [
      'URL-heavy',
      'see http://example.com/a/very/long/path?with=query&and=more https://spam.example.net/x/y/z/landing-page',
      /URL-heavy/,
    ],
  ])('penalises %s with a reason', (_name, text, reason) => {
    const q = qualityScore(text);
    expect(q.score).toBeLessThan(1);
    expect(q.score).toBeGreaterThanOrEqual(0);
    expect(q.reasons.some((r) => reason.test(r))).toBe(true);
  });

  it('compounds independent defects and scores junk below clean text and shouting spam', () => {
    const shouting = qualityScore(
      'CONGRATULATIONS!!! YOU HAVE WON A FREE CRUISE. CALL NOW TO CLAIM YOUR PRIZE, OFFER ENDS FRIDAY.',
    );
    const junk = qualityScore('aaaaaaaaaaaa 11111 !!!!!!!!!! aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa');
    expect(shouting.score).toBeGreaterThan(0.3); // style alone does not sink a spam example
    expect(junk.score).toBeLessThan(0.2);
    expect(junk.reasons.length).toBeGreaterThanOrEqual(2);
  });

  it('counts letters in any script', () => {
    expect(qualityScore('Привет, Анна! Спасибо за отчёт, давай обсудим бюджет на встрече в четверг.').score).toBe(1);
  });
});
