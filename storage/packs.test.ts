import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCipherPack, buildPack, PackIntegrityError, readCiphertexts, readRecords } from './packs.js';
import type { ArtifactStore } from './artifact-store.js';

const rec = (o: unknown) => {
  const bytes = Buffer.from(JSON.stringify(o));
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
};

/** Objects in a Map; counts the requests a read makes, which is what packs are for. */
function memoryStore(objects: Map<string, Buffer>) {
  const calls = { get: 0, getRange: 0 };
  const missing = (key: string) => new Error(`no such key: ${key}`);
  const store: Pick<ArtifactStore, 'get' | 'getRange'> = {
    get: (key) => {
      calls.get++;
      const o = objects.get(key);
      return o ? Promise.resolve(o) : Promise.reject(missing(key));
    },
    getRange: (key, start, end) => {
      calls.getRange++;
      const o = objects.get(key);
      return o ? Promise.resolve(o.subarray(start, end + 1)) : Promise.reject(missing(key));
    },
  };
  return { store: store as ArtifactStore, calls };
}

describe('pack objects', () => {
  const records = [rec({ text: 'a' }), rec({ text: 'bb', label: 'x' }), rec({ text: 'ccc\\n' })];

  it('lays records out as JSON lines and names the pack by its bytes', () => {
    const pack = buildPack(records);
    expect(pack.bytes.toString()).toBe(records.map((r) => r.bytes.toString() + '\n').join(''));
    expect(pack.hash).toBe(createHash('sha256').update(pack.bytes).digest('hex'));
    for (const [i, e] of pack.entries.entries()) {
      expect(pack.bytes.subarray(e.offset, e.offset + e.length)).toEqual(records[i]!.bytes);
      expect(e.hash).toBe(records[i]!.hash);
    }
    expect(buildPack(records).hash).toBe(pack.hash);
  });

  it('refuses a record whose claimed hash is not the hash of its bytes', () => {
    const forged = { hash: records[0]!.hash, bytes: Buffer.from('{"text":"not a"}') };
    expect(() => buildPack([records[1]!, forged])).toThrow(PackIntegrityError);
    const withNewline = { ...rec('x'), bytes: Buffer.from('"x\n"') };
    withNewline.hash = createHash('sha256').update(withNewline.bytes).digest('hex');
    expect(() => buildPack([withNewline])).toThrow(/newline/);
  });

  it('reads the records of each pack with one ranged GET', async () => {
    const pack = buildPack(records);
    const other = buildPack([rec({ text: 'in another pack' })]);
    const { store, calls } = memoryStore(
      new Map([
        ['p', pack.bytes],
        ['q', other.bytes],
      ]),
    );
    const refs = [
      ...pack.entries.slice(1).map((e) => ({ hash: e.hash, key: 'p', offset: e.offset, length: e.length })),
      ...other.entries.map((e) => ({ hash: e.hash, key: 'q', offset: e.offset, length: e.length })),
    ];
    const got = await readRecords(store, refs);
    expect(calls).toEqual({ get: 0, getRange: 2 });
    expect(got.get(records[1]!.hash)).toEqual({ ok: true, bytes: records[1]!.bytes });
    expect(got.get(records[2]!.hash)).toEqual({ ok: true, bytes: records[2]!.bytes });
    expect(got.get(other.entries[0]!.hash)?.ok).toBe(true);
  });

  it('flags bytes that do not hash to the record (tampered pack, wrong index row)', async () => {
    const pack = buildPack(records);
    const tampered = Buffer.from(pack.bytes);
    const at = pack.entries[0]!.offset + 3;
    tampered[at] = tampered[at]! ^ 1;
    const { store } = memoryStore(new Map([['p', tampered]]));
    const e = pack.entries;
    const got = await readRecords(store, [
      { hash: e[0]!.hash, key: 'p', offset: e[0]!.offset, length: e[0]!.length },
      // Points at the right pack but the wrong slice.
      { hash: e[2]!.hash, key: 'p', offset: e[1]!.offset, length: e[2]!.length },
      { hash: e[1]!.hash, key: 'p', offset: e[1]!.offset, length: e[1]!.length },
    ]);
    expect(got.get(e[0]!.hash)?.ok).toBe(false);
    expect(got.get(e[2]!.hash)?.ok).toBe(false);
    expect(got.get(e[1]!.hash)).toEqual({ ok: true, bytes: records[1]!.bytes });
  });
});

describe('cipher packs (encrypted Datanets)', () => {
  it('hold each record as one base64 line of its ciphertext, read back by offset', async () => {
    const records = [
      { hash: 'a'.repeat(64), ciphertext: Buffer.from([0, 10, 13, 255, 1, 2]) },
      { hash: 'b'.repeat(64), ciphertext: Buffer.from('\n\n\u2028', 'utf8') },
    ];
    const pack = buildCipherPack(records);
    expect(pack.bytes.toString('latin1').split('\n')).toHaveLength(3);
    const { store } = memoryStore(new Map([['p', pack.bytes]]));
    const read = await readCiphertexts(
      store,
      pack.entries.map((e) => ({ ...e, key: 'p' })),
    );
    for (const r of records) expect(read.get(r.hash)).toEqual({ ok: true, bytes: r.ciphertext });
  });

  it('report a truncated object instead of returning partial ciphertext', async () => {
    const pack = buildCipherPack([{ hash: 'a'.repeat(64), ciphertext: Buffer.alloc(40, 9) }]);
    const { store } = memoryStore(new Map([['p', pack.bytes.subarray(0, 20)]]));
    const read = await readCiphertexts(store, [{ ...pack.entries[0]!, key: 'p' }]);
    expect(read.get('a'.repeat(64))).toMatchObject({ ok: false });
  });
});
