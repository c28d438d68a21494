/**
 * The retrieval-augmented generator as a predictor. Its answers are contributed responses, so it
 * honours what can be done to a text it renders (at most `maxTokens` tokens, cut at a `stop`
 * string, `n` distinct answers) and refuses sampling, tools and JSON formats: it cannot make a
 * tool call or promise valid JSON. The answer streams token by token as it is rendered, after the
 * attribution; embeddings come from its retriever's collection.
 *
 * A model trained with a span index (ml/spans, beside its artifact) attributes the rendered answer
 * to the training records it shares spans with; one without (trained on private records, or before
 * span indexes) and an answer with no qualifying span are attributed by the ranker over the
 * retrieved records.
 */
import { deserializeRag } from '../generative/rag-model.js';
import { attributeSpans } from '../spans/span-match.js';
import { loadSpanIndex } from '../spans/span-store.js';
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

/** A model trained on private records keeps no text to embed its collection from. */
const WITHOUT_TEXT: PredictorCapabilities = { ...CAPABILITIES, embeddings: false };

export const embeddedRag: PredictorFactory = async (src, artifact, store) => {
  const model = deserializeRag(artifact);
  const capabilities = model.quotes ? CAPABILITIES : WITHOUT_TEXT;
  const spans = model.meta.spanIndex ? await loadSpanIndex(store, src.artifactKey) : undefined;
  let embedder: HashedTfIdf | undefined; // built on the first embeddings call, then kept
  async function* stream(req: PredictRequest): AsyncIterable<PredictionEvent> {
    checkOptions(capabilities, req.options);
    const { n = 1, maxTokens, stop } = req.options ?? {};
    if (!Number.isInteger(n) || n < 1) throw new UnsupportedOption('n', 'n must be a positive integer');
    const answered = model.answers(promptOf(req.messages), n, req.topK);
    if (answered.texts.length < n)
      throw new UnsupportedOption(
        'n',
        `this model has ${answered.texts.length} distinct answers for this prompt, not ${n}`,
      );
    // What is rendered (cut at a stop string, at most maxTokens) is what the attribution is of.
    const rendered = answered.texts.map((answer) => {
      const tokens = textTokens(cutAtStop(answer, stop).text);
      const length = maxTokens !== undefined && tokens.length > maxTokens;
      return { tokens: length ? tokens.slice(0, maxTokens) : tokens, length };
    });
    const bySpans =
      spans &&
      attributeSpans(
        spans,
        rendered.map((r) => r.tokens.join('')),
        req.topK,
      );
    yield { type: 'attribution', attribution: bySpans?.attribution ?? answered.attribution };
    const finishReasons: FinishReason[] = [];
    let completionTokens = 0;
    for (const [choice, { tokens, length }] of rendered.entries()) {
      for (const text of tokens) {
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
  return {
    kind: 'embedded-rag',
    task: 'generation',
    capabilities,
    attributionMode: spans ? 'spans' : 'retrieval',
    attributionRecords: spans ? spans.header.records : model.sources.length,
    stream,
    predict: (req) => collect(stream(req)),
    embed(inputs) {
      const docs = model.docs;
      if (!docs)
        throw new UnsupportedOption('input', 'this model was trained on private records: it has no embeddings');
      embedder ??= new HashedTfIdf(docs.map((d) => `${d.prompt}\n${d.response}`));
      const e = embedder;
      return Promise.resolve({ vectors: inputs.map((t) => e.embed(t)), usage: { promptTokens: countTokens(inputs) } });
    },
  };
};
