// Entry point of `commons` (cli/bin.js runs it through tsx).
import { run } from './commands.js';

process.exitCode = await run(process.argv.slice(2));
