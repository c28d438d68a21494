// Entry point of `commons`: packages/build.ts bundles it into the @commons/cli package, whose bin
// the repository's own `npx commons` runs too (npm run build:packages, or npm ci's prepare).
import { run } from './commands.js';

process.exitCode = await run(process.argv.slice(2));
