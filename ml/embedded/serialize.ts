/**
 * Model <-> bytes. Layout: "CLSM" magic, uint32 LE header length, UTF-8 JSON header, zero padding
 * to a 4-byte boundary, then labels×dim weights and `labels` biases as little-endian float32.
 * Checkpoints use the same format with the training step (and the unfolded lazy scale) in the header.
 */
import { featureOptions, type FeatureOptions } from './features.js';
import { LinearSoftmaxModel } from './linear-softmax.js';

const MAGIC = Buffer.from('CLSM', 'ascii');
export const MODEL_FORMAT_VERSION = 1;

interface Header {
  format: number;
  kind: 'linear-softmax';
  labels: string[];
  dim: number;
  features: FeatureOptions;
  scale: number;
  meta: Record<string, unknown>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function floatsToLE(a: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.allocUnsafe(a.length * 4);
  for (const [i, v] of a.entries()) b.writeFloatLE(v, i * 4);
  return b;
}

function floatsFromLE(buf: Buffer, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    // Copy (not a view): the source may be unaligned and is shared with the caller.
    new Uint8Array(out.buffer).set(buf.subarray(offset, offset + count * 4));
  } else {
    for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(offset + i * 4);
  }
  return out;
}

export function serializeModel(model: LinearSoftmaxModel, meta: Record<string, unknown> = model.meta): Buffer {
  const header: Header = {
    format: MODEL_FORMAT_VERSION,
    kind: 'linear-softmax',
    labels: model.labels,
    dim: model.dim,
    features: model.features,
    scale: model.scale,
    meta,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((8 + json.length) % 4)) % 4;
  const prefix = Buffer.alloc(8);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 4);
  return Buffer.concat([prefix, json, Buffer.alloc(pad), floatsToLE(model.weights), floatsToLE(model.bias)]);
}

export function deserializeModel(buf: Buffer): LinearSoftmaxModel {
  if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC))
    throw new Error('not a linear-softmax model artifact (bad magic)');
  const headerLen = buf.readUInt32LE(4);
  if (8 + headerLen > buf.length) throw new Error('truncated model artifact header');
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Header;
  if (header.format !== MODEL_FORMAT_VERSION || header.kind !== 'linear-softmax') {
    throw new Error(`unsupported model format ${String(header.kind)} v${String(header.format)}`);
  }
  const features = featureOptions(header.features);
  if (features.dim !== header.dim) throw new Error('model header dim disagrees with its feature options');
  const K = header.labels.length;
  const start = 8 + headerLen + ((4 - ((8 + headerLen) % 4)) % 4);
  const expected = start + (K * header.dim + K) * 4;
  if (buf.length !== expected) throw new Error(`model artifact is ${buf.length} bytes, expected ${expected}`);
  const weights = floatsFromLE(buf, start, K * header.dim);
  const bias = floatsFromLE(buf, start + K * header.dim * 4, K);
  const model = new LinearSoftmaxModel(header.labels, features, weights, bias);
  model.scale = header.scale;
  model.meta = header.meta ?? {};
  return model;
}
