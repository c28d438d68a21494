// Calling a model with attribution and getting a receipt: the one path every paid route takes (the
// OpenAI-compatible routes, and the MCP server's model tool). The payer is admitted before the
// model is loaded, the options are checked against what the predictor honours before it is asked
// anything (a refused call costs nothing), and the fee is committed before any of the answer is
// returned: for a stream, on its first event (the attribution), before the first token.
import type { FastifyRequest } from 'fastify';
import type { CallerKey, PaidCalls } from './paid-calls.js';
import type { LoadedVersion } from './model-cache.js';
import { inputHashOf } from './receipts.js';
import {
  checkOptions,
  type PredictionEvent,
  type Prediction,
  type PredictRequest,
} from '../../ml/serving/predictor.js';
import type { Attribution } from '../../ml/embedded/influence.js';
import { HttpError } from '../errors.js';

export interface PaidCall {
  key: CallerKey;
  /** The model's name and, when not its production version, the version. */
  model: string;
  version?: number;
  request: PredictRequest;
  /** The caller's end user (OpenAI's `user`), kept on the receipt. */
  endUser?: string;
}

export interface Receipted {
  v: LoadedVersion;
  /** The receipt id (the call id): GET /v1/receipts/:id. */
  receipt: string;
  fee: bigint;
  attribution: Attribution;
}

type Log = Pick<FastifyRequest, 'log'>;

/** The model cannot do what the call asks (e.g. embeddings from a classifier): 400, nothing charged. */
export class NotOffered extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

/** The version, admitted and with the request's options checked (UnsupportedOption otherwise). */
async function admitted(paid: PaidCalls, call: PaidCall): Promise<LoadedVersion> {
  const v = await paid.admittedVersion(call.key, call.model, call.version);
  checkOptions(v.predictor.capabilities, call.request.options);
  return v;
}

/** A paid, attributed answer and its receipt. */
export async function paidPrediction(
  paid: PaidCalls,
  log: Log,
  call: PaidCall,
): Promise<Receipted & { prediction: Prediction }> {
  const v = await admitted(paid, call);
  const prediction = await v.predictor.predict(call.request);
  const { callId, fee } = await paid.charge(log, v, call.key, prediction.attribution, receiptOf(call));
  return { v, receipt: callId, fee, attribution: prediction.attribution, prediction };
}

/**
 * A paid stream: resolves once the fee is committed (on the stream's attribution event), with the
 * rest of the events to relay. Nothing of the answer exists for the caller before that; an abort
 * of `call.request.signal` afterwards stops the model and charges nothing more.
 */
export async function paidStream(
  paid: PaidCalls,
  log: Log,
  call: PaidCall,
): Promise<Receipted & { events: AsyncIterator<PredictionEvent> }> {
  const v = await admitted(paid, call);
  const events = v.predictor.stream(call.request)[Symbol.asyncIterator]();
  const first = await events.next();
  if (first.done || first.value.type !== 'attribution') {
    await events.return?.();
    throw new HttpError(502, `model ${v.modelName}@${v.version} streamed no attribution before its answer`);
  }
  const { attribution } = first.value;
  try {
    const { callId, fee } = await paid.charge(log, v, call.key, attribution, receiptOf(call));
    return { v, receipt: callId, fee, attribution, events };
  } catch (err) {
    await events.return?.();
    throw err;
  }
}

/** Paid embeddings: one call, attributed to the contributors of the version's training set. */
export async function paidEmbeddings(
  paid: PaidCalls,
  log: Log,
  call: Omit<PaidCall, 'request'> & { inputs: string[]; signal?: AbortSignal },
): Promise<Receipted & { vectors: number[][]; promptTokens: number }> {
  const v = await paid.admittedVersion(call.key, call.model, call.version);
  const embed = v.predictor.embed?.bind(v.predictor);
  if (!v.predictor.capabilities.embeddings || !embed)
    throw new NotOffered(`model ${v.modelName}@${v.version} (${v.predictor.kind}) has no embeddings`);
  const { vectors, usage } = await embed(call.inputs, call.signal);
  // An embedding draws on the whole training set (its vocabulary and weights), not on some records.
  const attribution: Attribution = { contributors: await paid.trainingSetWeights(v), records: [] };
  const { callId, fee } = await paid.charge(log, v, call.key, attribution, {
    inputHash: inputHashOf(call.inputs),
    ...(call.endUser ? { endUser: call.endUser } : {}),
  });
  return { v, receipt: callId, fee, attribution, vectors, promptTokens: usage.promptTokens };
}

function receiptOf(call: PaidCall): { inputHash: string; endUser?: string } {
  return { inputHash: inputHashOf(call.request.messages), ...(call.endUser ? { endUser: call.endUser } : {}) };
}
