import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './commands.js';
import { buildMerkleTree } from '../domain/data/merkle.js';
import { bundleOf, sealEpoch, type ReceiptEpoch, type RecordedCall } from '../domain/serving/receipts.js';

const call = (id: string): RecordedCall => ({
  id,
  modelName: 'spam',
  version: 1,
  proposalId: 'p',
  payer: 'payer',
  fee: '10',
  inputHash: null,
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  settlementId: 'b1',
  attribution: [{ contributor: 'alice', weight: 1 }],
  records: [],
  splits: [{ to: 'alice', part: 'contributors', amount: '10', transfer: 'infer:b1:payer:alice:contributors:p' }],
  transfers: new Map([
    ['infer:b1:payer:alice:contributors:p', { id: 9, from: 'payer', to: 'alice', amount: '20', calls: 2 }],
  ]),
});

function files() {
  const calls = [call('a'), call('b')];
  const { leaves, root } = sealEpoch(calls, 3);
  const epoch: ReceiptEpoch = { model: 'spam', epoch: 3, root, size: 2, closedAt: '2026-01-01T01:00:00.000Z' };
  const bundle = bundleOf({ ...calls[1]!, epoch: 3 }, leaves[1]!, buildMerkleTree(leaves), epoch);
  const dir = mkdtempSync(join(tmpdir(), 'verify-receipt-'));
  const write = (name: string, v: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(v));
    return join(dir, name);
  };
  return { bundle, epoch, write };
}

async function cli(argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, {
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    env: {},
  });
  return { code, out, err };
}

describe('commons verify-receipt (offline)', () => {
  it('verifies a saved receipt against a saved epoch file or a root', async () => {
    const { bundle, epoch, write } = files();
    const ok = await cli(['verify-receipt', write('r.json', bundle), '--epoch-file', write('e.json', epoch)]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/receipt b verifies: spam v1, epoch 3/);
    expect((await cli(['verify-receipt', write('r.json', bundle), '--root', epoch.root])).code).toBe(0);
  });

  it('exits 1 with the reason once the receipt is tampered', async () => {
    const { bundle, epoch, write } = files();
    const tampered = structuredClone(bundle);
    tampered.receipt.splits[0]!.to = 'mallory';
    const r = await cli(['verify-receipt', write('t.json', tampered), '--root', epoch.root]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/hashes to [0-9a-f]{64}, the proof is for leaf/);
    expect(r.err).toMatch(/paid alice, not mallory/);
  });

  it('exits 1 against another epoch root', async () => {
    const { bundle, epoch, write } = files();
    const other = { ...epoch, epoch: 4, root: sealEpoch([call('c')], 4).root };
    const r = await cli(['verify-receipt', write('r.json', bundle), '--epoch-file', write('o.json', other)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/in epoch 3, the root is epoch 4/);
    expect(r.err).toMatch(/does not lead to the root/);
  });

  it("exits 1 when the API answers an id with another receipt's genuine proof", async () => {
    const { bundle, epoch } = files();
    // A lying API (or a man in the middle): asked for receipt a, it serves b's valid bundle.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.endsWith('/proof') ? bundle : epoch));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await cli(['--api', api, 'verify-receipt', 'a', '--root', epoch.root]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/asked for receipt a, the API answered with b/);
      // Asked for b, the same answer verifies.
      expect((await cli(['--api', api, 'verify-receipt', 'b', '--root', epoch.root])).code).toBe(0);
    } finally {
      server.close();
    }
  });
});
