import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findStatusRow, findTallyRow } from './status-reads.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

/**
 * The one-query status read (docs/operations.md, "Status reads") returns each stage's parts and only those:
 * rows of the other stages exist for the same proposal throughout, and must not show.
 */
describe('status row: one query per status read', () => {
  let sql: postgres.Sql;
  const id = `sr-${Date.now().toString(36)}`;
  const view = { stage: 'governance', status: 'running', history: [{ stage: 'proposed', at: 1 }] };

  const setStage = (stage: string, status = 'running') =>
    sql`update proposals set stage = ${stage}, status = ${status} where id = ${id}`;

  beforeAll(async () => {
    sql = postgres(process.env.DATABASE_URL!, { max: 4, onnotice: () => {} });
    await sql`
      insert into proposals (id, proposer, model_name, title, description, rationale, domain, labels, datanet_spec,
                             params, stake, budget, workflow_id, stage, status)
      values (${id}, 'dev', ${`m-${id}`}, 'T', 'D', 'R', 'spam', ${sql.json(['spam', 'ham'])}, ${sql.json({})},
              ${sql.json({ governance: { votingPeriodMs: 60_000 } })}, 100, 250, ${workflowIds.lifecycle(id)},
              'governance', 'running')`;
    await sql`insert into lifecycle_views (proposal_id, view, version) values (${id}, ${sql.json(view)}, 2)`;
    await sql`insert into governance_snapshots (proposal_id, snapshot, total)
              values (${id}, ${sql.json({ a: '60', b: '40', c: '123456789012345678901234567890' })}, 123456789012345678901234567990)`;
    await sql`insert into votes (proposal_id, voter, option, power, created_at) values
              (${id}, 'b', 'no', 40, now() - interval '1 second'),
              (${id}, 'c', 'yes', 123456789012345678901234567890, now())`;
    await sql`insert into datanets (id, proposal_id, spec, status, target_count) values (${id}, ${id}, ${sql.json({})}, 'open', 7)`;
    await sql`insert into activity_progress (workflow_id, activity_id, activity_type, attempt, details) values
              (${workflowIds.lifecycle(id)}, '2', 'trainModel', 3, ${sql.json({ step: 5, loss: 0.25 })}),
              (${workflowIds.lifecycle(id)}, '1', 'prepare', 1, null),
              (${workflowIds.rlhfRound(id, 1)}, '9', 'generateCandidates', 1, null)`;
    await sql`insert into rlhf_rounds (proposal_id, round, status, summary) values
              (${id}, 1, 'done', ${sql.json({ answers: 4 })}), (${id}, 2, 'open', null)`;
  });
  afterAll(async () => {
    for (const t of ['votes', 'governance_snapshots', 'lifecycle_views', 'rlhf_rounds', 'tallies'])
      await sql`delete from ${sql(t)} where proposal_id = ${id}`;
    await sql`delete from datanets where id = ${id}`;
    await sql`delete from activity_progress where workflow_id like ${`%${id}%`}`;
    await sql`delete from proposals where id = ${id}`;
    await sql.end();
  });

  it('is undefined for a proposal that does not exist', async () => {
    expect(await findStatusRow(sql, `${id}-none`)).toBeUndefined();
    expect(await findTallyRow(sql, `${id}-none`)).toBeUndefined();
  });

  it('while voting: the view, the snapshot and the votes in order, nothing of the other stages', async () => {
    const s = (await findStatusRow(sql, id))!;
    expect(s.proposal).toMatchObject({
      id,
      stage: 'governance',
      status: 'running',
      stake: '100',
      labels: ['spam', 'ham'],
    });
    expect(s.budget).toEqual({ asked: '250', reserved: null, paid: '0', left: '0', returned: '0' });
    expect(s.view?.view).toEqual(view);
    expect(s.view?.updatedAt).toBeInstanceOf(Date);
    // Power beyond 2^53 stays exact: numerics travel as text.
    expect(s.voting?.snapshot.total).toBe('123456789012345678901234567990');
    expect(s.voting?.snapshot.snapshot.c).toBe('123456789012345678901234567890');
    expect(s.voting?.votes).toEqual([
      { voter: 'b', option: 'no' },
      { voter: 'c', option: 'yes' },
    ]);
    expect(s.datanet).toBeUndefined();
    expect(s.activities).toBeUndefined();
    expect(s.rounds).toBeUndefined();
  });

  it('while collecting: the Datanet row only', async () => {
    await setStage('data-collection');
    const s = (await findStatusRow(sql, id))!;
    expect(s.datanet).toEqual({ status: 'open', targetCount: 7, closesAt: null });
    expect(s.voting).toBeUndefined();
    expect(s.activities).toBeUndefined();
    expect(s.rounds).toBeUndefined();
  });

  it('while training: the lifecycle workflow’s running activities with their last heartbeat', async () => {
    await setStage('training');
    const s = (await findStatusRow(sql, id))!;
    expect(s.activities?.map((a) => [a.activityId, a.activityType, a.attempt, a.details])).toEqual([
      ['1', 'prepare', 1, null],
      ['2', 'trainModel', 3, { step: 5, loss: 0.25 }],
    ]);
    const [stored] = await sql<{ at: Date }[]>`
      select heartbeat_at as at from activity_progress where workflow_id = ${workflowIds.lifecycle(id)} and activity_id = '2'`;
    expect(s.activities?.[1]?.heartbeatAt.getTime()).toBe(stored!.at.getTime());
    expect(s.voting).toBeUndefined();
    expect(s.datanet).toBeUndefined();
  });

  it('in RLHF: the finished rounds only', async () => {
    await setStage('rlhf');
    const s = (await findStatusRow(sql, id))!;
    expect(s.rounds).toEqual([{ round: 1, artifactKey: null, metrics: null, summary: { answers: 4 } }]);
    expect(s.activities).toBeUndefined();
  });

  it('once ended: the view and the budget, no stage parts', async () => {
    await setStage('governance', 'rejected');
    const s = (await findStatusRow(sql, id))!;
    expect(s.proposal.status).toBe('rejected');
    expect(s.view).toBeDefined();
    expect([s.voting, s.datanet, s.activities, s.rounds]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('tally row: the snapshot, every vote with its power and time, then the final tally', async () => {
    const open = (await findTallyRow(sql, id))!;
    expect(open.final).toBeUndefined();
    expect(open.snapshot?.total).toBe('123456789012345678901234567990');
    expect(open.votes.map((v) => [v.voter, v.option, v.power])).toEqual([
      ['b', 'no', '40'],
      ['c', 'yes', '123456789012345678901234567890'],
    ]);
    const [stored] = await sql<
      { at: Date }[]
    >`select created_at as at from votes where proposal_id = ${id} and voter = 'c'`;
    expect(open.votes[1]?.createdAt.getTime()).toBe(stored!.at.getTime());
    await sql`insert into tallies (proposal_id, yes, no, abstain, veto, total_power, outcome, closed_early)
              values (${id}, 123456789012345678901234567890, 40, 0, 0, 123456789012345678901234567990, 'passed', true)`;
    const final = (await findTallyRow(sql, id))!;
    expect(final.final).toEqual({
      yes: '123456789012345678901234567890',
      no: '40',
      abstain: '0',
      veto: '0',
      totalPower: '123456789012345678901234567990',
      outcome: 'passed',
      closedEarly: true,
    });
  });
});
