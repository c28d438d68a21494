import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { SpanIndex, SpanIndexBuilder } from './span-index.js';
import { attributeSpans, maximalSpans } from './span-match.js';
import { buildSpanIndex, loadSpanIndex, promoteSpanIndex, uploadSpanIndex } from './span-store.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

const RECORDS = [
  {
    contributor: 'alice',
    text: 'How do I treat a sprained ankle?',
    response: 'Rest the ankle, apply ice for twenty minutes every two hours and keep it elevated above the heart.',
  },
  {
    contributor: 'bob',
    text: 'What helps with seasonal allergies?',
    response: 'An antihistamine taken before the pollen season starts keeps most symptoms of hay fever away.',
  },
  {
    contributor: 'carol',
    text: 'How much water should I drink?',
    response: 'Most adults need about two litres of water a day, more in hot weather or after exercise.',
  },
  {
    contributor: 'alice',
    text: 'Is it safe to run with a cold?',
    response: 'Light running is fine when symptoms stay above the neck, but rest when you have a fever.',
  },
].map((r) => ({ ...r, hash: hash(r.response), label: '' }));

const index = () => SpanIndex.fromFiles(buildSpanIndex(RECORDS));

describe('span attribution', () => {
  it('attributes an answer to the record it quotes, weighting the longest rare span most', () => {
    const answer =
      'Sure. Most adults need about two litres of water a day, and an antihistamine taken before the pollen season helps.';
    const a = attributeSpans(index(), [answer], 5);
    if (!a) throw new Error('no spans matched');
    expect(a.attribution.records[0]?.hash).toBe(RECORDS[2]!.hash);
    expect(a.attribution.records.map((r) => r.hash)).toContain(RECORDS[1]!.hash);
    expect(a.attribution.contributors[0]?.contributor).toBe('carol');
    const total = a.attribution.records.reduce((s, r) => s + r.influence, 0);
    expect(total).toBeCloseTo(1, 9);
    expect(a.spans.map((s) => s.length)).toEqual([10, 7]); // "most adults … a day", "an antihistamine … pollen season"
  });

  it('finds nothing in text the training records do not share, and never a span across two records', () => {
    expect(
      attributeSpans(index(), ['The quarterly report is due on Friday afternoon at the latest.'], 5),
    ).toBeUndefined();
    // The end of record 0's response followed by the start of record 1's prompt: two short pieces, no span.
    const across = 'keep it elevated above the heart What helps with seasonal allergies';
    const { spans } = maximalSpans(index(), index().ranks(across), 2);
    expect(spans.map((s) => s.length)).toEqual([6, 5]);
  });

  it('drops spans of very frequent words only and spans shorter than the minimum', () => {
    const idx = index();
    // "rest the ankle" is 3 words: under the minimum of 6.
    expect(attributeSpans(idx, ['You should rest the ankle now.'], 5)).toBeUndefined();
    // Fifty records share "and it is in the": a span of frequent words only carries no weight,
    // the same span with a word of one record names that record.
    const common = new SpanIndexBuilder();
    for (let r = 0; r < 50; r++)
      common.add({ hash: hash(`r${r}`), contributor: `c${r}` }, [`x${r} and it is in the y${r}`]);
    const c = SpanIndex.fromFiles(common.build());
    const o = { minLength: 5, frequentShare: 0.01, maxOccurrences: 1000 };
    expect(attributeSpans(c, ['so and it is in the end'], 5, o)).toBeUndefined();
    expect(attributeSpans(c, ['so x3 and it is in the end'], 5, o)?.attribution.records[0]?.hash).toBe(hash('r3'));
  });

  it('round-trips through the store beside the artifact and is promoted with checksums', async () => {
    const store = new MemoryStore();
    const ref = await uploadSpanIndex(store, 'staging/job/model.bin', buildSpanIndex(RECORDS));
    expect(ref.records).toBe(4);
    const promoted = await promoteSpanIndex(store, 'staging/job/model.bin', 'models/m/1/model.bin');
    expect(promoted?.sha256).toBe(ref.sha256);
    const loaded = await loadSpanIndex(store, 'models/m/1/model.bin');
    expect(attributeSpans(loaded!, [RECORDS[3]!.response], 1)?.attribution.records[0]?.hash).toBe(RECORDS[3]!.hash);
    expect(await loadSpanIndex(store, 'models/none/1/model.bin')).toBeUndefined();
    await store.put('models/m/1/spans/sa.bin', Buffer.from('tampered'));
    await expect(loadSpanIndex(store, 'models/m/1/model.bin')).rejects.toThrow(/checksum/);
  });

  it('stays under 8 bytes a token (3-byte suffix array and ranks) on a larger text', () => {
    const b = new SpanIndexBuilder();
    for (let r = 0; r < 2000; r++)
      b.add({ hash: hash(String(r)), contributor: `c${r % 7}` }, [
        Array.from({ length: 200 }, (_, i) => `w${(r * 7919 + i * 104729) % 5003}`).join(' '),
      ]);
    const files = b.build();
    expect(files.header.saBytes).toBe(3);
    expect(files.header.tokenBytes).toBe(2);
    const idx = SpanIndex.fromFiles(files);
    expect(idx.bytes / idx.size).toBeLessThan(8);
  });
});
