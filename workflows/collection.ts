import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { closeWindowSignal, collectionProgressQuery } from '../contracts/messages.js';
import { data, DATA_OPTIONS } from './activity-proxies.js';
import type { CollectionState, DatanetSpecInput, LifecycleParams } from '../domain/lifecycle/types.js';

/** History size at which the window phase continues as new (scoring runs stay near 1,200 at 40 batches). */
const WINDOW_RUN_MAX_EVENTS = 1500;
const DEFAULT_CURATION_REVIEW_MS = 24 * 3600_000;

export interface CollectionInput {
  proposalId: string;
  datanetId: string;
  modelName: string;
  domain: string;
  description: string;
  labels: string[];
  spec: DatanetSpecInput;
  params: LifecycleParams['collection'];
  /** Carried across continue-as-new. */
  progress?: CollectionProgress;
}

export interface CollectionProgress {
  phase: 'window' | 'scoring' | 'dedupe' | 'done';
  /** First seq of the Datanet: batches start here in both passes, so they cover the same ranges. */
  firstSeq: number;
  windowClosesAt?: number;
  /** A close-window signal was received (carried across continue-as-new so it is never lost). */
  closeRequested?: boolean;
  /** Scoring: records with seq <= cursor have been scored. */
  cursor: number;
  maxSeq: number;
  received: number;
  scored: number;
  accepted: number;
  /** Curated Datanets: when the wait for curators' decisions ends (set when it starts). */
  reviewUntil?: number;
}

export interface CollectionResult extends Required<
  Pick<CollectionState, 'datanetId' | 'datasetVersionId' | 'merkleRoot' | 'manifestKey'>
> {
  received: number;
  accepted: number;
  contributors: number;
}

/**
 * The Datanet round: keeps the window open until its deadline or target count, then fans scoring
 * out over the contributions in seq-ordered batches (bounded parallelism) on the data-collection
 * queue, continuing as new every `batchesPerRun` batches so history stays small at any size.
 */
export async function collectionWorkflow(input: CollectionInput): Promise<CollectionResult> {
  const p = input.params;
  const progress: CollectionProgress = input.progress ?? {
    phase: 'window',
    firstSeq: 1,
    cursor: 0,
    maxSeq: 0,
    received: 0,
    scored: 0,
    accepted: 0,
  };
  // The signal's effect lives in `progress`, which every continue-as-new carries into the next run.
  const closeRequested = () => progress.closeRequested === true;
  setHandler(closeWindowSignal, () => {
    progress.closeRequested = true;
  });
  setHandler(collectionProgressQuery, () => ({ ...progress, targetCount: p.targetCount }));

  if (progress.phase === 'window') {
    if (progress.windowClosesAt === undefined) {
      progress.windowClosesAt = Date.now() + p.windowMs;
      await data.openDatanet({
        proposalId: input.proposalId,
        datanetId: input.datanetId,
        spec: input.spec,
        targetCount: p.targetCount,
        closesAt: progress.windowClosesAt,
      });
    }
    // Poll the count rather than signal per contribution: a million signals would swamp history.
    for (;;) {
      progress.received = await data.countContributions({ datanetId: input.datanetId });
      setCurrentDetails(`Datanet ${input.datanetId}: ${progress.received}/${p.targetCount} contributions`);
      if (closeRequested() || progress.received >= p.targetCount || Date.now() >= progress.windowClosesAt) break;
      const wait = Math.min(p.pollIntervalMs, progress.windowClosesAt - Date.now());
      await condition(closeRequested, Math.max(1, wait));
      // Each poll adds ~11 events; a long window continues as new at a fixed history size (the
      // 1M bench's window run reached 5,533 events when this was a count of 500 polls).
      const info = workflowInfo();
      if (info.historyLength > (p.windowRunMaxEvents ?? WINDOW_RUN_MAX_EVENTS) || info.continueAsNewSuggested) {
        // Signal handlers are synchronous, but wait for any in flight so none is cut off.
        await condition(allHandlersFinished);
        await continueAsNew<typeof collectionWorkflow>({ ...input, progress });
      }
    }
    const range = await data.closeDatanet({ datanetId: input.datanetId });
    progress.phase = 'scoring';
    progress.received = range.count;
    progress.maxSeq = range.maxSeq;
    progress.firstSeq = range.minSeq;
    progress.cursor = range.minSeq - 1;
  }

  // Two fan-out passes over the same seq-aligned batches: score (schema, quality, relevance, LSH
  // band claims), then dedupe once every band owner is final. Each batch is idempotent.
  let batchesThisRun = 0;
  while (progress.phase !== 'done') {
    if (progress.cursor >= progress.maxSeq) {
      if (progress.phase === 'scoring') {
        progress.phase = 'dedupe';
        progress.cursor = progress.firstSeq - 1;
        progress.accepted = 0;
        continue;
      }
      progress.phase = 'done';
      break;
    }
    const wave: Promise<number>[] = [];
    for (let i = 0; i < p.parallelism && progress.cursor < progress.maxSeq; i++) {
      const fromSeq = progress.cursor + 1;
      const toSeq = Math.min(progress.maxSeq, progress.cursor + p.batchSize);
      progress.cursor = toSeq;
      wave.push(
        progress.phase === 'scoring'
          ? data.scoreBatch
              .executeWithOptions({ ...DATA_OPTIONS, summary: `Score contributions ${fromSeq}–${toSeq}` }, [
                {
                  datanetId: input.datanetId,
                  fromSeq,
                  toSeq,
                  spec: input.spec,
                  domain: input.domain,
                  description: input.description,
                  labels: input.labels,
                  keywords: p.keywords,
                  minQuality: p.minQuality,
                  minRelevance: p.minRelevance,
                },
              ])
              .then((r) => {
                progress.scored += r.scored;
                return r.accepted;
              })
          : data.dedupeBatch
              .executeWithOptions({ ...DATA_OPTIONS, summary: `Dedupe contributions ${fromSeq}–${toSeq}` }, [
                { datanetId: input.datanetId, fromSeq },
              ])
              .then((r) => r.accepted),
      );
    }
    for (const accepted of await Promise.all(wave)) progress.accepted += accepted;
    batchesThisRun += wave.length;
    setCurrentDetails(
      `${progress.phase} ${input.datanetId}: ${progress.scored}/${progress.received} scored, ${progress.accepted} passing`,
    );
    if (batchesThisRun >= p.batchesPerRun) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof collectionWorkflow>({ ...input, progress });
    }
  }

  // A Datanet that requires approval holds its build until curators have decided every record that
  // passed scoring, or its review time is up (undecided records then stay out: awaiting-approval).
  if (input.spec.access?.curation?.requireApproval === true) {
    progress.reviewUntil ??= Date.now() + (input.spec.access.curation.reviewMs ?? DEFAULT_CURATION_REVIEW_MS);
    for (;;) {
      const waiting = await data.countAwaitingApproval({ datanetId: input.datanetId });
      setCurrentDetails(`Datanet ${input.datanetId}: ${waiting} records awaiting a curator's decision`);
      if (waiting === 0 || Date.now() >= progress.reviewUntil) break;
      await sleep(Math.max(1, Math.min(p.pollIntervalMs, progress.reviewUntil - Date.now())));
      const info = workflowInfo();
      if (info.historyLength > (p.windowRunMaxEvents ?? WINDOW_RUN_MAX_EVENTS) || info.continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof collectionWorkflow>({ ...input, progress });
      }
    }
  }

  const dataset = await data.buildDataset({ proposalId: input.proposalId, datanetId: input.datanetId });
  return {
    datanetId: input.datanetId,
    datasetVersionId: dataset.datasetVersionId,
    merkleRoot: dataset.merkleRoot,
    manifestKey: dataset.manifestKey,
    received: progress.received,
    accepted: dataset.recordCount,
    contributors: dataset.contributors,
  };
}
