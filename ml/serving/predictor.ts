/**
 * Serving maps a model version to a predictor: what answers a call, whatever trained the model.
 * The API (api/inference/model-cache.ts) loads a version's artifact and asks `loadPredictor` for
 * the implementation; the routes only ever see `Predictor`. Built in:
 * - `embedded-classifier`: the linear softmax classifier with its gradient-influence attribution;
 * - `embedded-rag`: the retrieval-augmented generator, attributed to the records it retrieved.
 * A further backend (for example an OpenAI-compatible upstream serving an external model's LoRA
 * adapter) is one more `PredictorFactory` registered under its kind, chosen by `kindFor`.
 */
import type { ArtifactStore } from '../../storage/artifact-store.js';
import type { TaskType } from '../../domain/lifecycle/types.js';
import type { Attribution } from '../embedded/influence.js';
import { attributeWithIndex, prepareInfluenceIndex } from '../embedded/influence.js';
import { deserializeModel } from '../embedded/serialize.js';
import type { SparseVector } from '../embedded/features.js';
import { AttributionIndex, attributionIndexKeys } from '../embedded/attribution-index.js';
import { attributionIndexPrefix } from '../../storage/keys.js';
import { parseManifest } from '../embedded/embedded-trainer.js';
import { deserializeRag, isRagArtifact } from '../generative/rag-model.js';
import { renderChat } from '../../domain/data/datanet-spec.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface PredictRequest {
  /** The conversation; a plain input is one user message. */
  messages: ChatMessage[];
  /** How many attributed records to return. */
  topK: number;
  signal?: AbortSignal;
}

export interface Prediction {
  output: string;
  /** Classification: probability per label. */
  probabilities?: Record<string, number>;
  attribution: Attribution;
}

export interface Predictor {
  /** Which implementation answers (e.g. `embedded-classifier`, `embedded-rag`). */
  readonly kind: string;
  readonly task: TaskType;
  /** How attribution is computed ('exact', 'ann', 'retrieval'…) and over how many records, for operators and benches. */
  readonly attributionMode?: string;
  readonly attributionRecords?: number;
  predict(req: PredictRequest): Promise<Prediction>;
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

/** The text a model reads from a conversation: the turns' contents, one per line (as Datanet chat records are read). */
export function promptOf(messages: ChatMessage[]): string {
  return renderChat(messages);
}

export interface EmbeddedClassifierOptions {
  /** Largest training set attributed exactly; larger versions use their ANN index (default 5000). */
  exactAttributionMaxRecords?: number;
  /** Where downloaded ANN indexes are kept and memory-mapped from. */
  indexCacheDir?: string;
}

/**
 * The linear classifier. A version promoted with an attribution index is attributed from it
 * unless its training set is small enough for exact TracIn (postings rebuilt from the manifest);
 * the index header says how many records it holds.
 */
function embeddedClassifier(opts: EmbeddedClassifierOptions): PredictorFactory {
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
    return {
      kind: 'embedded-classifier',
      task: 'classification',
      attributionMode,
      attributionRecords,
      predict(req) {
        const input = promptOf(req.messages);
        // Featurized once: the label and the index's attribution read the same features.
        const features = model.featurize(input);
        const p = model.predictFeatures(features);
        const a = attribute(input, req.topK, features);
        return Promise.resolve({
          output: p.label,
          probabilities: p.probs,
          attribution: { contributors: a.contributors, records: a.records },
        });
      },
    };
  };
}

const embeddedRag: PredictorFactory = (_src, artifact) => {
  const model = deserializeRag(artifact);
  return Promise.resolve({
    kind: 'embedded-rag',
    task: 'generation',
    predict(req) {
      const a = model.answer(promptOf(req.messages), req.topK);
      return Promise.resolve({ output: a.text, attribution: a.attribution });
    },
  });
};

export class PredictorRegistry {
  private readonly factories: Map<string, PredictorFactory>;

  constructor(classifier: EmbeddedClassifierOptions = {}) {
    this.factories = new Map<string, PredictorFactory>([
      ['embedded-classifier', embeddedClassifier(classifier)],
      ['embedded-rag', embeddedRag],
    ]);
  }

  register(kind: string, factory: PredictorFactory): this {
    this.factories.set(kind, factory);
    return this;
  }

  /**
   * The predictor kind for a version: the embedded formats are recognised by their artifact bytes;
   * other trainers' artifacts are served by the backend registered for `<trainer>-<task>` (e.g.
   * `external-generation` for an upstream inference server).
   */
  kindFor(src: VersionSource, artifact: Buffer): string {
    if (isRagArtifact(artifact)) return 'embedded-rag';
    if (src.trainer !== 'embedded') return `${src.trainer}-${src.task}`;
    return 'embedded-classifier';
  }

  async load(src: VersionSource, artifact: Buffer, store: ArtifactStore): Promise<Predictor> {
    const kind = this.kindFor(src, artifact);
    const factory = this.factories.get(kind);
    if (!factory)
      throw new Error(
        `no predictor "${kind}" for ${src.modelName}@${src.version} on this API (have: ${[...this.factories.keys()].join(', ')})`,
      );
    return factory(src, artifact, store);
  }
}
