import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './app.js';
import { startStandIn, type StandInServer } from '../../ml/external/stand-in/server.js';
import { standInTrainer } from '../../ml/external/stand-in/launch.js';
import { runGenerativeScenario, type GenerativeScenarioResult } from '../../scenarios/generative-scenario.js';

/**
 * External models on the test stack, as production serves them: the API answers them through an
 * OpenAI-compatible upstream (here the generating stand-in, ml/external/stand-in/) and the GPU
 * workers train them with an external trainer (here the stand-in trainer, through the same
 * protocol as the reference LoRA script).
 */
export interface UpstreamTestApp extends TestApp {
  /** The stand-in upstream the API's `inferenceUpstream` points at. */
  upstream: StandInServer;
}

/** The settings that point a system at the stand-in upstream and trainer. */
export function standInEnv(upstreamUrl: string, adapterDir: string): Record<string, string> {
  return {
    COMMONS_INFERENCE_UPSTREAM_URL: upstreamUrl,
    COMMONS_UPSTREAM_ADAPTER_DIR: adapterDir,
    COMMONS_TRAINER_COMMAND: standInTrainer.command,
    COMMONS_TRAINER_ARGS: standInTrainer.args.join(' '),
  };
}

/** `startTestApp` with the stand-in upstream started first and stopped by `close`. */
export async function startTestAppWithUpstream(
  opts: Parameters<typeof startTestApp>[0] = {},
): Promise<UpstreamTestApp> {
  const upstream = await startStandIn();
  const adapterDir = mkdtempSync(join(tmpdir(), 'commons-adapters-'));
  const stopUpstream = async () => {
    await upstream.close();
    rmSync(adapterDir, { recursive: true, force: true });
  };
  try {
    const app = await startTestApp({ ...opts, env: { ...standInEnv(upstream.url, adapterDir), ...opts.env } });
    const closeApp = app.close.bind(app);
    return Object.assign(app, {
      upstream,
      async close() {
        await closeApp();
        await stopUpstream();
      },
    });
  } catch (err) {
    await stopUpstream();
    throw err;
  }
}

export interface ExternalGenerationModel {
  proposalId: string;
  modelName: string;
  /** An app builder's API key with funds for paid calls. */
  apiKey: string;
  /** Everything the lifecycle made (participants, corpus, the scenario's own completions). */
  scenario: GenerativeScenarioResult;
}

/**
 * An external GENERATION model with a production version served by the stand-in upstream, made by
 * the real lifecycle (proposal, votes, a chat Datanet, the stand-in trainer, a review round,
 * promotion) on an app from `startTestAppWithUpstream`. About as long as test/e2e/generative.test.ts.
 */
export async function externalGenerationModel(
  app: UpstreamTestApp,
  o: { id?: string; perTopic?: number; log?: (line: string) => void } = {},
): Promise<ExternalGenerationModel> {
  const proposalId = o.id ?? `ext-${Date.now().toString(36)}`;
  const modelName = `m-${proposalId}`;
  const scenario = await runGenerativeScenario({
    baseUrl: app.url,
    log: o.log ?? (() => {}),
    proposalId,
    modelName,
    perTopic: o.perTopic ?? 14,
    contributors: 3,
    pollMs: 300,
    params: { stake: '500', training: { trainer: 'external' } },
  });
  return { proposalId, modelName, apiKey: scenario.apiKey, scenario };
}
