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
  predict(req: PredictRequest): Promise<Prediction>;
}

/** What the registry knows about a version when it picks and builds its predictor. */
export interface VersionSource {
  modelName: string;
  version: number;
  artifactKey: string;
  /** The dataset manifest the version was trained on (the classifier's attribution index needs it). */
  manifestKey: string;
  /** From the version's lineage (absent for versions promoted before it was recorded). */
  trainer?: string;
  task?: TaskType;
}

export type PredictorFactory = (src: VersionSource, artifact: Buffer, store: ArtifactStore) => Promise<Predictor>;

/** The text a model reads from a conversation: the turns' contents, one per line (as Datanet chat records are read). */
export function promptOf(messages: ChatMessage[]): string {
  return renderChat(messages);
}

const embeddedClassifier: PredictorFactory = async (src, artifact, store) => {
  const model = deserializeModel(artifact);
  const index = prepareInfluenceIndex(model, parseManifest(await store.get(src.manifestKey)));
  return {
    kind: 'embedded-classifier',
    task: 'classification',
    predict(req) {
      const input = promptOf(req.messages);
      const p = model.predict(input);
      const a = attributeWithIndex(index, model, input, req.topK);
      return Promise.resolve({
        output: p.label,
        probabilities: p.probs,
        attribution: { contributors: a.contributors, records: a.records },
      });
    },
  };
};

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
  private readonly factories = new Map<string, PredictorFactory>([
    ['embedded-classifier', embeddedClassifier],
    ['embedded-rag', embeddedRag],
  ]);

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
    if (src.trainer && src.trainer !== 'embedded') return `${src.trainer}-${src.task ?? 'classification'}`;
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
