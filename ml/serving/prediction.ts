/**
 * What a predictor is, whatever answers: the request (a conversation and OpenAI's generation
 * options), the answer as a whole or as events, and what each predictor can do. The registry that
 * picks a predictor for a version is predictor.ts, which re-exports all of this.
 */
import type { ArtifactStore } from '../../storage/artifact-store.js';
import type { TaskType } from '../../domain/lifecycle/types.js';
import type { Attribution } from '../embedded/influence.js';

/** A function the model may call (OpenAI's `tools[].function`). */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments object as JSON text (as OpenAI sends it). */
  arguments: string;
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant turns that called tools. */
  toolCalls?: ToolCall[];
  /** Tool results: the call they answer. */
  toolCallId?: string;
}

export interface GenerationOptions {
  /** Most tokens per choice (OpenAI `max_tokens` / `max_completion_tokens`). */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  /** Choices to generate. */
  n?: number;
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
}

export interface PredictorCapabilities {
  /** The GenerationOptions fields this predictor honours; a request setting any other is refused. */
  options: ReadonlySet<keyof GenerationOptions>;
  responseFormats: ReadonlySet<ResponseFormat['type']>;
  /** Tokens are streamed as the model produces them. */
  streaming: boolean;
  embeddings: boolean;
}

export interface PredictRequest {
  /** The conversation; a plain input is one user message. */
  messages: ChatMessage[];
  /** How many attributed records to return. */
  topK: number;
  options?: GenerationOptions;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface Choice {
  output: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
}

/** Counted in the model's own tokens. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Prediction {
  /** choices[0].output */
  output: string;
  /** `n` of them (one unless asked for more). */
  choices: Choice[];
  /** Classification: probability per label. */
  probabilities?: Record<string, number>;
  usage: Usage;
  attribution: Attribution;
}

/**
 * A prediction as it is produced. `attribution` comes first, before any token: the route commits
 * the fee on it before the first byte. Then deltas per choice, then one `done`.
 */
export type PredictionEvent =
  | { type: 'attribution'; attribution: Attribution }
  | {
      type: 'delta';
      choice: number;
      text?: string;
      /** A piece of a tool call: `id` and `name` come with its first piece, arguments in pieces. */
      toolCall?: { index: number; id?: string; name?: string; argumentsDelta?: string };
    }
  | { type: 'done'; finishReasons: FinishReason[]; usage: Usage };

export interface Embeddings {
  vectors: number[][];
  usage: { promptTokens: number };
}

export interface Predictor {
  /** Which implementation answers (e.g. `embedded-classifier`, `embedded-rag`). */
  readonly kind: string;
  readonly task: TaskType;
  readonly capabilities: PredictorCapabilities;
  /** How attribution is computed ('exact', 'ann', 'retrieval'…) and over how many records, for operators and benches. */
  readonly attributionMode?: string;
  readonly attributionRecords?: number;
  predict(req: PredictRequest): Promise<Prediction>;
  stream(req: PredictRequest): AsyncIterable<PredictionEvent>;
  /** Present when `capabilities.embeddings`: one vector per input, all of one dimension. */
  embed?(inputs: string[], signal?: AbortSignal): Promise<Embeddings>;
}

/** What the registry knows about a version when it picks and builds its predictor. */
export interface VersionSource {
  modelName: string;
  version: number;
  artifactKey: string;
  /** The dataset manifest the version was trained on (the classifier's attribution index needs it). */
  manifestKey: string;
  /** From the version's lineage. */
  trainer: string;
  task: TaskType;
}

export type PredictorFactory = (src: VersionSource, artifact: Buffer, store: ArtifactStore) => Promise<Predictor>;
