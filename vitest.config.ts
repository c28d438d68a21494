import { defineConfig } from 'vitest/config';
import { WORKFLOW_TEST_GLOB } from './test/workflow-tier/namespaces.js';

// Three tiers. `unit`: pure tests, no services. `workflow`: workflow logic with mocked activities on
// one Temporal dev server and one workflow bundle per run (test/workflow-tier/global-setup.ts), files
// named *.workflow.test.ts. `stack`: tests on one real stack (Temporal dev server, Postgres, S3)
// started once per run in globalSetup; a test needs it when it lives under test/ or is named
// *.stack.test.ts. COMMONS_STACK=skip runs the unit and workflow tiers alone. Stack files run in
// parallel, each in its own database and Temporal namespace (test/support/isolation.ts); most of
// their time is spent waiting on workflows, so more files than cores keep the machine busy.
const stackFiles = ['test/**/*.test.ts', '**/*.stack.test.ts'];
const skipStack = process.env.COMMONS_STACK === 'skip';

export default defineConfig({
  test: {
    pool: 'forks',
    // One pool for every tier (vitest runs projects with different limits one after another).
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', ...stackFiles, WORKFLOW_TEST_GLOB],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'workflow',
          include: [WORKFLOW_TEST_GLOB],
          exclude: ['node_modules/**'],
          globalSetup: ['./test/workflow-tier/global-setup.ts'],
          // A file's tests mostly wait on the server, concurrently (describe.concurrent).
          maxConcurrency: 20,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      ...(skipStack
        ? []
        : [
            {
              test: {
                name: 'stack',
                include: stackFiles,
                exclude: ['node_modules/**'],
                globalSetup: ['./test/global-setup.ts'],
                setupFiles: ['./test/support/isolate-file.ts'],
                testTimeout: 120_000,
                hookTimeout: 300_000,
              },
            },
          ]),
    ],
  },
});
