import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { SPAM_SPEC } from '../../scenarios/scenario.js';
import { generateKeyPair } from '../../identity/keys.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * "No free work" for lists: a Datanet whose contributors hold thousands of records. Per-contributor
 * records and the leaderboard answered every row in one response; now every list route answers a
 * bounded page (a limit past the bound is a 400) and an opaque cursor walks the rest, each row once.
 */
describe('adversarial: every list is paged', () => {
  let app: TestApp;
  let reader: CommonsClient;
  const datanet = uniqueId('dn-pages');
  const flooder = generateKeyPair().address;
  const RECORDS = 1200;
  const CONTRIBUTORS = 260;

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    reader = await participant(app.url, ['contributor']);
    const p = proposalBody(datanet);
    await app.sql`
      insert into proposals (id, proposer, model_name, title, description, domain, labels, datanet_spec, params, stake, budget, workflow_id)
      values (${datanet}, ${reader.address}, ${p.modelName}, ${p.title}, ${p.description}, ${p.domain}, ${app.sql.json(p.labels)},
              ${app.sql.json(p.datanetSpec)}, ${app.sql.json(p.params)}, ${'500'}, ${'0'}, ${`lifecycle-${datanet}`})`;
    await app.sql`insert into datanets (id, proposal_id, spec, target_count) values (${datanet}, ${datanet}, ${app.sql.json(SPAM_SPEC)}, 1000000)`;
    // Rows as the collection leaves them (the records' bytes are never read by these routes).
    const rows = [
      ...Array.from({ length: RECORDS }, (_, i) => ({ contributor: flooder, i })),
      ...Array.from({ length: CONTRIBUTORS }, (_, i) => ({ contributor: generateKeyPair().address, i: RECORDS + i })),
    ].map(({ contributor, i }) => ({
      datanet_id: datanet,
      hash: i.toString(16).padStart(64, '0'),
      contributor,
      signature: 'sig',
      size: 10,
      s3_key: 'packs/none',
      pack_offset: 0,
      pack_length: 10,
      status: i % 3 === 0 ? 'rejected' : 'accepted',
      quality: 0.5,
      relevance: 0.5,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await app.sql`insert into contributions ${app.sql(rows.slice(i, i + 500))}`;
  });

  afterAll(async () => app?.close());

  /** Follows nextCursor from the first page; every page within `limit`. */
  async function walk<T>(path: string, field: string, limit: number): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let pages = 0;
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await reader.get<Record<string, unknown> & { nextCursor: string | null }>(
        `${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const got = page[field] as T[];
      expect(got.length).toBeLessThanOrEqual(limit);
      items.push(...got);
      cursor = page.nextCursor;
      pages++;
    }
    return { items, pages };
  }

  it("answers a contributor's records a bounded page at a time, each record once", async () => {
    const path = `/v1/datanets/${datanet}/contributors/${flooder}/records`;
    const first = await reader.get<{ records: unknown[]; nextCursor: string | null }>(path);
    expect(first.records).toHaveLength(50);
    expect(first.nextCursor).not.toBeNull();
    const { items, pages } = await walk<{ hash: string }>(path, 'records', 200);
    expect(pages).toBe(Math.ceil(RECORDS / 200));
    expect(new Set(items.map((r) => r.hash)).size).toBe(RECORDS);
  });

  it('answers the leaderboard a bounded page at a time, in its order, each contributor once', async () => {
    const path = `/v1/datanets/${datanet}/leaderboard`;
    const { items } = await walk<{ contributor: string; acceptanceRate: number; accepted: number }>(
      path,
      'leaderboard',
      37,
    );
    expect(items).toHaveLength(CONTRIBUTORS + 1);
    expect(new Set(items.map((r) => r.contributor)).size).toBe(CONTRIBUTORS + 1);
    for (let i = 1; i < items.length; i++) {
      const [a, b] = [items[i - 1]!, items[i]!];
      const ordered =
        a.acceptanceRate > b.acceptanceRate ||
        (a.acceptanceRate === b.acceptanceRate &&
          (a.accepted > b.accepted || (a.accepted === b.accepted && a.contributor < b.contributor)));
      expect(ordered).toBe(true);
    }
  });

  it('refuses a limit past the bound, a non-numeric one and a forged cursor with 400', async () => {
    const lists = [
      `/v1/datanets/${datanet}/leaderboard`,
      `/v1/datanets/${datanet}/contributors/${flooder}/records`,
      `/v1/datanets/${datanet}/versions`,
      '/v1/proposals',
      '/v1/models',
      `/v1/accounts/${flooder}/rewards`,
      `/v1/validators/${flooder}/unbonding`,
      `/v1/reviews/reviewers/${flooder}`,
      `/v1/reviews/rounds?proposalId=${datanet}`,
      '/v1/reviews',
    ];
    for (const path of lists)
      for (const q of [
        'limit=201',
        'limit=0',
        'limit=Infinity',
        'limit=1e309',
        'limit=07',
        'cursor=bm90LWEta2V5',
        'cursor=%00',
      ])
        expect((await fetch(`${app.url}${path}${path.includes('?') ? '&' : '?'}${q}`)).status, `${path} ${q}`).toBe(
          400,
        );
  });
});
