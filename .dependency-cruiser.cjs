/**
 * The direction of every dependency between Commons' top-level folders (README "Architecture").
 * `npm run lint` runs this; a change that points an arrow the wrong way fails CI.
 */

/** Each layer and the folders it may import from (besides itself and npm packages). */
const allowed = {
  domain: [],
  contracts: ['domain'],
  identity: [],
  storage: ['infra'],
  db: ['domain', 'contracts'],
  datasets: ['domain', 'contracts', 'db', 'storage'],
  ml: ['domain', 'contracts', 'storage'],
  workflows: ['domain', 'contracts', 'activities'],
  activities: ['domain', 'contracts', 'ml', 'db', 'storage', 'datasets', 'infra'],
  api: ['domain', 'contracts', 'ml', 'db', 'storage', 'datasets', 'identity', 'infra', 'workflows', 'mcp'],
  client: ['api', 'identity', 'contracts', 'domain'],
  cli: ['client', 'api', 'identity', 'contracts', 'domain', 'mcp'],
  // The MCP server: each tool is a request of the HTTP API (signed with identity/), served over stdio and in the API;
  // it checks receipts with domain/'s rule.
  mcp: ['api', 'identity', 'domain'],
  infra: ['domain', 'contracts', 'db', 'storage'],
  workers: ['domain', 'contracts', 'ml', 'db', 'storage', 'datasets', 'infra', 'activities', 'workflows'],
  // The local harness starts the whole system (services, workers, API) for tests, benches and the demo.
  'infra/local': ['domain', 'contracts', 'db', 'storage', 'infra', 'workers', 'api'],
  // Simulated participants driving lifecycles through the public API: tests, benches and the demo.
  scenarios: ['domain', 'contracts', 'identity', 'client', 'ml', 'api', 'cli'],
};
const layers = Object.keys(allowed);
/** Layers inside another layer's folder (infra/local in infra): the outer layer's rule skips them. */
const nested = (layer) => layers.filter((l) => l.startsWith(`${layer}/`));

module.exports = {
  forbidden: [
    ...layers.map((layer) => ({
      name: `${layer}-imports-only-its-layers`,
      comment: `${layer}/ may import from ${allowed[layer].join(', ') || 'nothing else in the repo'} (README "Architecture").`,
      severity: 'error',
      from: { path: `^${layer}/`, pathNot: ['\\.test\\.ts$', ...nested(layer).map((l) => `^${l}/`)] },
      to: {
        path: `^(${layers.filter((l) => l !== layer && !allowed[layer].includes(l) && !(layer === 'domain' && l === 'contracts')).join('|')})/`,
      },
    })),
    {
      name: 'domain-uses-plain-names-only',
      comment: 'domain/ may use the plain names in contracts/ (accounts, ids, queues), not Temporal definitions.',
      severity: 'error',
      from: { path: '^domain/' },
      to: { path: '^contracts/(?!(accounts|workflow-ids|task-queues)\\.ts$)' },
    },
    {
      name: 'domain-has-no-io',
      comment: 'domain/ is pure: no Node built-ins except crypto (hashing, the record envelope).',
      severity: 'error',
      from: { path: '^domain/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'workflows-are-deterministic',
      comment: "Workflow code runs in Temporal's sandbox: no Node built-ins, directly or through what it imports.",
      severity: 'error',
      from: { path: '^(workflows|contracts)/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflows-import-activity-types-only',
      comment: 'Workflows call activities through proxyActivities; they import activity types only.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'api-starts-workflows-by-reference-only',
      comment: 'The API imports workflow functions from workflows/index.ts only (to start them by reference).',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^workflows/(?!index\\.ts$)' },
    },
    {
      name: 'client-imports-api-schemas-types-only',
      comment: 'The HTTP client takes its types from the API schemas and nothing else from the server.',
      severity: 'error',
      from: { path: '^(client|cli|scenarios)/' },
      to: { path: '^api/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'mcp-imports-api-types-only',
      comment:
        'The MCP server acts through the HTTP API: it takes types from the API schemas and nothing else from the server.',
      severity: 'error',
      from: { path: '^mcp/' },
      to: { path: '^api/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|db/migrations)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    combinedDependencies: false,
  },
};
