/**
 * The retrieval-augmented generator as a predictor. Its answers are contributed responses, so it
 * honours what can be done to a text it renders (at most `maxTokens` tokens, cut at a `stop`
 * string, `n` distinct answers) and refuses sampling, tools and JSON formats: it cannot make a
 * tool call or promise valid JSON. The answer streams token by token as it is rendered, after the
 * attribution; embeddings come from its retriever's collection.
 */
import { deserializeRag } from '../generative/rag-model.js';
import type {
  FinishReason,
  PredictionEvent,
  PredictorCapabilities,
  PredictorFactory,
  PredictRequest,
} from './prediction.js';
import { checkOptions, UnsupportedOption } from './options.js';
import { promptOf } from './conversation.js';
import { collect } from './events.js';
import { countTokens, textTokens } from './tokens.js';
import { HashedTfIdf } from './hashed-embedding.js';

const CAPABILITIES: PredictorCapabilities = {
  options: new Set(['maxTokens', 'stop', 'n']),
  responseFormats: new Set(['text']),
  streaming: true,
  embeddings: true,
};

/** The text up to the first stop string, and whether one was found. */
export function cutAtStop(text: string, stop: readonly string[] = []): { text: string; stopped: boolean } {
  let at = -1;
  for (const s of stop) {
    const i = s ? text.indexOf(s) : -1;
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at < 0 ? { text, stopped: false } : { text: text.slice(0, at), stopped: true };
}

/** Lets the event loop run between tokens, so a slow reader or an abort is seen while rendering. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export const embeddedRag: PredictorFactory = (_src, artifact) => {
  const model = deserializeRag(artifact);
  let embedder: HashedTfIdf | undefined; // built on the first embeddings call, then kept
  async function* stream(req: PredictRequest): AsyncIterable<PredictionEvent> {
    checkOptions(CAPABILITIES, req.options);
    const { n = 1, maxTokens, stop } = req.options ?? {};
    if (!Number.isInteger(n) || n < 1) throw new UnsupportedOption('n', 'n must be a positive integer');
    const { texts, attribution } = model.answers(promptOf(req.messages), n, req.topK);
    if (texts.length < n)
      throw new UnsupportedOption('n', `this model has ${texts.length} distinct answers for this prompt, not ${n}`);
    yield { type: 'attribution', attribution };
    const finishReasons: FinishReason[] = [];
    let completionTokens = 0;
    for (const [choice, answer] of texts.entries()) {
      const cut = cutAtStop(answer, stop);
      const tokens = textTokens(cut.text);
      const length = maxTokens !== undefined && tokens.length > maxTokens;
      for (const text of length ? tokens.slice(0, maxTokens) : tokens) {
        req.signal?.throwIfAborted();
        yield { type: 'delta', choice, text };
        completionTokens++;
        await tick();
      }
      finishReasons.push(length ? 'length' : 'stop');
    }
    yield {
      type: 'done',
      finishReasons,
      usage: { promptTokens: countTokens(req.messages.map((m) => m.content)), completionTokens },
    };
  }
  return Promise.resolve({
    kind: 'embedded-rag',
    task: 'generation',
    capabilities: CAPABILITIES,
    stream,
    predict: (req) => collect(stream(req)),
    embed(inputs) {
      embedder ??= new HashedTfIdf(model.docs.map((d) => `${d.prompt}\n${d.response}`));
      const e = embedder;
      return Promise.resolve({ vectors: inputs.map((t) => e.embed(t)), usage: { promptTokens: countTokens(inputs) } });
    },
  });
};
