import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import { mcpOverHttp, mcpOverStdio, type McpSession } from '../support/mcp.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { generateKeyPair, saveKeyFile, type KeyPair } from '../../identity/keys.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';

/**
 * Attacks on the MCP server's signed tools, on the real stack (API, lifecycle and data workers,
 * Postgres, S3, Temporal): a contribution through /mcp that is unsigned, signed by someone else
 * than the address it claims, altered after signing, or replayed. Each must be refused by the
 * contribution route's own checks and leave no record behind; honest contributions through both
 * transports are stored and found.
 */
describe('adversarial: signed MCP calls', () => {
  let app: TestApp;
  let dir: string;
  let contributor: CommonsClient;
  let keys: KeyPair;
  const datanet = uniqueId('mcp');
  const sessions: McpSession[] = [];
  let n = 0;
  /** A fresh record the Datanet's schema accepts. */
  const record = () => ({
    text: `Claim your free prize now, limited offer number ${n++}: click the link, winner, cash bonus awaits you today.`,
    label: 'spam',
  });
  const rows = (contributorAddress?: string) =>
    app.sql<{ hash: string; contributor: string }[]>`
      select hash, contributor from contributions where datanet_id = ${datanet}
      ${contributorAddress ? app.sql`and contributor = ${contributorAddress}` : app.sql``}`;
  const open = async (s: Promise<McpSession>) => {
    const session = await s;
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dir = mkdtempSync(join(tmpdir(), 'commons-mcp-'));
    const dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    await dev.propose(
      proposalBody(datanet, {
        governance: { votingPeriodMs: 60_000 },
        collection: { windowMs: 600_000, targetCount: 100_000, minAcceptedRecords: 1, keywords: EMAIL_KEYWORDS },
      }),
    );
    await passAndOpenDatanet(dev, gov, datanet, dev.address);
    contributor = await participant(app.url, ['contributor']);
    if (!contributor.keys) throw new Error('participant without keys');
    keys = contributor.keys;
  }, 180_000);

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => {});
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(datanet))
      .cancel()
      .catch(() => {});
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores a record contributed over HTTP and over stdio, signed by the contributor, and finds it', async () => {
    const http = await open(mcpOverHttp(app.url, { keys }));
    const a = await http.call('contribute_record', { datanetId: datanet, record: record() });
    expect(a.isError, a.text).toBeUndefined();
    expect(a.structuredContent).toMatchObject({ status: 'stored' });
    const keyFile = join(dir, 'contributor.json');
    saveKeyFile(keyFile, keys);
    const stdio = await open(mcpOverStdio(app.url, { keyFile }));
    const b = await stdio.call('contribute_record', { datanetId: datanet, record: record() });
    expect(b.isError, b.text).toBeUndefined();
    for (const stored of [a, b]) {
      const hash = String(stored.structuredContent?.hash);
      const found = await http.call('find_contribution', { hash });
      expect(found.structuredContent?.contributions).toEqual([
        expect.objectContaining({ datanetId: datanet, contributor: keys.address }),
      ]);
    }
    expect((await rows(keys.address)).length).toBe(2);
    // The proposal behind the Datanet, with the collection's progress.
    const status = await eventually(async () => {
      const s = (await stdio.call('proposal_status', { proposalId: datanet })).structuredContent;
      const received = (s?.progress as { collection?: { received?: number } } | undefined)?.collection?.received;
      return received !== undefined && received >= 2 ? s : undefined;
    });
    expect(status).toMatchObject({ proposalId: datanet, stage: 'data-collection', status: 'running' });
  });

  it('refuses an unsigned contribution: no session without a key acts as anyone', async () => {
    const anonymous = await open(mcpOverHttp(app.url));
    const before = (await rows()).length;
    const r = await anonymous.call('contribute_record', { datanetId: datanet, record: record() });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^refused: 401 /);
    expect((await rows()).length).toBe(before);
  });

  it("refuses a contribution signed by one key under another's address, or altered after signing", async () => {
    const before = (await rows()).length;
    // Mallory signs with her own key but claims the contributor's address and public key.
    const mallory = generateKeyPair();
    const impostor = await open(
      mcpOverHttp(app.url, {
        keys: { ...mallory, address: keys.address, publicKey: keys.publicKey },
      }),
    );
    const forged = await impostor.call('contribute_record', { datanetId: datanet, record: record() });
    expect(forged.isError).toBe(true);
    expect(forged.text).toMatch(/^refused: 401 bad signature/);
    // A proxy between the contributor and the API swaps the signed record for another.
    const swap = (url: string | URL, init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      return fetch(url, { ...init, body: body.replace('limited offer', 'altered offer') });
    };
    const proxied = await open(mcpOverHttp(app.url, { keys, fetch: swap }));
    const altered = await proxied.call('contribute_record', { datanetId: datanet, record: record() });
    expect(altered.isError).toBe(true);
    expect(altered.text).toMatch(/^refused: 401 bad signature/);
    expect((await rows()).length).toBe(before);
  });

  it('refuses a replayed signed call: the record is contributed once', async () => {
    // Record what the contributor's client sends, then send the signed tool call again.
    const sent: { url: string | URL; init: RequestInit }[] = [];
    const recorder = (url: string | URL, init?: RequestInit) => {
      if (typeof init?.body === 'string' && init.body.includes('contribute_record'))
        sent.push({ url, init: { ...init } });
      return fetch(url, init);
    };
    const honest = await open(mcpOverHttp(app.url, { keys, fetch: recorder }));
    const first = await honest.call('contribute_record', { datanetId: datanet, record: record() });
    expect(first.structuredContent).toMatchObject({ status: 'stored' });
    const [captured] = sent;
    if (!captured) throw new Error('the signed call was not recorded');
    const replay = await fetch(captured.url, captured.init);
    const answer = (await replay.json()) as { result?: { isError?: boolean; content?: { text: string }[] } };
    expect(answer.result?.isError).toBe(true);
    expect(answer.result?.content?.[0]?.text).toMatch(/^refused: 401 replayed request/);
    const hash = String(first.structuredContent?.hash);
    expect((await rows(keys.address)).filter((r) => r.hash === hash).length).toBe(1);
    const claims = await app.sql`select 1 from contributions where hash = ${hash}`;
    expect(claims.length).toBe(1);
  });
});
