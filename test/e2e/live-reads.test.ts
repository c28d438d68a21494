import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { uniqueId } from '../support/participants.js';
import type { ProposalResponse, TallyResponse } from '../../api/schemas/proposals.js';

/**
 * A live read (`?live=1`) queries the workflow, which needs a worker polling its task queue. When
 * none answers (workers down, a deploy in progress) or the workflow is gone, the API must answer
 * from the read model within its deadline and say why, not hold the request until Temporal's RPC
 * timeout (CI once saw schemathesis's 10 s read timeout hit on exactly this).
 */
const DEADLINE_MS = 1500;

describe('live reads when the workflow does not answer', () => {
  let app: TestApp;
  const unpolled = uniqueId('live-unpolled');
  const gone = uniqueId('live-gone');

  const insertGovernance = async (id: string) => {
    await app.sql`
      insert into proposals (id, proposer, model_name, title, description, rationale, domain, labels, datanet_spec,
                             params, stake, budget, workflow_id, stage, status)
      values (${id}, 'dev', ${`m-${id}`}, 'T', 'D', 'R', 'spam', ${app.sql.json(['spam', 'ham'])}, ${app.sql.json({})},
              ${app.sql.json({})}, 100, 250, ${workflowIds.lifecycle(id)}, 'governance', 'running')`;
    await app.sql`insert into governance_snapshots (proposal_id, snapshot, total)
                  values (${id}, ${app.sql.json({ a: '60', b: '40' })}, 100)`;
    await app.sql`insert into votes (proposal_id, voter, option, power) values (${id}, 'a', 'yes', 60)`;
  };
  const timedGet = async <T>(path: string) => {
    const t = Date.now();
    const res = await fetch(app.url + path);
    return { status: res.status, body: (await res.json()) as T, ms: Date.now() - t };
  };

  beforeAll(async () => {
    process.env.COMMONS_LIVE_READ_TIMEOUT_MS = String(DEADLINE_MS);
    app = await startTestApp({ workers: false });
    await insertGovernance(unpolled);
    await insertGovernance(gone);
    // The lifecycle's workflow exists, on a task queue no worker of any test process polls.
    await app.temporal.workflow.start('lifecycleWorkflow', {
      taskQueue: `commons-unpolled-${unpolled}`,
      workflowId: workflowIds.lifecycle(unpolled),
      args: [],
    });
  });

  afterAll(async () => {
    await app.temporal.workflow
      .getHandle(workflowIds.lifecycle(unpolled))
      .terminate('test over')
      .catch(() => {});
    for (const id of [unpolled, gone]) {
      for (const t of ['votes', 'governance_snapshots'])
        await app.sql`delete from ${app.sql(t)} where proposal_id = ${id}`;
      await app.sql`delete from proposals where id = ${id}`;
    }
    delete process.env.COMMONS_LIVE_READ_TIMEOUT_MS;
    await app?.close();
  });

  it('answers a status read from the read model within the deadline and says the workflow did not answer', async () => {
    const r = await timedGet<ProposalResponse>(`/v1/proposals/${unpolled}?live=1`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      proposalId: unpolled,
      stage: 'governance',
      status: 'running',
      source: 'projection',
    });
    expect(r.body.liveError).toMatch(new RegExp(`did not answer within ${DEADLINE_MS} ms`));
    expect(r.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(r.ms).toBeLessThan(DEADLINE_MS + 5000);
    // Without ?live=1 the read never asks the workflow, so it has no live error to report.
    const plain = await timedGet<ProposalResponse>(`/v1/proposals/${unpolled}`);
    expect(plain.body.source).toBe('projection');
    expect(plain.body.liveError).toBeUndefined();
  });

  it('answers a tally read from the read model within the deadline', async () => {
    const r = await timedGet<TallyResponse>(`/v1/proposals/${unpolled}/tally?live=1`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ open: true, outcome: null, tally: { yes: '60', total: '100' } });
    expect(r.body.votes.map((v) => v.voter)).toEqual(['a']);
    expect(r.body.liveError).toMatch(/did not answer/);
    expect(r.ms).toBeLessThan(DEADLINE_MS + 5000);
  });

  it('says so when the workflow no longer exists', async () => {
    const r = await timedGet<ProposalResponse>(`/v1/proposals/${gone}?live=1`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ stage: 'governance', source: 'projection' });
    expect(r.body.liveError).toMatch(/no longer exists/);
    const t = await timedGet<TallyResponse>(`/v1/proposals/${gone}/tally?live=1`);
    expect(t.body.liveError).toMatch(/no longer exists/);
  });
});
