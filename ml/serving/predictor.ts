/**
 * Serving maps a model version to a predictor: what answers a call, whatever trained the model.
 * The API (api/inference/model-cache.ts) loads a version's artifact and asks the registry
 * (`PredictorRegistry.load`) for the implementation; the routes only ever see `Predictor`. Built in:
 * - `embedded-classifier` (embedded-classifier.ts): the linear softmax classifier with its
 *   gradient-influence attribution;
 * - `embedded-rag` (embedded-rag.ts): the retrieval-augmented generator, attributed to the records
 *   it retrieved.
 * A further backend (the OpenAI-compatible upstream serving an external model's LoRA adapter,
 * upstream-predictor.ts) is one more `PredictorFactory` registered under its kind, chosen by `kindFor`.
 *
 * Every predictor says what it can do (`capabilities`); a request asking for anything else is
 * refused by `checkOptions` before it is admitted, never silently answered without it.
 */
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { isRagArtifact } from '../generative/rag-model.js';
import { embeddedClassifier, type EmbeddedClassifierOptions } from './embedded-classifier.js';
import { embeddedRag } from './embedded-rag.js';
import type { Predictor, PredictorFactory, VersionSource } from './prediction.js';

export type * from './prediction.js';
export type { EmbeddedClassifierOptions } from './embedded-classifier.js';
export { checkOptions, OPENAI_PARAM, UnsupportedOption } from './options.js';
export { promptOf } from './conversation.js';
export { collect, eventsOf } from './events.js';
export { textTokens } from './tokens.js';

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
