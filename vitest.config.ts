import { defineConfig } from 'vitest/config';

// Two tiers. `unit`: pure tests, no services. `stack`: tests on one real stack (Temporal dev server,
// Postgres, S3) started once per run in globalSetup; a test needs it when it lives under test/ or is
// named *.stack.test.ts. COMMONS_STACK=skip runs the unit tier alone. Stack files run in parallel,
// each in its own database and Temporal namespace (test/support/isolation.ts); most of their time
// is spent waiting on workflows, so more files than cores keep the machine busy.
const stackFiles = ['test/**/*.test.ts', '**/*.stack.test.ts'];
const skipStack = process.env.COMMONS_STACK === 'skip';

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', ...stackFiles],
          testTimeout: 60_000,
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
                maxWorkers: 3,
              },
            },
          ]),
    ],
  },
});
