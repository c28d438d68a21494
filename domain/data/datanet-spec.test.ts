import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  DatanetSpecSchema,
  isEncrypted,
  validateRecord,
  validateSpec,
  visibilityOf,
  type DatanetSpec,
} from './datanet-spec.js';

const SPEC: DatanetSpec = {
  fields: [
    { name: 'text', type: 'string', required: true, minLength: 5, maxLength: 200 },
    { name: 'label', type: 'enum', required: true, values: ['spam', 'ham'] },
    { name: 'lang', type: 'string', maxLength: 5 },
    { name: 'score', type: 'number', min: 0, max: 1 },
    { name: 'count', type: 'integer', min: 1 },
    { name: 'verified', type: 'boolean' },
  ],
  textField: 'text',
  labelField: 'label',
  maxRecordBytes: 1024,
};

const errorsOf = (payload: unknown, spec: DatanetSpec = SPEC): string[] => {
  const r = validateRecord(spec, payload);
  return r.ok ? [] : r.errors;
};

describe('validateSpec', () => {
  it('accepts a well-formed spec, and the TypeBox schema agrees', () => {
    expect(validateSpec(SPEC)).toEqual([]);
    expect(Value.Check(DatanetSpecSchema, SPEC)).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['non-object', 'nope', /must be an object/],
    ['no fields', { fields: [], textField: 'x' }, /non-empty array/],
    [
      'unknown textField',
      { fields: [{ name: 'a', type: 'string' }], textField: 'b' },
      /textField "b" is not a declared field/,
    ],
    [
      'non-string textField',
      { fields: [{ name: 'a', type: 'number' }], textField: 'a' },
      /must be a string or messages field/,
    ],
    [
      'duplicate field',
      {
        fields: [
          { name: 'a', type: 'string' },
          { name: 'a', type: 'string' },
        ],
        textField: 'a',
      },
      /declared more than once/,
    ],
    ['bad type', { fields: [{ name: 'a', type: 'date' }], textField: 'a' }, /type must be one of/],
    [
      'enum without values',
      {
        fields: [
          { name: 't', type: 'string' },
          { name: 'l', type: 'enum' },
        ],
        textField: 't',
      },
      /needs a non-empty values list/,
    ],
    [
      'enum duplicates',
      {
        fields: [
          { name: 't', type: 'string' },
          { name: 'l', type: 'enum', values: ['x', 'x'] },
        ],
        textField: 't',
      },
      /duplicates/,
    ],
    [
      'values on a string',
      { fields: [{ name: 't', type: 'string', values: ['x'] }], textField: 't' },
      /values only applies to enum/,
    ],
    [
      'min > max',
      {
        fields: [
          { name: 't', type: 'string' },
          { name: 'n', type: 'number', min: 5, max: 1 },
        ],
        textField: 't',
      },
      /min \(5\) is greater than max \(1\)/,
    ],
    [
      'minLength > maxLength',
      { fields: [{ name: 't', type: 'string', minLength: 9, maxLength: 2 }], textField: 't' },
      /minLength \(9\) is greater than maxLength \(2\)/,
    ],
    [
      'maxLength on a number',
      {
        fields: [
          { name: 't', type: 'string' },
          { name: 'n', type: 'number', maxLength: 2 },
        ],
        textField: 't',
      },
      /only applies to string/,
    ],
    ['bad field name', { fields: [{ name: 'has space', type: 'string' }], textField: 'has space' }, /name must match/],
    [
      'unknown labelField',
      { fields: [{ name: 't', type: 'string' }], textField: 't', labelField: 'l' },
      /labelField "l" is not a declared field/,
    ],
    [
      'labelField = textField',
      { fields: [{ name: 't', type: 'string' }], textField: 't', labelField: 't' },
      /must differ/,
    ],
    [
      'huge maxRecordBytes',
      { fields: [{ name: 't', type: 'string' }], textField: 't', maxRecordBytes: 1e9 },
      /maxRecordBytes/,
    ],
    [
      'unknown property',
      { fields: [{ name: 't', type: 'string', pattern: 'x' }], textField: 't' },
      /unknown property "pattern"/,
    ],
    [
      'unknown visibility',
      { fields: [{ name: 't', type: 'string' }], textField: 't', visibility: 'secret' },
      /spec.visibility must be one of public, members, private/,
    ],
  ])('reports %s', (_name, spec, message) => {
    const errors = validateSpec(spec);
    expect(
      errors.some((e) => message.test(e)),
      errors.join(' | '),
    ).toBe(true);
  });
});

describe('visibility', () => {
  it('defaults to public, and members and private Datanets are encrypted', () => {
    expect(visibilityOf(SPEC)).toBe('public');
    expect(visibilityOf(null)).toBe('public');
    for (const v of ['public', 'members', 'private'] as const) {
      const spec = { ...SPEC, visibility: v };
      expect(validateSpec(spec)).toEqual([]);
      expect(Value.Check(DatanetSpecSchema, spec)).toBe(true);
      expect(visibilityOf(spec)).toBe(v);
    }
    expect(Value.Check(DatanetSpecSchema, { ...SPEC, visibility: 'secret' })).toBe(false);
    expect([isEncrypted('public'), isEncrypted('members'), isEncrypted('private')]).toEqual([false, true, true]);
  });
});

describe('validateRecord', () => {
  it('accepts a valid record, with optional fields absent or null', () => {
    expect(validateRecord(SPEC, { text: 'Win a free cruise now', label: 'spam' })).toEqual({ ok: true });
    expect(
      validateRecord(SPEC, { text: 'Lunch at noon?', label: 'ham', lang: null, score: 0.5, count: 3, verified: true }),
    ).toEqual({ ok: true });
  });

  it('gives clear reasons, all at once', () => {
    const errors = errorsOf({ text: 'hey', label: 'eggs', score: 2, count: 1.5, verified: 'yes', extra: 1 });
    expect(errors).toEqual(
      expect.arrayContaining([
        'field "extra": not declared in the Datanet spec',
        'field "text": must be at least 5 characters, got 3',
        'field "label": must be one of spam, ham',
        'field "score": must be <= 1, got 2',
        'field "count": must be an integer, got 1.5',
        'field "verified": must be a boolean, got a string',
      ]),
    );
    expect(errors).toHaveLength(6);
  });

  it('requires required fields and the text field; rejects blank text and non-objects', () => {
    expect(errorsOf({ label: 'spam' })).toEqual(['field "text": is required']);
    expect(errorsOf({ text: '       ', label: 'spam' })).toEqual(['field "text": must not be blank']);
    expect(errorsOf({ text: 'hello there' })).toEqual(['field "label": is required']);
    expect(errorsOf([1, 2])).toEqual(['record must be a JSON object, got an array']);
    expect(errorsOf(null)).toEqual(['record must be a JSON object, got null']);
    expect(errorsOf({ text: 'hello there', label: 'ham', score: Number.NaN })).toEqual([
      'field "score": must be a finite number, got NaN',
    ]);
  });

  it('counts code points, not UTF-16 units, for string lengths', () => {
    expect(validateRecord(SPEC, { text: 'hello', label: 'ham', lang: '😀😀😀😀😀' }).ok).toBe(true);
    expect(errorsOf({ text: 'hello', label: 'ham', lang: '😀😀😀😀😀😀' })).toEqual([
      'field "lang": must be at most 5 characters, got 6',
    ]);
  });

  it('enforces maxRecordBytes on the UTF-8 JSON', () => {
    const spec: DatanetSpec = {
      ...SPEC,
      fields: [{ name: 'text', type: 'string' }],
      labelField: undefined,
      maxRecordBytes: 100,
    };
    expect(validateRecord(spec, { text: 'x'.repeat(80) }).ok).toBe(true);
    expect(errorsOf({ text: 'é'.repeat(80) }, spec)).toEqual([
      'record: is 171 bytes as JSON, more than the limit of 100',
    ]);
  });
});
