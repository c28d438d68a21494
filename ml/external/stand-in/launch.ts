/**
 * How a worker runs the stand-in trainer: this Node with the tsx loader (the script is TypeScript),
 * as COMMONS_TRAINER_COMMAND and COMMONS_TRAINER_ARGS.
 */
import { fileURLToPath } from 'node:url';

export const standInTrainer = {
  command: process.execPath,
  args: ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./trainer.ts', import.meta.url))],
};
