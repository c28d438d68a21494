// Worker for the data-collection task queue.
import { runWorkerMain } from './runtime.js';

await runWorkerMain(['data']);
