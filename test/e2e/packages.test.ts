import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { buildPackages, REPO_ROOT } from '../../packages/build.js';
import type { InferResponse } from '../../api/schemas/models.js';
import type { ProposalResponse } from '../../api/schemas/proposals.js';

const run = promisify(execFile);
const FEE = 40n;

/**
 * @commons/client and @commons/cli as an app gets them: built, packed with `npm pack`, installed
 * from the tarballs into an empty directory outside the checkout, and used from there against a
 * served model.
 */
describe('the client and CLI packages, installed from their tarballs', () => {
  let app: TestApp;
  let dir: string;
  let appDir: string;
  let served: ScenarioResult;
  // npm's own settings for this test run (npm_config_*) are not the app's.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
  const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env, maxBuffer: 16 << 20 });
  const inApp = (file: string, args: string[]) => run(file, args, { cwd: appDir, env, maxBuffer: 16 << 20 });

  beforeAll(async () => {
    app = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'commons-packages-'));
    const packed: string[] = [];
    for (const pkg of await buildPackages(join(dir, 'build'))) {
      const { stdout } = await npm(['pack', pkg, '--pack-destination', dir, '--json'], dir);
      const [info] = JSON.parse(stdout) as { filename: string }[];
      if (!info) throw new Error(`npm pack ${pkg} printed no tarball`);
      packed.push(join(dir, info.filename));
    }
    appDir = join(dir, 'app');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...packed], appDir);

    const model = `packaged-${Date.now().toString(36)}`;
    served = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: model,
      modelName: model,
      records: 150,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '500',
        collection: { batchSize: 40, minAcceptedRecords: 30 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
        serving: { feePerCall: FEE.toString(), rewardPool: '300' },
      },
    });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs both packages at the project version, the client with no dependencies', () => {
    expect(readdirSync(join(appDir, 'node_modules/@commons')).sort()).toEqual(['cli', 'client']);
    const manifest = (name: string) =>
      JSON.parse(readFileSync(join(appDir, 'node_modules/@commons', name, 'package.json'), 'utf8')) as {
        version: string;
        dependencies?: Record<string, string>;
      };
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(manifest('client').version).toBe(root.version);
    expect(manifest('cli').version).toBe(root.version);
    // The client needs nothing beyond Node: installing it needs no registry.
    expect(manifest('client').dependencies).toBeUndefined();
  });

  it('imports the client from the installed package and makes a paid, attributed call', async () => {
    writeFileSync(
      join(appDir, 'call.js'),
      `import { CommonsClient, generateKeyPair } from '@commons/client';
const [api, model] = process.argv.slice(2);
const me = new CommonsClient(api, generateKeyPair());
await me.register(['app-builder']);
await me.faucet('OPEN', '1000');
const { apiKey } = await me.issueApiKey('packaged app');
const answer = await me.infer(model, 'free money click here to claim your prize now', apiKey);
console.log(JSON.stringify({ address: me.address, apiKey, answer }));
`,
    );
    const { stdout } = await inApp(process.execPath, ['call.js', app.url, served.modelName]);
    const { address, answer } = JSON.parse(stdout) as { address: string; answer: InferResponse };
    expect(answer).toMatchObject({ model: served.modelName, version: 1, fee: FEE.toString() });
    const contributors = new Set(served.contributors.map((c) => c.address));
    expect(answer.attribution.contributors.length).toBeGreaterThan(0);
    for (const a of answer.attribution.contributors) expect(contributors.has(a.contributor)).toBe(true);
    expect(await app.ledger.balance(address, 'OPEN')).toBe((1000n - FEE).toString());
    const [call] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from inference_calls where id = ${answer.callId}`;
    expect(call?.n).toBe(1);
  });

  it("type-checks an app against the installed declarations alone (the API's types, no server module)", async () => {
    writeFileSync(
      join(appDir, 'typed.ts'),
      `import { ApiError, CommonsClient, type InferResponse, type ProposalResponse } from '@commons/client';
export async function feeOf(c: CommonsClient, model: string, key: string): Promise<string> {
  const r: InferResponse = await c.infer(model, 'text', key);
  const p: ProposalResponse = await c.proposal('x');
  type Stage = 'proposed' | 'governance' | 'data-collection' | 'training' | 'rlhf' | 'deployment' | 'serving';
  const stage: Stage | undefined = p.lifecycle?.stage;
  // @ts-expect-error the declarations are the API's types, not any
  r.noSuchField;
  return r.fee + (stage ?? '') + (r.attribution.contributors[0]?.weight ?? 0) + String(new ApiError(404, null, 'GET /').status);
}
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const options = ['--strict', '--noEmit', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'false'];
    const types = ['--types', 'node', '--typeRoots', join(REPO_ROOT, 'node_modules/@types')];
    const r = await inApp(process.execPath, [tsc, ...options, ...types, 'typed.ts']).catch(
      (e: { stdout: string }) => e,
    );
    expect(r.stdout).toBe('');
  });

  it('runs the installed commons: status of a proposal, and a paid call', async () => {
    const commons = join(appDir, 'node_modules/.bin/commons');
    const apiFlag = ['--api', app.url];
    const { stdout: line } = await inApp(commons, [...apiFlag, 'status', served.proposalId]);
    expect(line).toMatch(/^\[#+\] 100% serving \(7\/7\) serving/);
    const { stdout: json } = await inApp(commons, [...apiFlag, '--json', 'status', served.proposalId]);
    expect(JSON.parse(json) as ProposalResponse).toMatchObject({ proposalId: served.proposalId, status: 'serving' });

    const payer = await participant(app.url, ['app-builder'], { OPEN: '500' });
    const { apiKey } = await payer.issueApiKey('cli');
    const { stdout: answer } = await inApp(commons, [
      ...apiFlag,
      'infer',
      served.modelName,
      'meeting notes attached for tomorrow',
      '--api-key',
      apiKey,
    ]);
    expect(answer).toContain(`(${served.modelName} v1; `);
    expect(answer).toContain(`fee ${FEE} OPEN)`);
    expect(answer).toContain('attributed to:');
    expect(await app.ledger.balance(payer.address, 'OPEN')).toBe((500n - FEE).toString());
  });
});
