// Worker for the gpu-rlhf task queue.
import { runWorkerMain } from './runtime.js';

await runWorkerMain(['rlhf']);
