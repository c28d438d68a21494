// Worker for the gpu-training task queue.
import { runWorkerMain } from './runtime.js';

await runWorkerMain(['training']);
