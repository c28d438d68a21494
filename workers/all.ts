// All four task queues in one process (local development and the demo).
import { runWorkerMain } from './runtime.js';

await runWorkerMain(['lifecycle', 'data', 'training', 'rlhf']);
