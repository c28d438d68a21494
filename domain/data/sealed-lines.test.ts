import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asSealedLine, isSealedManifest, openFields, sealFields, SealedLineError } from './sealed-lines.js';

const head = { hash: 'a'.repeat(64), contributor: '0xc0ffee', datanet: 'dn-1' };
const fields = { text: 'CANARY-7f3e patient reports chest pain \u2028 "quoted"', label: 'urgent', response: 'see ER' };
const line = (key: Buffer) => JSON.stringify(sealFields(key, head, fields));

describe('sealed manifest lines', () => {
  it('round-trips the fields with the record data key, keeping hash, contributor and Datanet in the clear', () => {
    const key = randomBytes(32);
    const text = line(key);
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain('urgent');
    const parsed = asSealedLine(JSON.parse(text));
    expect(parsed).toMatchObject(head);
    expect(openFields(key, parsed!)).toEqual(fields);
    expect(isSealedManifest(`${text}\n${text}\n`)).toBe(true);
    expect(isSealedManifest(JSON.stringify({ hash: head.hash, contributor: 'x', text: 'a', label: 'b' }))).toBe(false);
  });

  it('leaves the response out when the record has none', () => {
    const key = randomBytes(32);
    const { response: _, ...clf } = fields;
    expect(openFields(key, sealFields(key, head, clf))).toEqual(clf);
  });

  it('refuses a tampered box, a box moved to another record, and a rewritten contributor', () => {
    const key = randomBytes(32);
    const sealed = asSealedLine(JSON.parse(line(key)))!;
    const box = Buffer.from(sealed.sealed, 'base64');
    box[box.length - 20]! ^= 1;
    expect(() => openFields(key, { ...sealed, sealed: box.toString('base64') })).toThrow(SealedLineError);
    expect(() => openFields(key, { ...sealed, hash: 'b'.repeat(64) })).toThrow(/does not open/);
    expect(() => openFields(key, { ...sealed, contributor: '0xthief' })).toThrow(/does not open/);
    expect(() => openFields(key, { ...sealed, datanet: 'dn-2' })).toThrow(/does not open/);
    expect(() => openFields(key, { ...sealed, sealed: box.subarray(0, 10).toString('base64') })).toThrow(
      SealedLineError,
    );
  });

  it('is unreadable once the record key is gone (erasure): no other key opens it', () => {
    const sealed = asSealedLine(JSON.parse(line(randomBytes(32))))!;
    expect(() => openFields(randomBytes(32), sealed)).toThrow(/does not open/);
  });

  it('does not take a clear line for a sealed one, and refuses a sealed line without its head', () => {
    expect(asSealedLine({ hash: head.hash, contributor: 'c', text: 't', label: 'l' })).toBeUndefined();
    expect(() => asSealedLine({ hash: head.hash, sealed: 'AAAA' })).toThrow(/lacks/);
  });
});
