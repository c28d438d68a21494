import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { ProposalBody } from './schemas/proposals.js';
import { DatanetSpecSchema, validateRecord, validateSpec, validateSpecForTask } from '../domain/data/datanet-spec.js';
import { resolveProposalTerms } from '../domain/protocol/proposal-terms.js';
import { DEFAULT_PROTOCOL_SETTINGS, protocolSettingsFrom } from '../domain/protocol/settings.js';
import { parseJsonl } from '../cli/records.js';

// The files under examples/ are what the docs tell a user to POST as they are: each must pass
// every check POST /v1/proposals makes before it writes anything, under the production defaults
// and under the local stack's settings, and each record file must fit its spec.
const read = (name: string) => readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8');
const json = (name: string) => JSON.parse(read(name)) as unknown;

const localSettings = protocolSettingsFrom(
  JSON.parse(readFileSync(new URL('../infra/local/protocol-settings.json', import.meta.url), 'utf8')),
).settings;

function refusals(body: unknown): string[] {
  if (!Value.Check(ProposalBody, body))
    return [...Value.Errors(ProposalBody, body)].map((e) => `${e.path}: ${e.message}`);
  const errors = [...validateSpec(body.datanetSpec)];
  errors.push(...validateSpecForTask(body.datanetSpec, body.task ?? 'classification', body.labels));
  for (const settings of [DEFAULT_PROTOCOL_SETTINGS, localSettings])
    errors.push(...resolveProposalTerms(body.params ?? {}, body.budget, settings).errors);
  // The route also requires an enum label field to hold exactly the proposal's labels.
  const labelField = body.datanetSpec.fields.find((f) => f.name === body.datanetSpec.labelField);
  if (labelField?.type === 'enum' && [...(labelField.values ?? [])].sort().join() !== [...body.labels].sort().join())
    errors.push("the label field's values must be the proposal's labels");
  return errors;
}

function records(spec: unknown, file: string): string[] {
  const { payloads, errors } = parseJsonl(read(file));
  expect(payloads.length).toBeGreaterThan(0);
  return [
    ...errors,
    ...payloads.flatMap((p) => {
      const v = validateRecord(spec as Parameters<typeof validateRecord>[0], p);
      return v.ok ? [] : v.errors;
    }),
  ];
}

describe('examples/', () => {
  it('proposal.json is accepted by POST /v1/proposals', () => {
    expect(refusals(json('proposal.json'))).toEqual([]);
  });

  it('datanet-spec.json is a valid spec, and proposal.json with it as its datanetSpec is accepted', () => {
    const spec = json('datanet-spec.json');
    expect(Value.Check(DatanetSpecSchema, spec)).toBe(true);
    expect(validateSpec(spec)).toEqual([]);
    expect(refusals({ ...(json('proposal.json') as object), datanetSpec: spec })).toEqual([]);
  });

  it('would catch an example the API refuses', () => {
    const proposal = json('proposal.json') as Record<string, unknown>;
    expect(refusals({ ...proposal, budget: '0' })).toContainEqual(expect.stringContaining('budget must be at least'));
    expect(refusals({ ...proposal, labels: ['spam', 'ham', 'phishing'] })).not.toEqual([]);
    expect(refusals({ ...proposal, title: 'x' })).not.toEqual([]);
  });

  it('generation-proposal.json is accepted by POST /v1/proposals', () => {
    expect(refusals(json('generation-proposal.json'))).toEqual([]);
  });

  it('the record files fit their specs', () => {
    const proposal = json('proposal.json') as { datanetSpec: unknown };
    const generation = json('generation-proposal.json') as { datanetSpec: unknown };
    expect(records(proposal.datanetSpec, 'records.jsonl')).toEqual([]);
    expect(records(json('datanet-spec.json'), 'records.jsonl')).toEqual([]);
    expect(records(generation.datanetSpec, 'chat-records.jsonl')).toEqual([]);
  });
});
