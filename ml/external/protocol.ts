/**
 * The contract between the worker and an external trainer process (a GPU script): the worker
 * writes a job spec as JSON and runs `command ...args job.json`; the process writes JSON lines to
 * stdout. Anything else it prints (and all of stderr) is kept as log.
 */
export type ExternalTask = 'sft' | 'generate' | 'dpo';

/**
 * Local paths of the inputs the worker downloaded from S3 into the job's work directory. The JSONL
 * files are storage/jsonl.ts's format: split them on "\n" only (never str.splitlines or readline,
 * which also end a line at U+2028 inside a record's text).
 */
export interface ExternalInputs {
  /** sft: the whole dataset manifest (JSONL of ManifestRecord), as stored. */
  dataset?: string;
  /** sft: the training part of the manifest, split by the same rule as the embedded trainer. */
  train?: string;
  /** sft: the held-out part; dpo: the evaluation manifest. JSONL of ManifestRecord. */
  eval?: string;
  /** sft: warm-start artifact. */
  base?: string;
  /** generate: the model to answer with. */
  model?: string;
  /** dpo: the policy to update and the frozen reference. */
  policy?: string;
  reference?: string;
}

export interface ExternalJobSpec {
  task: ExternalTask;
  /** sft: what the model learns (generation: prompt → response records); later jobs read it from the artifact. */
  taskType?: 'classification' | 'generation';
  jobId?: string;
  inputs: ExternalInputs;
  /** The label set (sft: the job's; dpo: the labels seen in the eval manifest; generate: absent). */
  labels?: string[];
  /** The job's Hyperparams, verbatim (empty for generate). */
  hyperparams: Record<string, number>;
  evalFraction?: number;
  /** generate: prompts to answer. */
  prompts?: { id: string; text: string }[];
  candidatesPerPrompt?: number;
  /** dpo: TRL's preference format (prompt/chosen/rejected), plus the consensus weight per pair. */
  preferences?: { prompt: string; chosen: string; rejected: string; weight: number }[];
  beta?: number;
  /** Continue from this checkpoint (a file the worker downloaded) at this step. */
  resume: { step: number; checkpointPath: string } | null;
  /** Where the process writes checkpoints and the final artifact; paths it reports are relative to it. */
  outputDir: string;
}

export interface ExternalMetrics {
  accuracy: number;
  macroF1: number;
  loss: number;
  examples: number;
}

export type ExternalEvent =
  | { type: 'progress'; step: number; totalSteps: number; epoch?: number; loss: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'log'; message: string }
  | {
      type: 'result';
      metrics?: ExternalMetrics;
      artifact?: string;
      outputs?: { promptId: string; outputs: { output: string; score: number }[] }[];
    };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Parses one stdout line; undefined for lines that are not well-formed protocol events (they are
 * kept as log, so a script printing stray JSON cannot derail the run).
 */
export function parseEvent(line: string): ExternalEvent | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(t) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!e || typeof e !== 'object') return undefined;
  switch (e.type) {
    case 'progress':
      // A loss can be NaN in JSON only as null; report it as NaN rather than dropping the step.
      if (!isNum(e.step) || !isNum(e.totalSteps)) return undefined;
      return {
        type: 'progress',
        step: e.step,
        totalSteps: e.totalSteps,
        epoch: isNum(e.epoch) ? e.epoch : undefined,
        loss: isNum(e.loss) ? e.loss : NaN,
      };
    case 'checkpoint':
      return isNum(e.step) && typeof e.path === 'string'
        ? { type: 'checkpoint', step: e.step, path: e.path }
        : undefined;
    case 'log':
      return { type: 'log', message: typeof e.message === 'string' ? e.message : JSON.stringify(e.message) };
    case 'result':
      return e as ExternalEvent;
    default:
      return undefined;
  }
}
