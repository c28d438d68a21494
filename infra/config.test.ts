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
      metricsCacheMs: 15_000,
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
      COMMONS_METRICS_CACHE_MS: '60000',
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
      metricsCacheMs: 60_000,
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

  it('gives each process its KEK capability: the key file (workers), the public file (the API), or AWS KMS', () => {
    expect(loadConfig(base).kek).toBeUndefined();
    expect(loadConfig({ ...base, COMMONS_KEK_PUBLIC_FILE: '/k/pub.json' }).kek).toEqual({
      kind: 'local',
      publicFile: '/k/pub.json',
    });
    expect(loadConfig({ ...base, COMMONS_KEK_FILE: '/k/kek.json' }).kek).toEqual({
      kind: 'local',
      keyFile: '/k/kek.json',
    });
    expect(
      loadConfig({ ...base, COMMONS_KEK: 'aws-kms', COMMONS_KMS_KEY_ID: 'alias/k', S3_REGION: 'eu-west-1' }).kek,
    ).toEqual({ kind: 'aws-kms', keyId: 'alias/k', region: 'eu-west-1' });
    expect(() => loadConfig({ ...base, COMMONS_KEK: 'aws-kms' })).toThrow(/COMMONS_KMS_KEY_ID/);
    expect(() => loadConfig({ ...base, COMMONS_KEK: 'local' })).toThrow(/COMMONS_KEK_FILE/);
    expect(() => loadConfig({ ...base, COMMONS_KEK: 'vault' })).toThrow(/COMMONS_KEK must be/);
  });
});
