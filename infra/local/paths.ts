import { homedir } from 'node:os';
import { join } from 'node:path';

/** Built tools live outside the repo so every clone (and CI run) on a machine reuses them. */
export function cacheDir(): string {
  if (process.env.COMMONS_CACHE_DIR) return process.env.COMMONS_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(xdg, 'commons');
}

export const TEMPORAL_CLI_VERSION = '1.5.1';
// The server and UI server releases TEMPORAL_CLI_VERSION embeds (its go.mod): keep them in step.
export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const TEMPORAL_UI_SERVER_VERSION = '2.42.1';
export const VERSITYGW_VERSION = '1.8.0';
export const LOCAL_KMS_VERSION = '0.0.0-20260228092603-2a5e92d09ab6';
