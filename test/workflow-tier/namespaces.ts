/** The workflow tier's test files (vitest.config.ts includes the same). */
export const WORKFLOW_TEST_GLOB = 'workflows/**/*.workflow.test.ts';

/** Each workflow test file runs in its own namespace, named after the file. */
export function namespaceOf(fileName: string): string {
  return `wf-${fileName.replace(/\.workflow\.test\.ts$/, '')}`;
}
