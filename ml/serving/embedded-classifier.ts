/**
 * The linear classifier as a predictor. A version promoted with an attribution index is attributed
 * from it unless its training set is small enough for exact TracIn (postings rebuilt from the
 * manifest); the index header says how many records it holds. A label is produced whole: no
 * sampling, no tools, no JSON, one choice.
 */
import type { Attribution } from '../embedded/influence.js';
import { attributeWithIndex, prepareInfluenceIndex } from '../embedded/influence.js';
import { deserializeModel } from '../embedded/serialize.js';
import { tokenize, type SparseVector } from '../embedded/features.js';
import { AttributionIndex, attributionIndexKeys } from '../embedded/attribution-index.js';
import { attributionIndexPrefix } from '../../storage/keys.js';
import { parseManifest } from '../embedded/embedded-trainer.js';
import type { Prediction, PredictorCapabilities, PredictorFactory, PredictRequest } from './prediction.js';
import { checkOptions } from './options.js';
import { promptOf } from './conversation.js';
import { eventsOf } from './events.js';

export interface EmbeddedClassifierOptions {
  /** Largest training set attributed exactly; larger versions use their ANN index (default 5000). */
  exactAttributionMaxRecords?: number;
  /** Where downloaded ANN indexes are kept and memory-mapped from. */
  indexCacheDir?: string;
}

const CAPABILITIES: PredictorCapabilities = {
  options: new Set(),
  responseFormats: new Set(['text']),
  streaming: false,
  embeddings: false,
};

export function embeddedClassifier(opts: EmbeddedClassifierOptions): PredictorFactory {
  return async (src, artifact, store) => {
    const model = deserializeModel(artifact);
    const indexPrefix = attributionIndexPrefix(src.artifactKey);
    const headerKey = attributionIndexKeys.header(indexPrefix);
    const header = (await store.head(headerKey))
      ? (JSON.parse((await store.get(headerKey)).toString('utf8')) as { size: number })
      : undefined;
    let attribute: (input: string, topK: number, features: SparseVector) => Attribution;
    let attributionMode: 'exact' | 'ann';
    let attributionRecords: number;
    // Exact attribution reads the training records' text, which a private Datanet's manifest seals
    // from the API: such a version is attributed from its index (hashes and projected gradients).
    const sealed = model.meta.sealedRecords === true;
    if (sealed && !header)
      throw new Error(`${src.modelName}@${src.version} was trained on private records and has no attribution index`);
    if (header && (sealed || header.size > (opts.exactAttributionMaxRecords ?? 5000))) {
      const ann = await AttributionIndex.fromStore(store, indexPrefix, opts.indexCacheDir);
      attribute = (_input, topK, features) => ann.attribute(model, features, topK);
      attributionMode = 'ann';
      attributionRecords = ann.size;
    } else {
      const index = prepareInfluenceIndex(model, parseManifest(await store.get(src.manifestKey)));
      attribute = (input, topK) => attributeWithIndex(index, model, input, topK);
      attributionMode = 'exact';
      attributionRecords = index.size;
    }
    const predict = (req: PredictRequest): Prediction => {
      checkOptions(CAPABILITIES, req.options);
      const input = promptOf(req.messages);
      // Split and featurized once: the usage counts the tokens the features were built from, and
      // the label and the index's attribution read the same features.
      const tokens = tokenize(input);
      const features = model.featurizeTokens(tokens);
      const p = model.predictFeatures(features);
      const a = attribute(input, req.topK, features);
      return {
        output: p.label,
        choices: [{ output: p.label, finishReason: 'stop' }],
        probabilities: p.probs,
        // The classifier reads word tokens and answers one label.
        usage: { promptTokens: tokens.length, completionTokens: 1 },
        attribution: { contributors: a.contributors, records: a.records },
      };
    };
    return {
      kind: 'embedded-classifier',
      task: 'classification',
      capabilities: CAPABILITIES,
      attributionMode,
      attributionRecords,
      predict: (req) => Promise.resolve(predict(req)),
      stream: (req) => eventsOf(() => predict(req)),
    };
  };
}
