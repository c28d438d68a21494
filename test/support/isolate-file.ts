import { isolateFile } from './isolation.js';

// The stack tier's setup file (vitest.config.ts): runs in each file's process before the file loads.
await isolateFile();
