import { describe, expect, it } from 'vitest';
import { dpoEpochs, dpoPairLoss, type DpoPair } from './dpo.js';
import { LinearSoftmaxModel, trainEpochs } from './linear-softmax.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

async function trainedReference(): Promise<LinearSoftmaxModel> {
  const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 14);
  const ex = syntheticDataset(300, 21).map((r) => ({ x: m.featurize(r.text), y: m.labelIndex(r.label) }));
  await trainEpochs(m, ex, { epochs: 3, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 1 });
  return m;
}

describe('dpoEpochs', () => {
  it('raises the preferred label against the reference and lowers the pair loss', async () => {
    const reference = await trainedReference();
    const policy = reference.clone();
    // Reviewers say: for these finance-sounding prompts the answer should be "cooking" over "finance".
    const prompts = [
      'the bank raised interest on the loan',
      'stock market earnings beat investor hopes',
      'currency and bond portfolio news',
    ];
    const chosen = reference.labelIndex('cooking');
    const rejected = reference.labelIndex('finance');
    const pairs: DpoPair[] = prompts.map((p) => ({ x: reference.featurize(p), chosen, rejected, weight: 1 }));
    const beta = 0.5;

    const lossBefore = pairs.map((p) => dpoPairLoss(policy, reference, p, beta));
    for (const l of lossBefore) expect(l).toBeCloseTo(Math.log(2), 10); // policy == reference: Δ = 0
    const epochLosses = await dpoEpochs(policy, reference, pairs, {
      epochs: 20,
      learningRate: 1,
      beta,
      batchSize: 2,
      seed: 3,
    });
    expect(epochLosses).toHaveLength(20);
    expect(at(epochLosses, 19)).toBeLessThan(at(epochLosses, 0));

    pairs.forEach((p, i) => {
      expect(dpoPairLoss(policy, reference, p, beta)).toBeLessThan(at(lossBefore, i));
      const pp = policy.predictProba(p.x);
      const rp = reference.predictProba(p.x);
      expect(at(pp, chosen)).toBeGreaterThan(at(rp, chosen));
      expect(at(pp, chosen) / at(pp, rejected)).toBeGreaterThan(at(rp, chosen) / at(rp, rejected));
    });
    // The reference is frozen.
    const fresh = await trainedReference();
    expect(Array.from(reference.weights)).toEqual(Array.from(fresh.weights));
  });

  it('the analytic gradient matches a finite difference of the loss', async () => {
    const reference = await trainedReference();
    const policy = reference.clone();
    const pair: DpoPair = { x: reference.featurize('bake the bread in the oven'), chosen: 2, rejected: 1, weight: 0.7 };
    const beta = 0.3;
    // One plain SGD step with lr ε must lower the loss by ≈ ε·‖∇L‖²; compare with a numerical gradient.
    const j = at(pair.x.indices, 0);
    const row = pair.chosen * policy.dim + j;
    const h = 1e-3;
    const w0 = at(policy.weights, row);
    policy.weights[row] = w0 + h;
    const up = dpoPairLoss(policy, reference, pair, beta);
    policy.weights[row] = w0 - h;
    const down = dpoPairLoss(policy, reference, pair, beta);
    policy.weights[row] = w0;
    const numeric = (up - down) / (2 * h);
    // Analytic: ∂L/∂W[yw, j] = −w·β·σ(−βΔ)·x_j, with Δ = 0 at policy == reference -> σ = 1/2.
    const analytic = -pair.weight * beta * 0.5 * at(pair.x.values, 0);
    expect(numeric).toBeCloseTo(analytic, 4);
  });

  it('rejects pairs with the same label twice', async () => {
    const m = LinearSoftmaxModel.create(['a', 'b'], 64);
    await expect(
      dpoEpochs(m, m.clone(), [{ x: m.featurize('x'), chosen: 0, rejected: 0, weight: 1 }], {
        epochs: 1,
        learningRate: 1,
        beta: 1,
        batchSize: 1,
        seed: 1,
      }),
    ).rejects.toThrow(/two different labels/);
  });
});
