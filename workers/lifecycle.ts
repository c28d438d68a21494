// Worker for the lifecycle task queue.
import { runWorkerMain } from './runtime.js';

await runWorkerMain(['lifecycle']);
