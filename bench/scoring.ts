// Throughput of the scoring library: `npm run bench:scoring -- [records] [leaves]`.
// Defaults: 100,000 synthetic records through scoreRecord + minhash + band keys, and a Merkle tree
// over 1,000,000 leaves (build, then 1,000 proofs generated and verified).
import { createHash } from 'node:crypto';
import type { DatanetSpec } from '../domain/data/datanet-spec.js';
import { buildMerkleTree, verifyProof } from '../domain/data/merkle.js';
import {
  bandKeys,
  encodeSignature,
  exactKey,
  minhashSignature,
  recordBands,
  shingleHashesOf,
  signatureOfShingles,
  sketchOf,
} from '../domain/data/minhash.js';
import { buildDomainProfile } from '../domain/data/relevance.js';
import { scoreRecord, scoreRecordText } from '../domain/data/score-record.js';
import { mulberry32 } from '../domain/prng.js';

const RECORDS = Number(process.argv[2] ?? 100_000);
const LEAVES = Number(process.argv[3] ?? 1_000_000);

// Deterministic generator, so runs are reproducible.
const prng = mulberry32;
const WORDS = (
  'free offer click money prize account password meeting schedule reply thanks email list project ' +
  'report budget invoice payment order shipping customer team friday monday please regards hello dear the a of ' +
  'to and in is for on with you your we our this that will can at from unsubscribe winner claim urgent'
).split(' ');

const spec: DatanetSpec = {
  fields: [
    { name: 'text', type: 'string', required: true, maxLength: 20_000 },
    { name: 'label', type: 'enum', required: true, values: ['spam', 'ham'] },
  ],
  textField: 'text',
  labelField: 'label',
};
const profile = buildDomainProfile({
  domain: 'email spam',
  description: 'Classify email messages as spam or ham.',
  keywords: ['email', 'offer', 'click', 'unsubscribe', 'meeting', 'reply', 'account', 'prize'],
  labels: ['spam', 'ham'],
  examples: [
    'You won a free prize, click to claim the offer.',
    'Can we move the meeting to Friday? Thanks.',
    'Your account password expires, reply to confirm.',
  ],
});

const r = prng(42);
const payloads = Array.from({ length: RECORDS }, () => {
  const n = 20 + Math.floor(r() * 180); // 20..200 words, ~100 on average
  const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
  return { text: words.join(' '), label: r() < 0.5 ? 'spam' : 'ham' };
});
const avgChars = Math.round(payloads.reduce((a, p) => a + p.text.length, 0) / RECORDS);

function time<T>(label: string, n: number, unit: string, f: () => T): T {
  const t0 = process.hrtime.bigint();
  const out = f();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    `${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${Math.round((n / ms) * 1000)
      .toLocaleString('en-US')
      .padStart(10)} ${unit}/s`,
  );
  return out;
}

console.log(`records: ${RECORDS.toLocaleString('en-US')} synthetic, ${avgChars} characters on average`);
let accepted = 0;
time('scoreRecord (validate + quality + relevance)', RECORDS, 'records', () => {
  for (const p of payloads) if (scoreRecord(spec, profile, p).status === 'accepted') accepted++;
});
time('minhashSignature', RECORDS, 'records', () => {
  for (const p of payloads) minhashSignature(p.text);
});
time('full per-record pipeline (+ exactKey, bands, encode)', RECORDS, 'records', () => {
  for (const p of payloads) {
    scoreRecord(spec, profile, p);
    exactKey(p.text);
    const sig = minhashSignature(p.text);
    bandKeys(sig);
    encodeSignature(sig);
  }
});
// What scoreBatch runs per record: the text tokenised once and shared by every scorer.
time('scoreBatch path (shared tokens, + bands, sketch)', RECORDS, 'records', () => {
  for (const p of payloads) {
    const { text } = scoreRecordText(spec, profile, p);
    if (!text) continue; // every record, as the full pipeline above (scoreBatch: accepted ones only)
    const sig = signatureOfShingles(shingleHashesOf(text));
    recordBands(text, sig);
    sketchOf(sig);
  }
});
console.log(`accepted ${accepted} of ${RECORDS}`);

const hashes = time(`generate ${LEAVES.toLocaleString('en-US')} content hashes`, LEAVES, 'hashes', () =>
  Array.from({ length: LEAVES }, (_, i) => createHash('sha256').update(`record-${i}`).digest('hex')),
);
const heapBefore = process.memoryUsage().heapUsed;
const tree = time(`buildMerkleTree (${LEAVES.toLocaleString('en-US')} leaves)`, LEAVES, 'leaves', () =>
  buildMerkleTree(hashes),
);
const rss = process.memoryUsage();
console.log(
  `root ${tree.root}; heap +${Math.round((rss.heapUsed - heapBefore) / 2 ** 20)} MB, external ${Math.round(rss.external / 2 ** 20)} MB, rss ${Math.round(rss.rss / 2 ** 20)} MB`,
);
time('proof + verifyProof (1,000 leaves)', 1000, 'proofs', () => {
  for (let i = 0; i < 1000; i++) {
    const p = tree.proof(hashes[(i * 7919) % LEAVES] ?? '');
    if (!p || !verifyProof(p, tree.root)) throw new Error('proof failed');
  }
});
