import { describe, expect, it } from 'vitest';
import { servedVersion, type ServingState } from './served-version.js';

const state = (over: Partial<ServingState> = {}): ServingState => ({
  status: 'serving',
  productionVersion: 3,
  versions: new Map([
    [1, 'superseded'],
    [2, 'abandoned'],
    [3, 'production'],
    [4, 'candidate'],
  ]),
  ...over,
});

describe('servedVersion (which version answers a paid call)', () => {
  it('serves the production version, and by number the production and superseded ones', () => {
    expect(servedVersion('m', state(), 'production')).toEqual({ version: 3 });
    expect(servedVersion('m', state(), 3)).toEqual({ version: 3 });
    expect(servedVersion('m', state(), 1)).toEqual({ version: 1 });
  });

  it('refuses candidate, abandoned and unknown versions with 404 and the reason', () => {
    expect(servedVersion('m', state(), 4)).toEqual({
      refused: 404,
      reason: 'model m has no serving version 4 (it is candidate)',
    });
    expect(servedVersion('m', state(), 2)).toEqual({
      refused: 404,
      reason: 'model m has no serving version 2 (it is abandoned)',
    });
    expect(servedVersion('m', state(), 9)).toEqual({ refused: 404, reason: 'model m has no serving version 9' });
    expect(servedVersion('m', undefined, 'production')).toEqual({ refused: 404, reason: 'no model m' });
    expect(servedVersion('m', state({ productionVersion: null }), 'production')).toMatchObject({ refused: 404 });
  });

  it('refuses every version of a retired model with 410, by version and as production', () => {
    const retired = state({
      status: 'retired',
      productionVersion: null,
      versions: new Map([
        [1, 'retired'],
        [3, 'retired'],
      ]),
    });
    for (const which of ['production', 1, 3] as const)
      expect(servedVersion('m', retired, which)).toEqual({ refused: 410, reason: 'model m is retired' });
    // A retired version left in a serving model (a restore in progress) is still gone.
    expect(servedVersion('m', state({ versions: new Map([[1, 'retired']]) }), 1)).toEqual({
      refused: 410,
      reason: 'version 1 of m is retired',
    });
  });
});
