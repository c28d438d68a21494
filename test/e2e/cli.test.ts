import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { ProposalResponse } from '../../api/schemas/proposals.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { commonsBin } from '../support/commons-bin.js';

/** The real `commons` command (the @commons/cli package's bin, built from this checkout) against the test API. */
describe('commons CLI', () => {
  let app: TestApp;
  let dir: string;
  let bin: string;
  const started: string[] = [];
  const retire: CommonsClient[] = [];
  let devKey: string;
  let govKey: string;
  let devAddress: string;
  let proposalId: string;

  interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
  }
  const cli = (args: string[], opts: { key?: string; env?: Record<string, string> } = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], {
        cwd: dir,
        env: {
          ...process.env,
          COMMONS_API_URL: app.url,
          COMMONS_KEY_FILE: opts.key ?? join(dir, 'none.json'),
          ...opts.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const ok = async (args: string[], opts: { key?: string } = {}) => {
    const r = await cli(args, opts);
    if (r.code !== 0) throw new Error(`commons ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dir = mkdtempSync(join(tmpdir(), 'commons-cli-'));
    bin = await commonsBin();
    devKey = join(dir, 'dev.json');
    govKey = join(dir, 'gov.json');
  });
  afterAll(async () => {
    for (const id of started)
      await app.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => {});
    // Governors hand their gOPEN back so they do not weigh on other suites' quorums.
    for (const g of retire) {
      const { balances } = await g.account();
      if (balances.gOPEN !== '0') await g.transfer(devAddress, 'gOPEN', balances.gOPEN);
    }
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates key files readable only by their owner, and shows them', async () => {
    const out = await ok(['keys', 'new', '--out', devKey]);
    devAddress = out.split('\n')[0] ?? '';
    expect(devAddress).toMatch(/^cm[0-9a-f]{40}$/);
    expect(statSync(devKey).mode & 0o777).toBe(0o600);
    expect((JSON.parse(readFileSync(devKey, 'utf8')) as { address: string }).address).toBe(devAddress);
    expect(await ok(['keys', 'show'], { key: devKey })).toContain(`address     ${devAddress}`);
    const again = await cli(['keys', 'new', '--out', devKey]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    await ok(['keys', 'new', '--json'], { key: govKey });
  });

  it('registers, funds and proposes from a file; refusals exit 1 with the reason', async () => {
    expect(await ok(['register', '--roles', 'developer'], { key: devKey })).toContain(
      `${devAddress} registered: developer`,
    );
    const [row] = await app.sql<{ roles: string[] }[]>`select roles from accounts where address = ${devAddress}`;
    expect(row?.roles).toEqual(['developer']);
    const refused = await cli(['register', '--roles', 'admin'], { key: devKey });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403 roles admin cannot be self-assigned');

    expect(await ok(['faucet', '--asset', 'OPEN', '--amount', '5000'], { key: devKey })).toContain('5000 OPEN');
    expect(await app.ledger.balance(devAddress, 'OPEN')).toBe('5000');

    // Voting power is snapshotted when voting opens, so the governors exist before the proposal.
    await ok(['register', '--roles', 'governor'], { key: govKey });
    await ok(['faucet', '--asset', 'gOPEN', '--amount', '10'], { key: govKey });
    // A larger governor that does not vote keeps the vote open.
    retire.push(await participant(app.url, ['governor'], { gOPEN: '100000' }));

    proposalId = uniqueId('cli');
    const file = join(dir, 'proposal.json');
    writeFileSync(file, JSON.stringify(proposalBody(proposalId, { governance: { votingPeriodMs: 120_000 } })));
    const printed = (await ok(['propose', '--file', file], { key: devKey })).trim();
    started.push(proposalId);
    expect(printed).toBe(proposalId);
    expect(await app.ledger.balance(devAddress, 'OPEN')).toBe('4500');

    const twice = await cli(['propose', '--file', file], { key: devKey });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`409 proposal ${proposalId} already exists`);

    const poor = join(dir, 'bad.json');
    writeFileSync(poor, JSON.stringify(proposalBody(uniqueId('cli'), { stake: '999999999' })));
    const short = await cli(['propose', '--file', poor], { key: devKey });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^error: 402 insufficient OPEN balance/);
  });

  it('shows the status as text or JSON', async () => {
    const status = async () => JSON.parse(await ok(['status', proposalId, '--json'])) as ProposalResponse;
    await eventually(async () => ((await status()).stage === 'governance' ? true : undefined));
    const s = await status();
    expect(s).toMatchObject({ proposalId, stage: 'governance', status: 'running' });
    expect(await ok(['status', proposalId])).toMatch(
      /\] +\d+% governance \(2\/7\) running · yes 0 no 0 abstain 0 veto 0 of \d+/,
    );
    const missing = await cli(['status', 'no-such-proposal']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 no proposal no-such-proposal');
  });

  it('votes with a governor key; a second vote exits 1 with "already voted"', async () => {
    await eventually(
      async () =>
        ((await fetch(`${app.url}/v1/proposals/${proposalId}/tally`).then((r) => r.json())) as { open: boolean })
          .open || undefined,
    );
    const govAddress = (JSON.parse(await ok(['keys', 'show', '--json'], { key: govKey })) as { address: string })
      .address;

    expect(await ok(['vote', proposalId, 'yes'], { key: govKey })).toMatch(
      /^vote accepted: yes 10, no 0, abstain 0, veto 0 of \d+/,
    );
    expect(await app.sql`select voter, option from votes where proposal_id = ${proposalId}`).toEqual([
      { voter: govAddress, option: 'yes' },
    ]);

    const again = await cli(['vote', proposalId, 'no'], { key: govKey });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 vote refused');
    expect(again.stderr).toContain('already voted (yes)');

    const developerVotes = await cli(['vote', proposalId, 'yes'], { key: devKey });
    expect(developerVotes.code).toBe(1);
    expect(developerVotes.stderr).toContain('403 this action needs the role governor');

    const usage = await cli(['vote', proposalId, 'maybe'], { key: govKey });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('vote ID yes|no|abstain|veto');
  });

  it('watches a lifecycle live until it ends, printing the stage and the final status', async () => {
    const id = uniqueId('cli-watch');
    const file = join(dir, 'expiring.json');
    writeFileSync(file, JSON.stringify(proposalBody(id, { governance: { votingPeriodMs: 2_000 } })));
    await ok(['propose', '--file', file], { key: devKey });
    started.push(id);
    const t0 = Date.now();
    const r = await cli(['status', id, '--watch', '--interval', '200']);
    expect(r.code).toBe(0);
    // Not a terminal: plain lines, one per change, no carriage returns.
    expect(r.stdout).not.toContain('\r');
    const lines = r.stdout.trim().split('\n');
    expect(lines.some((l) => / governance \(2\/7\) running/.test(l))).toBe(true);
    expect(lines.at(-2)).toMatch(/governance \(2\/7\) expired/);
    expect(lines.at(-1)).toMatch(/^final status: expired \(.+\), stage governance$/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const [p] = await app.sql<{ status: string }[]>`select status from proposals where id = ${id}`;
    expect(p?.status).toBe('expired');
  });

  it('contributes a JSON Lines file in batches and prints the counts', async () => {
    // A proposal passed by a dominant governor opens its Datanet.
    const id = uniqueId('cli-data');
    const file = join(dir, 'datanet.json');
    writeFileSync(
      file,
      JSON.stringify(
        proposalBody(id, {
          governance: { votingPeriodMs: 60_000 },
          collection: { windowMs: 600_000, targetCount: 100_000 },
        }),
      ),
    );
    const big = await participant(app.url, ['governor'], { gOPEN: '1000000000' });
    retire.push(big);
    await ok(['propose', '--file', file], { key: devKey });
    started.push(id);
    await eventually(async () => ((await big.tally(id)).open ? true : undefined));
    await big.vote(id, 'yes');
    await eventually(
      async () => ((await big.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined),
      60_000,
    );

    const contributorKey = join(dir, 'contributor.json');
    await ok(['keys', 'new'], { key: contributorKey });
    await ok(['register', '--roles', 'contributor'], { key: contributorKey });
    const records = Array.from({ length: 1203 }, (_, i) => ({
      text: `Subject: meeting ${i}\nPlease reply to the email about order number ${i} by friday, thanks.`,
      label: i % 3 ? 'ham' : 'spam',
    }));
    records.push({ text: 'no label at all', label: 'maybe' });
    const jsonl = join(dir, 'records.jsonl');
    writeFileSync(jsonl, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = await ok(['contribute', id, '--file', jsonl], { key: contributorKey });
    expect(out.trim()).toBe('1204 records: 1203 stored, 1 invalid');
    const [n] = await app.sql<{ n: number }[]>`select count(*)::int as n from contributions where datanet_id = ${id}`;
    expect(n?.n).toBe(1203);
    // Sent again: nothing new is stored.
    expect((await ok(['contribute', id, '--file', jsonl], { key: contributorKey })).trim()).toBe(
      '1204 records: 1203 already-stored, 1 invalid',
    );

    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"text":"ok","label":"ham"}\n{oops\n');
    const bad = await cli(['contribute', id, '--file', broken], { key: contributorKey });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('line 2');
  });

  it('lists review tasks, issues API keys and explains what is missing', async () => {
    const reviewerKey = join(dir, 'reviewer.json');
    await ok(['keys', 'new'], { key: reviewerKey });
    await ok(['register', '--roles', 'reviewer,app-builder'], { key: reviewerKey });
    // Answering needs the protocol's minimum review bond.
    await ok(['faucet', '--asset', 'OPEN', '--amount', '1000'], { key: reviewerKey });
    expect(await ok(['review-bond', '1000'], { key: reviewerKey })).toContain('review bond 1000 OPEN');
    const taskId = uniqueId('cli-task');
    await app.sql`
      insert into review_tasks (id, proposal_id, round, workflow_id, prompt, candidates, required_answers)
      values (${taskId}, ${'no-such-proposal'}, 1, ${`rlhf-missing-${taskId}`}, ${'Is this spam?'}, ${app.sql.json(['spam', 'ham'])}, 3)`;
    // Tasks are listed only to the reviewers a round assigned them to.
    const reviewer = (JSON.parse(readFileSync(reviewerKey, 'utf8')) as { address: string }).address;
    await app.sql`insert into review_assignments (task_id, reviewer) values (${taskId}, ${reviewer})`;
    try {
      const list = await ok(['reviews'], { key: reviewerKey });
      expect(list).toContain(taskId);
      expect(list).toContain('choices: spam | ham');
      const answer = await cli(['review', taskId, 'spam'], { key: reviewerKey });
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/409 review answer refused: the workflow is (no longer running|closed)/);
    } finally {
      await app.sql`delete from review_assignments where task_id = ${taskId}`;
      await app.sql`delete from review_tasks where id = ${taskId}`;
    }

    const key = (await ok(['api-key', 'new', '--label', 'cli test'], { key: reviewerKey })).split('\n')[0] ?? '';
    expect(key).toMatch(/^ck_[0-9a-f]{48}$/);
    const infer = await cli(['infer', 'no-such-model', 'hello', '--api-key', key]);
    expect(infer.code).toBe(1);
    expect(infer.stderr).toMatch(/^error: 404 /);

    const noKey = await cli(['register', '--roles', 'developer'], { key: join(dir, 'missing.json') });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('no key file at');
    const down = await cli(['status', 'x'], { env: { COMMONS_API_URL: 'http://127.0.0.1:9' } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('is the API running at http://127.0.0.1:9');
  });
});
