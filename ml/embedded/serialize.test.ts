import { describe, expect, it } from 'vitest';
import { LinearSoftmaxModel, trainEpochs } from './linear-softmax.js';
import { deserializeModel, serializeModel } from './serialize.js';
import { syntheticDataset, SYNTHETIC_LABELS } from './synthetic.js';

describe('serialize', () => {
  it('round-trips weights, bias, labels, features, scale and metadata exactly', async () => {
    const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, { dim: 1 << 12, charNgrams: [2, 4] });
    const ex = syntheticDataset(90, 1).map((r) => ({ x: m.featurize(r.text), y: m.labelIndex(r.label) }));
    await trainEpochs(m, ex, { epochs: 1, learningRate: 0.5, l2: 1e-3, batchSize: 8, seed: 1 });
    m.scale = 0.123456789012345; // an unfolded checkpoint scale must survive exactly
    m.meta = { step: 7, jobId: 'j-1', nested: { a: [1, 2] } };
    const buf = serializeModel(m);
    const back = deserializeModel(buf);
    expect(back.labels).toEqual(m.labels);
    expect(back.features).toEqual(m.features);
    expect(back.scale).toBe(m.scale);
    expect(back.meta).toEqual(m.meta);
    expect(Buffer.from(back.weights.buffer).equals(Buffer.from(m.weights.buffer))).toBe(true);
    expect(Array.from(back.bias)).toEqual(Array.from(m.bias));
    expect(back.predict('the oven and the garlic')).toEqual(m.predict('the oven and the garlic'));
    expect(serializeModel(back).equals(buf)).toBe(true); // byte-stable -> stable sha256
  });

  it('rejects corrupt or truncated artifacts', () => {
    const buf = serializeModel(LinearSoftmaxModel.create(['a', 'b'], 32));
    expect(() => deserializeModel(buf.subarray(0, buf.length - 4))).toThrow(/expected/);
    const bad = Buffer.from(buf);
    bad[0] = 0x58;
    expect(() => deserializeModel(bad)).toThrow(/magic/);
  });
});
