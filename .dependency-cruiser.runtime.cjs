/**
 * The run-time graph (type-only imports dropped): nothing a workflow imports may reach a Node
 * built-in, or the worker's workflow bundle fails to build (or worse, behaves differently in the
 * sandbox). The type-aware rules live in .dependency-cruiser.cjs.
 */
const { builtinModules } = require('node:module');
const base = require('./.dependency-cruiser.cjs');

module.exports = {
  forbidden: [
    {
      name: 'workflows-reach-no-node-builtins',
      comment: 'Workflow code and everything it imports at run time stays free of Node built-ins.',
      severity: 'error',
      from: { path: '^workflows/', pathNot: '\\.test\\.ts$' },
      to: { path: `^(node:)?(${builtinModules.join('|')})$`, reachable: true },
    },
  ],
  options: { ...base.options, tsPreCompilationDeps: false },
};
