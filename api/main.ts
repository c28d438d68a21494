// The HTTP API: REST, inference endpoint, reviewer console, OpenAPI at /docs.
import { startApi } from './bootstrap.js';

const api = await startApi();
api.app.log.info(`Commons API listening on ${api.url} (OpenAPI at ${api.url}/docs)`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void api.close().then(() => process.exit(0)));
