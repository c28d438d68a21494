// `npm run build`: what the images run (infra/Dockerfile, infra/Dockerfile.gpu). TypeScript is
// compiled to dist/ (tsconfig.build.json), the files the compiled code reads beside itself are
// copied there, and the workflow code is bundled once into dist/, where the workers load it.
// Tests and the dev tools keep running the sources through tsx.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowInterceptorModules } from '../telemetry/temporal.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const OUT_DIR = 'dist';
const workflowsPath = join(repoRoot, 'workflows', 'index.ts');
/** Where workers/runtime.ts looks for the bundle: beside the compiled workers (its WORKFLOW_BUNDLE_FILE). */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * Folders the compiled code opens relative to its own file (`new URL('./x', import.meta.url)`):
 * the migrations the migrate Job applies and the console's static files.
 * infra/manifests.test.ts checks that every such path in the production code is listed.
 */
export const RUNTIME_ASSETS = ['db/migrations', 'api/console/public'];

async function build(): Promise<void> {
  const out = resolve(repoRoot, OUT_DIR);
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  for (const asset of RUNTIME_ASSETS) cpSync(join(repoRoot, asset), join(out, asset), { recursive: true });
  // The tracing interceptors go into the bundle: a worker loading a prebuilt bundle cannot add them.
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules });
  writeFileSync(join(out, WORKFLOW_BUNDLE_FILE), code);
  console.log(`built ${OUT_DIR}/ (compiled code, ${RUNTIME_ASSETS.join(', ')}, ${WORKFLOW_BUNDLE_FILE})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await build();
