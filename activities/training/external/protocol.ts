/**
 * The contract between the worker and an external trainer process (a GPU script): the worker
 * writes a job spec as JSON and runs `command ...args job.json`; the process writes JSON lines to
 * stdout. Anything else it prints is kept as log.
 */
export type ExternalTask = 'sft' | 'generate' | 'dpo';

export interface ExternalJobSpec {
  task: ExternalTask;
  /** Local paths of the inputs the worker downloaded from S3. */
  inputs: { dataset?: string; eval?: string; base?: string; model?: string; policy?: string; reference?: string };
  labels?: string[];
  hyperparams: Record<string, number>;
  /** generate: prompts to answer. */
  prompts?: { id: string; text: string }[];
  candidatesPerPrompt?: number;
  /** dpo: TRL's preference format, plus a weight per pair. */
  preferences?: { prompt: string; chosen: string; rejected: string; weight: number }[];
  beta?: number;
  /** Continue from this checkpoint (a file the worker downloaded) at this step. */
  resume: { step: number; checkpointPath: string } | null;
  /** Where the process writes checkpoints and the final artifact. */
  outputDir: string;
}

export type ExternalEvent =
  | { type: 'progress'; step: number; totalSteps: number; epoch?: number; loss: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'log'; message: string }
  | {
      type: 'result';
      metrics?: { accuracy: number; macroF1: number; loss: number; examples: number };
      artifact?: string;
      outputs?: { promptId: string; outputs: { output: string; score: number }[] }[];
    };

/** Parses one stdout line; undefined for lines that are not protocol events. */
export function parseEvent(line: string): ExternalEvent | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const e = JSON.parse(t) as ExternalEvent;
    return typeof e === 'object' && e && typeof e.type === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}
