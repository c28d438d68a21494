// Lint rules for Commons. Type-aware rules (floating promises above all: an unawaited ledger write
// or activity call is a lost effect) run on every TypeScript file; workflow files get the Temporal
// samples' sandbox restrictions on top.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Tests, benchmarks, the demo, the local stack and tool configs are dev-only: they may read the
// environment and run SQL of their own.
const devOnly = ['**/*.test.ts', 'test/**', 'bench/**', 'demo/**', 'infra/local/**', '*.config.ts'];

// Configuration is read in infra/config.ts only, so every variable is validated once, at start.
const configInOnePlace = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'Read configuration in infra/config.ts (CommonsConfig) and pass it in; process.env is read nowhere else.',
};
// SQL lives in db/ (a query module per aggregate). Outside db/ the only tagged templates were SQL.
const sqlMessage =
  'SQL lives in db/ (a query module per aggregate, CONTRIBUTING "Where code goes"): call one from here.';
const sqlInDb = [
  { selector: 'TaggedTemplateExpression', message: sqlMessage },
  { selector: "CallExpression[callee.property.name='unsafe']", message: sqlMessage },
];
const sqlClientAsType = {
  paths: [
    { name: 'postgres', allowTypeImports: true, message: sqlMessage },
    { name: 'drizzle-orm', importNames: ['sql'], message: sqlMessage },
  ],
};
// Entry points that hand the environment on: the CLI (injected into its commands) and the versions CLI.
const envEntryPoints = ['infra/config.ts', 'cli/**', 'infra/versioning/cli.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'db/migrations/**', '**/*.d.ts', 'packages/build/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Workflow handlers read state that the workflow body assigns later (after an activity).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: [...devOnly, 'db/**', ...envEntryPoints],
    rules: {
      'no-restricted-syntax': ['error', configInOnePlace, ...sqlInDb],
      'no-restricted-imports': ['error', sqlClientAsType],
    },
  },
  {
    files: ['db/**/*.ts'],
    ignores: devOnly,
    rules: { 'no-restricted-syntax': ['error', configInOnePlace] },
  },
  {
    files: envEntryPoints.map((f) => (f.endsWith('**') ? `${f}/*.ts` : f)),
    ignores: devOnly,
    rules: {
      'no-restricted-syntax': ['error', ...sqlInDb],
      'no-restricted-imports': ['error', sqlClientAsType],
    },
  },
  {
    // Plain JavaScript: the browser console, fixtures and this file. No type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CommonJS config files (dependency-cruiser reads only CommonJS).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['api/console/public/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no activity code
    // (types only), no I/O adapters.
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code cannot use Node built-ins; do it in an activity.',
          })),
          patterns: [
            {
              group: ['**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows import activity types only; call activities through proxyActivities.',
            },
            {
              group: ['**/db/**', '**/storage/**', '**/api/**', '**/ml/**', '**/infra/**'],
              message: 'No I/O adapters in workflow code.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
