import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { modelStatusQuery, promoteVersionUpdate, retireUpdate, rollbackUpdate } from '../contracts/messages.js';
import { ModelNameKey, ModelStatusKey } from '../contracts/search-attributes.js';
import {
  initialModelState,
  nextEpochAfter,
  rollbackRefusal,
  type ModelEntityInput,
  type ModelEntityState,
  type VersionChange,
} from '../domain/serving/model-entity.js';
import { lifecycle } from './activity-proxies.js';

/** History size at which the entity continues as new (each epoch adds about a dozen events). */
const MAX_HISTORY_EVENTS = 2000;

/**
 * `model-<name>`: a served model outlives the lifecycle run that first promoted it. It owns the
 * production version (promotions from lifecycles and rollbacks from the API are Updates, applied
 * one at a time), settles the model's accrued rewards to its contributors every epoch, retires the
 * model on request, and continues as new to keep its history bounded.
 */
export async function modelWorkflow(input: ModelEntityInput): Promise<ModelEntityState> {
  const { modelName, developer, settlementPeriodMs } = input;
  const state: ModelEntityState = input.state ?? initialModelState();
  let busy = false;
  let retireRequest: { reason: string } | undefined;

  const publish = () => {
    upsertSearchAttributes([
      { key: ModelNameKey, value: modelName },
      { key: ModelStatusKey, value: state.status },
    ]);
    const summary = `${modelName}: ${state.status}${state.productionVersion ? `, v${state.productionVersion} in production` : ''}`;
    upsertMemo({ summary, status: state.status, productionVersion: state.productionVersion ?? null });
    setCurrentDetails(
      `**${state.status}** — production v${state.productionVersion ?? '-'}; ${state.versions.length} version(s); ` +
        `epoch ${state.epoch}${state.lastEpoch ? ` paid ${state.lastEpoch.paid} OPEN to ${state.lastEpoch.recipients}` : ''}` +
        (state.lastEpoch?.receipts
          ? `; receipts root ${state.lastEpoch.receipts.root} (${state.lastEpoch.receipts.size})`
          : ''),
    );
  };
  /** Version changes and epochs run one at a time: the production version never moves mid-epoch. */
  const serially = async <T>(fn: () => Promise<T>): Promise<T> => {
    await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  };

  setHandler(
    promoteVersionUpdate,
    ({ version, proposalId }) =>
      serially(async (): Promise<VersionChange> => {
        const r = await lifecycle.setProductionVersion({ modelName, version, developer, proposalId });
        if (!state.versions.some((v) => v.version === version))
          state.versions.push({ version, proposalId, at: Date.now() });
        state.productionVersion = version;
        publish();
        return { productionVersion: version, previous: r.previous };
      }),
    {
      validator: ({ version }) => {
        if (state.status === 'retired' || retireRequest) throw new Error(`model ${modelName} is retired`);
        if (!Number.isInteger(version) || version < 1) throw new Error(`bad version ${version}`);
      },
    },
  );
  setHandler(
    rollbackUpdate,
    ({ version }) =>
      serially(async (): Promise<VersionChange> => {
        const r = await lifecycle.setProductionVersion({ modelName, version, developer, proposalId: '' });
        state.productionVersion = version;
        publish();
        return { productionVersion: version, previous: r.previous };
      }),
    {
      validator: ({ version }: { version: number }) => {
        const refusal = retireRequest ? 'the model is being retired' : rollbackRefusal(state, { version });
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(
    retireUpdate,
    async ({ reason }) => {
      retireRequest = { reason };
      await condition(() => state.status === 'retired');
      return { retired: true as const };
    },
    {
      validator: ({ reason }) => {
        if (state.status === 'retired' || retireRequest) throw new Error(`model ${modelName} is already retired`);
        if (!reason) throw new Error('a reason for the retirement is required');
      },
    },
  );
  setHandler(modelStatusQuery, () => ({ ...state, modelName, developer, settlementPeriodMs }));

  publish();
  state.nextEpochAt ??= Date.now() + settlementPeriodMs;
  while (!retireRequest) {
    await condition(() => retireRequest !== undefined, Math.max(1, state.nextEpochAt - Date.now()));
    if (retireRequest) break;
    if (Date.now() >= state.nextEpochAt) {
      const epoch = state.epoch + 1;
      await serially(async () => {
        try {
          const r = await lifecycle.settleModelEpoch({ modelName, epoch });
          // Recording the receipt root adds no command: it is the activity's result, kept in state.
          state.lastEpoch = {
            epoch,
            paid: r.paid,
            recipients: r.recipients,
            at: Date.now(),
            ...(r.receipts ? { receipts: r.receipts } : {}),
          };
        } catch (err) {
          // An epoch that cannot settle (say, nothing in production) is retried next period; the
          // entity itself never fails because of it.
          log.warn('reward epoch not settled', { modelName, epoch, error: String(err) });
        }
      });
      state.epoch = epoch;
      state.nextEpochAt = nextEpochAfter(state.nextEpochAt, Date.now(), settlementPeriodMs);
      publish();
    }
    const info = workflowInfo();
    if (info.historyLength > (input.maxHistoryEvents ?? MAX_HISTORY_EVENTS) || info.continueAsNewSuggested) {
      // Finish every promotion or rollback in flight first: an Update must not be cut off by the
      // run ending (its caller would see it fail), and the state they change is what is carried.
      await condition(() => !busy && allHandlersFinished());
      if (!retireRequest) await continueAsNew<typeof modelWorkflow>({ ...input, state });
    }
  }

  await serially(() => lifecycle.retireModel({ modelName }));
  state.status = 'retired';
  state.retiredReason = retireRequest.reason;
  state.productionVersion = undefined;
  publish();
  await condition(allHandlersFinished);
  return state;
}
