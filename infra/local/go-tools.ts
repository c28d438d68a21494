import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, withLock } from './cache-lock.js';
import {
  cacheDir,
  LOCAL_KMS_VERSION,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_SERVER_VERSION,
  VERSITYGW_VERSION,
} from './paths.js';

interface GoTool {
  name: string;
  envOverride: string;
  version: string;
  module: string;
  /** The name `go install` gives the binary, when it is not `name` (the last element of the package path). */
  binary?: string;
  ldflags?: string;
  /**
   * The package to build inside the downloaded module, for modules whose go.mod has replace
   * directives (`go install` refuses them): `go mod download`, then `go build` in its directory.
   */
  buildInModule?: string;
}

type ToolName =
  'temporal' | 'versitygw' | 'local-kms' | 'temporal-server' | 'temporal-sql-tool' | 'temporal-ui-server' | 'jaeger';

const TOOLS: Record<ToolName, GoTool> = {
  temporal: {
    name: 'temporal',
    envOverride: 'TEMPORAL_CLI_PATH',
    version: TEMPORAL_CLI_VERSION,
    // v1.5.1 is the last tag whose go.mod has no replace directive, so `go install` works.
    module: `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
    ldflags: `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
  },
  versitygw: {
    name: 'versitygw',
    envOverride: 'VERSITYGW_PATH',
    version: VERSITYGW_VERSION,
    module: `github.com/versity/versitygw/cmd/versitygw@v${VERSITYGW_VERSION}`,
  },
  // An AWS KMS API over local files: the AWS KMS KEK is tested against it (no tagged release exists).
  'local-kms': {
    name: 'local-kms',
    envOverride: 'LOCAL_KMS_PATH',
    version: LOCAL_KMS_VERSION,
    module: `github.com/nsmithuk/local-kms@v${LOCAL_KMS_VERSION}`,
  },
  // The real Temporal server, its SQL schema tool and the UI server, at the releases the pinned CLI
  // embeds (its go.mod), so both servers the stack can run are the same code (infra/local/temporal-server.ts).
  'temporal-server': {
    name: 'temporal-server',
    envOverride: 'TEMPORAL_SERVER_PATH',
    version: TEMPORAL_SERVER_VERSION,
    module: `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
    binary: 'server',
  },
  'temporal-sql-tool': {
    name: 'temporal-sql-tool',
    envOverride: 'TEMPORAL_SQL_TOOL_PATH',
    version: TEMPORAL_SERVER_VERSION,
    module: `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
    binary: 'sql',
  },
  'temporal-ui-server': {
    name: 'temporal-ui-server',
    envOverride: 'TEMPORAL_UI_SERVER_PATH',
    version: TEMPORAL_UI_SERVER_VERSION,
    module: `github.com/temporalio/ui-server/v2/cmd/server@v${TEMPORAL_UI_SERVER_VERSION}`,
    binary: 'server',
  },
  // Jaeger v2 (the trace backend of the local stack); its Go module tags v2 releases as v1.x (v1.76.0 is Jaeger 2.13).
  jaeger: {
    name: 'jaeger',
    envOverride: 'JAEGER_PATH',
    version: '1.76.0',
    module: 'github.com/jaegertracing/jaeger@v1.76.0',
    buildInModule: './cmd/jaeger',
  },
};

/** `go build` of one package of a module from its downloaded copy (replace directives apply there). */
async function buildInModule(tool: GoTool, out: string, env: NodeJS.ProcessEnv): Promise<void> {
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', tool.module], { env, encoding: 'utf8' })) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir) throw new Error(`go mod download ${tool.module}: ${info.Error ?? 'no directory'}`);
  await run('go', ['-C', info.Dir, 'build', '-trimpath', '-o', out, tool.buildInModule!], env);
}

/**
 * Returns the path of a built Go tool, building it with `go install` into the cache on first use.
 * The environment override (TEMPORAL_CLI_PATH, VERSITYGW_PATH, …) wins when set.
 */
export async function ensureGoTool(which: ToolName, log: (m: string) => void = console.log): Promise<string> {
  const tool = TOOLS[which];
  const override = process.env[tool.envOverride];
  if (override) return override;
  const binDir = join(cacheDir(), 'bin');
  const target = join(binDir, `${tool.name}-${tool.version}`);
  if (existsSync(target)) return target;
  mkdirSync(binDir, { recursive: true });
  return withLock(`${target}.lock`, async () => {
    if (existsSync(target)) return target;
    const gobin = join(cacheDir(), `build-${tool.name}-${process.pid}`);
    log(`building ${tool.name} ${tool.version} with go (first run only, a few minutes)…`);
    const started = Date.now();
    const env = { ...process.env, CGO_ENABLED: '0', GOBIN: gobin, GOFLAGS: '-buildvcs=false' };
    if (tool.buildInModule) await buildInModule(tool, join(gobin, tool.binary ?? tool.name), env);
    else {
      const args = ['install'];
      if (tool.ldflags) args.push('-ldflags', tool.ldflags);
      args.push(tool.module);
      await run('go', args, env);
    }
    renameSync(join(gobin, tool.binary ?? tool.name), target);
    rmSync(gobin, { recursive: true, force: true });
    log(`built ${tool.name} in ${Math.round((Date.now() - started) / 1000)}s → ${target}`);
    return target;
  });
}
