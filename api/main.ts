// The HTTP API: REST, inference endpoint, reviewer console, OpenAPI at /docs.
import { startApi } from './bootstrap.js';

const api = await startApi();
// Printed whatever the log level: supervisors and scripts wait for this line.
console.log(
  JSON.stringify({ level: 'info', msg: `Commons API listening on ${api.url}`, url: api.url, docs: `${api.url}/docs` }),
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void api.close().then(() => process.exit(0)));
