import { describe, expect, it } from 'vitest';
import { LinearSoftmaxModel, evaluate, stepsPerEpoch, trainEpochs, type Example } from './linear-softmax.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';
import { deserializeModel, serializeModel } from './serialize.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

function examples(model: LinearSoftmaxModel, n: number, seed: number): Example[] {
  return syntheticDataset(n, seed).map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
}

const HP = { epochs: 4, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 11 };

describe('LinearSoftmaxModel', () => {
  it('starts uniform and predicts a probability distribution', () => {
    const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 12);
    const { label, probs } = m.predict('anything at all');
    expect(SYNTHETIC_LABELS).toContain(label);
    for (const l of SYNTHETIC_LABELS) expect(probs[l]).toBeCloseTo(1 / 3, 10);
  });

  it('learns a 3-class synthetic task to high held-out accuracy', async () => {
    const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 16);
    const train = examples(m, 600, 1);
    const test = examples(m, 300, 2);
    const before = evaluate(m, test);
    const losses: number[] = [];
    const summary = await trainEpochs(m, train, { ...HP, onStep: (_s, _t, _e, loss) => void losses.push(loss) });
    expect(summary.steps).toBe(stepsPerEpoch(600, 16) * HP.epochs);
    expect(losses.length).toBe(summary.steps);
    const after = evaluate(m, test);
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(after.macroF1).toBeGreaterThan(0.9);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.examples).toBe(300);
    expect(m.scale).toBe(1);
    expect(m.predict('the striker scored a goal for the team in the league match').label).toBe('sports');
    expect(m.predict('simmer the garlic and onion in butter then bake').label).toBe('cooking');
  });

  it('resumed from a serialised mid-epoch checkpoint equals uninterrupted training', async () => {
    const base = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 14);
    const train = examples(base, 300, 3);
    const total = stepsPerEpoch(300, HP.batchSize) * HP.epochs;
    const k = Math.floor(total / 2) + 3; // deliberately not at an epoch boundary

    const full = base.clone();
    await trainEpochs(full, train, HP);

    const partial = base.clone();
    let checkpoint: Buffer | undefined;
    const stop = new AbortController();
    await expect(
      trainEpochs(partial, train, {
        ...HP,
        signal: stop.signal,
        onStep: (step) => {
          if (step === k) {
            checkpoint = serializeModel(partial, { step });
            stop.abort(new Error('simulated crash'));
          }
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(checkpoint).toBeDefined();

    const resumed = deserializeModel(checkpoint!);
    expect(resumed.meta.step).toBe(k);
    const summary = await trainEpochs(resumed, train, { ...HP, startStep: k });
    expect(summary.startStep).toBe(k);

    let maxDiff = 0;
    for (let i = 0; i < full.weights.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(at(full.weights, i) - at(resumed.weights, i)));
    for (let i = 0; i < full.bias.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(at(full.bias, i) - at(resumed.bias, i)));
    expect(maxDiff).toBeLessThan(1e-6);
    // And training actually moved the weights (the comparison is not between two zero vectors).
    expect(full.weights.some((w) => Math.abs(w) > 1e-3)).toBe(true);
  });

  it('a different seed gives a different (but still good) model', async () => {
    const a = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 14);
    const b = a.clone();
    const train = examples(a, 300, 4);
    await trainEpochs(a, train, HP);
    await trainEpochs(b, train, { ...HP, seed: 12 });
    expect(a.weights.some((w, i) => w !== b.weights[i])).toBe(true);
  });

  it('warm start continues from the given weights', async () => {
    const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 14);
    const train = examples(m, 300, 5);
    const test = examples(m, 150, 6);
    await trainEpochs(m, train, { ...HP, epochs: 1 });
    const warm = evaluate(m, test);
    await trainEpochs(m, train, { ...HP, epochs: 3 });
    expect(evaluate(m, test).loss).toBeLessThan(warm.loss);
  });

  it('evaluate computes accuracy and macro-F1 from the confusion counts', () => {
    const m = LinearSoftmaxModel.create(['a', 'b'], 16);
    m.bias[0] = 1; // always predicts 'a'
    const x = m.featurize('x');
    const r = evaluate(m, [
      { x, y: 0 },
      { x, y: 0 },
      { x, y: 0 },
      { x, y: 1 },
    ]);
    expect(r.accuracy).toBe(0.75);
    // F1(a) = 2·3/(2·3+1+0) = 6/7, F1(b) = 0 -> macro 3/7
    expect(r.macroF1).toBeCloseTo(3 / 7, 10);
  });
});
