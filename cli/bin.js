#!/usr/bin/env node
// Launcher for `commons`: registers tsx's ESM loader in this process, then runs the TypeScript
// entry point. tsx is resolved from this package, so it works from any working directory.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
