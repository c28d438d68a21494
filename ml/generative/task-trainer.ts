/**
 * One trainer kind for both task types: jobs for `task: 'generation'` and RAG artifacts go to the
 * embedded RAG trainer, everything else to the wrapped classifier trainer. So a proposal's trainer
 * kind (`embedded`) means the same thing in every stage, whatever its task.
 */
import type { ArtifactStore } from '../../storage/artifact-store.js';
import type {
  DpoJob,
  GeneratedCandidates,
  GenerationJob,
  Trainer,
  TrainerContext,
  TrainingJob,
  TrainingResult,
} from '../trainer.js';
import { isRagArtifact } from './rag-model.js';
import { RagTrainer } from './rag-trainer.js';

export class TaskRoutingTrainer implements Trainer {
  readonly kind: string;

  constructor(
    private readonly classifier: Trainer,
    private readonly rag = new RagTrainer(),
  ) {
    this.kind = classifier.kind;
  }

  train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    return job.task === 'generation' ? this.rag.train(job, ctx) : this.classifier.train(job, ctx);
  }

  async generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]> {
    return (await isRag(ctx.store, job.artifactKey)) ? this.rag.generate(job, ctx) : this.classifier.generate(job, ctx);
  }

  async dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult> {
    return (await isRag(ctx.store, job.policyArtifactKey)) ? this.rag.dpo(job, ctx) : this.classifier.dpo(job, ctx);
  }
}

async function isRag(store: ArtifactStore, key: string): Promise<boolean> {
  return isRagArtifact(await store.get(key));
}
