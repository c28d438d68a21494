import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://localhost/commons' };

describe('loadConfig', () => {
  it('gives the defaults when the optional variables are unset', () => {
    const cfg = loadConfig(base);
    expect(cfg.api).toMatchObject({
      adminAddresses: [],
      contributionRate: { perSec: 200, burst: 2000 },
      liveReadTimeoutMs: 5000,
    });
    expect(cfg.logLevel).toBeUndefined();
    expect(cfg.workers).toEqual({ makeCurrent: false });
  });

  it('reads the API, worker and trainer variables', () => {
    const cfg = loadConfig({
      ...base,
      COMMONS_ADMIN_ADDRESSES: 'a,,b',
      COMMONS_CONTRIBUTION_RATE: '50',
      COMMONS_CONTRIBUTION_BURST: '300',
      COMMONS_LIVE_READ_TIMEOUT_MS: '250',
      COMMONS_LOG_LEVEL: 'ERROR',
      COMMONS_WORKER_METRICS_ADDRESS: '127.0.0.1:9464',
      COMMONS_WORKER_MAKE_CURRENT: '1',
      COMMONS_BUILD_ID: 'v7',
      COMMONS_TRAINER_COMMAND: 'python3',
      COMMONS_TRAINER_ARGS: 'train.py  --fast',
      COMMONS_INDEX_CACHE: '/var/cache/commons',
    });
    expect(cfg.api).toMatchObject({
      adminAddresses: ['a', 'b'],
      contributionRate: { perSec: 50, burst: 300 },
      liveReadTimeoutMs: 250,
    });
    expect(cfg.logLevel).toBe('error');
    expect(cfg.workers).toEqual({
      buildId: 'v7',
      metricsAddress: '127.0.0.1:9464',
      makeCurrent: true,
      externalTrainer: { command: 'python3', args: ['train.py', '--fast'] },
    });
    expect(cfg.attribution.indexCacheDir).toBe('/var/cache/commons');
  });

  it('refuses a bad value at start, naming the variable', () => {
    expect(() => loadConfig({ ...base, COMMONS_CONTRIBUTION_RATE: 'fast' })).toThrow(/COMMONS_CONTRIBUTION_RATE/);
    expect(() => loadConfig({ ...base, COMMONS_CONTRIBUTION_BURST: '0.5' })).toThrow(/COMMONS_CONTRIBUTION_BURST/);
    expect(() => loadConfig({ ...base, COMMONS_LIVE_READ_TIMEOUT_MS: '-1' })).toThrow(/COMMONS_LIVE_READ_TIMEOUT_MS/);
    expect(() => loadConfig({ ...base, COMMONS_LOG_LEVEL: 'loud' })).toThrow(/COMMONS_LOG_LEVEL/);
    expect(() => loadConfig({ ...base, COMMONS_TRAINER_ARGS: 'x.py' })).toThrow(/COMMONS_TRAINER_COMMAND/);
  });
});
