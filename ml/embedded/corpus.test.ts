import { describe, expect, it } from 'vitest';
import { cleanMail, loadSpamAssassin } from './corpus.js';
import { LinearSoftmaxModel, evaluate, trainEpochs } from './linear-softmax.js';

describe('SpamAssassin corpus', () => {
  it('strips headers except Subject, MIME scaffolding and HTML', () => {
    const raw = [
      'From spammer@example.com  Mon Jun 24 17:04:38 2002',
      'Received: from relay.example.com by mx.spamassassin.taint.org',
      'Subject: Cheap meds',
      '  for you',
      'Content-Type: multipart/alternative; boundary="----=_NextPart_000"',
      '',
      '------=_NextPart_000',
      'Content-Type: text/html;',
      '',
      '<html><style>p{color:red}</style><body><p>Buy&nbsp;now &amp; save</p></body></html>',
      '------=_NextPart_000--',
    ].join('\n');
    expect(cleanMail(raw)).toBe('Cheap meds for you Buy now & save');
  });

  it('loads ~6k labelled mails in a seeded order', () => {
    const all = loadSpamAssassin();
    expect(all.length).toBe(6046);
    expect(all.filter((r) => r.label === 'spam').length).toBe(1896);
    for (const r of all.slice(0, 200)) {
      expect(r.text.length).toBeGreaterThan(0);
      expect(r.text.length).toBeLessThanOrEqual(2000);
      expect(r.text).not.toMatch(/^Return-Path:|Received: from/m);
    }
    expect(loadSpamAssassin({ limit: 50, seed: 3 }).map((r) => r.id)).toEqual(
      loadSpamAssassin({ limit: 50, seed: 3 }).map((r) => r.id),
    );
    expect(loadSpamAssassin({ limit: 50, seed: 3 }).map((r) => r.id)).not.toEqual(
      loadSpamAssassin({ limit: 50, seed: 4 }).map((r) => r.id),
    );
  });

  it('trains a spam filter with high held-out accuracy', async () => {
    const data = loadSpamAssassin({ seed: 1 });
    const cut = Math.floor(data.length * 0.8);
    const model = LinearSoftmaxModel.create(['ham', 'spam']);
    const t0 = performance.now();
    const ex = data.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
    const t1 = performance.now();
    await trainEpochs(model, ex.slice(0, cut), { epochs: 10, learningRate: 8, l2: 1e-6, batchSize: 32, seed: 1 });
    const t2 = performance.now();
    const m = evaluate(model, ex.slice(cut));
    console.log(
      `spam-assassin: train=${cut} test=${m.examples} accuracy=${m.accuracy.toFixed(4)} macroF1=${m.macroF1.toFixed(4)} loss=${m.loss.toFixed(4)} ` +
        `featurize=${(t1 - t0).toFixed(0)}ms train(10 epochs)=${(t2 - t1).toFixed(0)}ms`,
    );
    expect(m.accuracy).toBeGreaterThan(0.96);
    expect(m.macroF1).toBeGreaterThan(0.95);
  });
});
