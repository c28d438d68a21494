import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { Context } from '@temporalio/activity';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { TASK_QUEUES } from '../../contracts/task-queues.js';
import type { LifecycleActivities } from '../../activities/lifecycle/activities.js';
import type { DataActivities } from '../../activities/data/activities.js';
import type { TrainingActivities } from '../../activities/training/activities.js';
import type { RecordReadActivities } from '../../activities/records/sealed-read.js';
import { namespaceOf } from './namespaces.js';
import { TRACING_OFF } from '../../infra/telemetry/tracing.js';
import { tracingWorkerOptions } from '../../infra/telemetry/temporal.js';

/** Every activity a workflow can call, by name: what the workers of the four task queues offer. */
type AllActivities = LifecycleActivities & DataActivities & RecordReadActivities & TrainingActivities;
export type ActivityName = {
  [K in keyof AllActivities]: AllActivities[K] extends (...args: never[]) => unknown ? K : never;
}[keyof AllActivities];
/** The input an activity is called with (every Commons activity takes one object). */
export type InputOf<K extends ActivityName> = Parameters<AllActivities[K]>[0];
/**
 * A mocked activity: the real activity's input, any answer the workflow can use (the tier checks
 * workflow logic, so a mock returns only the fields the workflow reads).
 */
export type MockActivity<K extends ActivityName> = (input: InputOf<K>) => unknown;
export type ActivityMocks = { [K in ActivityName]?: MockActivity<K> };

/** Which worker offers which activities (workers/runtime.ts registers the same factories). */
const QUEUE_OF: Record<'lifecycle' | 'data' | 'training', (keyof typeof TASK_QUEUES)[]> = {
  lifecycle: ['lifecycle'],
  data: ['data'],
  training: ['training', 'rlhf'],
};

export interface Call<K extends ActivityName = ActivityName> {
  name: K;
  input: InputOf<K>;
}

/**
 * One test's view of the workers: its mocks and its calls. Calls belong to the scope whose key is
 * the longest one contained in the calling workflow's id (a proposal id is in the ids of its
 * lifecycle, collection and review-round workflows and of its model's entity), so tests run
 * concurrently on the same workers without seeing each other's calls.
 */
export interface Scope {
  key: string;
  /** Replaces some of the file's default mocks for this scope. */
  mock(overrides: ActivityMocks): void;
  /** Every activity call of this scope, in the order the workers received them. */
  calls(): Call[];
  /** The inputs of one activity's calls in this scope. */
  inputs<K extends ActivityName>(name: K): InputOf<K>[];
}

export interface WorkflowTier {
  client: Client;
  namespace: string;
  /** A new scope keyed by a unique id (see uniqueId). */
  scope(key: string): Scope;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * Workers for the lifecycle, data and GPU task queues with mocked activities, on the tier's dev
 * server in the namespace of the calling test file, running the workflow bundle built once by
 * the global set-up. `defaults` lists every activity the file's workflows may call, grouped by the
 * worker that offers it (an activity left out is not registered: the workflow would retry it until
 * the test times out).
 */
export async function startWorkflowTier(
  testFileUrl: string,
  defaults: { lifecycle: ActivityMocks; data?: ActivityMocks; training?: ActivityMocks },
): Promise<WorkflowTier> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    // Activity failures and cancellations are the point of many tests here: keep the SDK's warnings
    // (its own and its core's) out of the output.
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
  }
  const namespace = namespaceOf(basename(fileURLToPath(testFileUrl)));
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: inject('workflowTemporalAddress'),
    namespace,
  });
  const all: ActivityMocks = { ...defaults.lifecycle, ...defaults.data, ...defaults.training };
  const scopes = new Map<string, { impl: ActivityMocks; log: Call[] }>();
  const scopeOf = (workflowId: string) => {
    let best: string | undefined;
    for (const key of scopes.keys()) if (workflowId.includes(key) && key.length > (best?.length ?? 0)) best = key;
    return best === undefined ? undefined : scopes.get(best);
  };
  const wrap = (mocks: ActivityMocks) =>
    Object.fromEntries(
      Object.keys(mocks).map((name) => [
        name,
        async (input: unknown) => {
          const s = scopeOf(Context.current().info.workflowExecution?.workflowId ?? '');
          s?.log.push({ name, input } as Call);
          const fn = (s?.impl ?? all)[name as ActivityName] as (i: unknown) => unknown;
          return await fn(input);
        },
      ]),
    );
  const workers: Worker[] = [];
  for (const [group, mocks] of Object.entries(defaults) as [keyof typeof QUEUE_OF, ActivityMocks][])
    for (const kind of QUEUE_OF[group])
      workers.push(
        await Worker.create({
          connection: env.nativeConnection,
          namespace,
          taskQueue: TASK_QUEUES[kind],
          activities: wrap(mocks),
          // The bundle holds the tracing interceptors, as in production: their span sink, dropping.
          ...(kind === 'lifecycle'
            ? { workflowBundle: { codePath: inject('workflowBundlePath') }, ...tracingWorkerOptions(TRACING_OFF) }
            : {}),
        }),
      );
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    client: env.client,
    namespace,
    scope(key) {
      if (scopes.has(key)) throw new Error(`scope ${key} exists already`);
      const s = { impl: { ...all }, log: [] as Call[] };
      scopes.set(key, s);
      return {
        key,
        mock(overrides) {
          s.impl = { ...s.impl, ...overrides };
        },
        calls: () => [...s.log],
        inputs: <K extends ActivityName>(name: K) =>
          s.log.filter((c): c is Call<K> => c.name === name).map((c) => c.input),
      };
    },
    async shutdown() {
      // Whatever a test left running (a failed test, a model entity) stops with its file.
      for await (const w of env.client.workflow.list({ query: 'ExecutionStatus = "Running"' }))
        await env.client.workflow
          .getHandle(w.workflowId, w.runId)
          .terminate('the test file is done')
          .catch(() => undefined);
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/** The reason a workflow gave for refusing an Update (its validator's message). */
export async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return err.cause?.message ?? err.message;
    throw err;
  }
  throw new Error('the update was accepted');
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`not reached within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

let counter = 0;
/** A workflow-id-safe id, unique within the run. */
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
