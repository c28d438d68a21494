import type { CommonsClient } from '../client/commons-client.js';
import { generateKeyPair } from '../identity/keys.js';
import { signAttestation } from '../identity/attestations.js';
import { merge, type DeepPartial } from '../domain/lifecycle/params.js';
import type { LifecycleParams } from '../domain/lifecycle/types.js';
import { verifyProof } from '../domain/data/merkle.js';
import type { ProposalResponse } from '../api/schemas/proposals.js';
import type { InferResponse } from '../api/schemas/models.js';
import type { ErasureResponse } from '../api/schemas/erasure.js';
import type { ProofResponse } from '../api/schemas/datanets.js';
import { CLINICAL_KEYWORDS, clinicalNotes, type ClinicalNote } from './clinical-notes.js';
import { participant, waitForStage } from './scenario.js';
import { retireGovernors, waitForDatanetOpen, waitForVotingOpen } from './steps.js';

/**
 * A medical-style PRIVATE Datanet run to a serving model through the public API: a hospital
 * consortium proposes a triage classifier, a medical board attests its clinicians, only they may
 * contribute (a stranger is refused), each clinician's client seals every note on their own machine,
 * a curator watches over the Datanet, the workers alone open the notes to score and train, an app
 * pays for calls attributed by record hash, and a clinician erases a note the model was trained on:
 * the next dataset version lacks it, its old proof still verifies, and its share of each later
 * call's fee goes to the treasury. `npm run demo -- --private` prints it; tests assert on the result.
 */
export const CLINICAL_SPEC = {
  fields: [
    { name: 'note', type: 'string' as const, required: true, minLength: 1, maxLength: 4000 },
    { name: 'triage', type: 'enum' as const, required: true, values: ['urgent', 'routine'] },
  ],
  textField: 'note',
  labelField: 'triage',
  maxRecordBytes: 8192,
};

/** The claim the medical board attests and the Datanet requires. */
export const CLINICIAN_CLAIM = 'licensed clinician';

/**
 * Short windows, no review round (its prompts would be records, which nobody reads in a private
 * Datanet), and a fee large enough that one record's share of it shows.
 */
export const PRIVATE_DEMO_PARAMS: DeepPartial<LifecycleParams> = {
  stake: '1000',
  governance: { votingPeriodMs: 60_000 },
  collection: {
    windowMs: 120_000,
    pollIntervalMs: 300,
    batchSize: 100,
    parallelism: 2,
    minAcceptedRecords: 40,
    keywords: CLINICAL_KEYWORDS,
  },
  training: { hyperparams: { epochs: 8 } },
  rlhf: { rounds: 0 },
  serving: { feePerCall: '1000' },
};

export interface PrivateScenarioOptions {
  baseUrl: string;
  log: (line: string) => void;
  proposalId: string;
  modelName: string;
  /** Notes contributed, shared among the clinicians. */
  records: number;
  clinicians: number;
  /** A word planted in one note: a reader of every stored object must never find it. */
  canary: string;
  /** The treasury's OPEN balance (the API publishes no system account's balance: the ledger's). */
  treasuryBalance: () => Promise<bigint>;
  params?: DeepPartial<LifecycleParams>;
  pollMs?: number;
}

export interface PrivateScenarioResult {
  developer: CommonsClient;
  clinicians: CommonsClient[];
  curator: CommonsClient;
  appBuilder: CommonsClient;
  apiKey: string;
  /** Every note stored, with its hash and who sent it. */
  submitted: (ClinicalNote & { hash: string; contributor: string })[];
  final: ProposalResponse;
  /** The paid call before the erasure, and the same call after it. */
  before: InferResponse;
  after: InferResponse;
  erased: { hash: string; by: CommonsClient; proof: ProofResponse; erasure: ErasureResponse; again: ErasureResponse };
  /** OPEN the erasing clinician and the treasury received from the call before and the call after. */
  paid: { before: { clinician: bigint; treasury: bigint }; after: { clinician: bigint; treasury: bigint } };
}

const short = (h: string) => `${h.slice(0, 10)}…`;

export async function runPrivateScenario(o: PrivateScenarioOptions): Promise<PrivateScenarioResult> {
  const { baseUrl, log } = o;
  const pollMs = o.pollMs ?? 500;
  log('participants: a hospital consortium, a medical board, clinicians, a curator, governors, an app');
  const developer = await participant(baseUrl, ['developer'], 'hospital-consortium', { OPEN: '5000' });
  const governors = await Promise.all(
    [1, 2, 3].map((i) => participant(baseUrl, ['governor'], `governor-${i}`, { gOPEN: String(100 * i) })),
  );
  const clinicians = await Promise.all(
    Array.from({ length: o.clinicians }, (_, i) =>
      participant(baseUrl, ['contributor'], `clinician-${i + 1}`, { OPEN: '1000' }),
    ),
  );
  const stranger = await participant(baseUrl, ['contributor'], 'stranger', { OPEN: '1000' });
  const curator = await participant(baseUrl, ['reviewer'], 'curator');
  const appBuilder = await participant(baseUrl, ['app-builder'], 'triage-app', { OPEN: '100000' });

  // The board's key signs who is a licensed clinician; the Datanet accepts only its attestations.
  const board = generateKeyPair();
  for (const c of clinicians)
    await c.signed('POST', '/v1/credentials', {
      ...signAttestation(board, {
        claim: CLINICIAN_CLAIM,
        subject: c.address,
        issuedAt: Date.now() - 1000,
        expiresAt: Date.now() + 24 * 3600_000,
      }),
    });
  log(`the medical board attested ${clinicians.length} clinicians ("${CLINICIAN_CLAIM}")`);

  // Declared beside the literal so the proposal body's type checks it as a spec, visibility included.
  const datanetSpec = {
    ...CLINICAL_SPEC,
    visibility: 'private' as const,
    access: {
      credentials: [{ claim: CLINICIAN_CLAIM, verifiers: [board.publicKey] }],
      curation: { curators: [curator.address] },
      deposit: '1',
    },
  };
  const params = merge(merge(PRIVATE_DEMO_PARAMS, { collection: { targetCount: o.records } }), o.params ?? {});
  await developer.propose({
    id: o.proposalId,
    modelName: o.modelName,
    title: 'Emergency triage from clinical notes',
    description:
      'Classifies a clinical note as urgent or routine, trained on notes contributed by licensed clinicians. The notes stay private: only the training workers read them.',
    rationale: 'Triage support that hospitals can build together without sharing a single note in the clear.',
    domain: 'clinical triage',
    labels: ['urgent', 'routine'],
    datanetSpec,
    params,
    budget: '0',
  });
  await waitForStage(developer, o.proposalId, 'governance', log, pollMs);
  await waitForVotingOpen(developer, o.proposalId);
  for (const g of governors) await g.vote(o.proposalId, 'yes');
  await waitForStage(developer, o.proposalId, 'data-collection', log, pollMs);
  await retireGovernors(governors);
  await waitForDatanetOpen(developer, o.proposalId);
  const datanet = await developer.datanet(o.proposalId);
  const visibility = 'visibility' in datanet ? String(datanet.visibility) : 'public';
  log(`Datanet ${o.proposalId} is open: visibility ${visibility}, records sealed to its public key`);

  const refused = await stranger
    .contribute(o.proposalId, { note: 'Patient presents with a cough.', triage: 'routine' })
    .then(
      () => 'stored',
      (err: { status?: number; message?: string }) => `${err.status ?? '?'} ${err.message ?? ''}`,
    );
  log(`a contributor without the board's attestation is refused: ${refused}`);

  const notes = clinicalNotes(o.records, 7);
  const planted = notes[0];
  if (!planted) throw new Error('the scenario needs at least one note');
  planted.note = `${planted.note} Seen by ${o.canary}.`;
  const submitted: PrivateScenarioResult['submitted'] = [];
  await Promise.all(
    clinicians.map(async (c, i) => {
      const mine = notes.filter((_, j) => j % clinicians.length === i);
      for (let k = 0; k < mine.length; k += 100) {
        const chunk = mine.slice(k, k + 100);
        const r = await c.contributeBatch(
          o.proposalId,
          chunk.map((n) => ({ note: n.note, triage: n.triage })),
        );
        for (const x of r.results) {
          const n = chunk[x.index];
          if (x.hash === undefined || !n) log(`note refused at ingest: ${x.status} ${x.errors?.join('; ')}`);
          else submitted.push({ ...n, hash: x.hash, contributor: c.address });
        }
      }
    }),
  );
  log(`clinicians sealed and sent ${submitted.length} notes: the API received hashes, sealed keys and ciphertext only`);
  await developer.closeDatanet(o.proposalId).catch((err) => {
    if ((err as { status?: number }).status !== 409) throw err; // closed by reaching the target
  });

  const final = await waitForStage(developer, o.proposalId, 'done', log, pollMs);
  if (final.status !== 'serving') throw new Error(`lifecycle ended ${final.status}: ${final.reason}`);
  const { apiKey } = await appBuilder.issueApiKey('triage');
  // Every decryption left a row; a contributor sees who read their notes and why.
  const [firstClinician] = clinicians;
  if (firstClinician) {
    const { entries } = await firstClinician.signed<{ entries: { actor: string; purpose: string }[] }>(
      'GET',
      `/v1/accounts/${firstClinician.address}/access-log?limit=200`,
    );
    const by = new Map<string, number>();
    for (const e of entries) by.set(`${e.actor} (${e.purpose})`, (by.get(`${e.actor} (${e.purpose})`) ?? 0) + 1);
    log(`clinician-1's access log: ${[...by].map(([who, n]) => `${n} reads by ${who}`).join(', ') || 'no reads'}`);
  }

  // A new urgent note (not one of the records): attributed by hash, never quoted.
  const query = clinicalNotes(40, 99).find((n) => n.triage === 'urgent')?.note ?? planted.note;
  const treasury = o.treasuryBalance;
  const balance = async (c: CommonsClient) => BigInt((await c.account()).balances.OPEN ?? '0');
  const first = await appBuilder.infer(o.modelName, query, apiKey);
  log(
    `paid call: "${query.slice(0, 50)}…" → ${first.output}; attributed to records ${first.attribution.records.map((r) => short(r.hash)).join(', ')} (hashes only)`,
  );
  // The clinician of the record the answer leaned on most will withdraw it.
  const top = first.attribution.records[0];
  const by = clinicians.find((c) => c.address === top?.contributor);
  if (!top || !by) throw new Error('the paid answer is attributed to no clinician');
  const name = `clinician-${clinicians.indexOf(by) + 1}`;
  /** The same paid call again, with what it paid the clinician and the treasury. */
  const measure = async () => {
    const [c0, t0] = [await balance(by), await treasury()];
    const r = await appBuilder.infer(o.modelName, query, apiKey);
    return { r, clinician: (await balance(by)) - c0, treasury: (await treasury()) - t0 };
  };
  const before = await measure();
  log(`the call paid ${name} ${before.clinician} OPEN and the treasury ${before.treasury} OPEN`);

  const proof = await by.proof(top.hash);
  const erasure = await by.eraseContribution(o.proposalId, top.hash);
  const again = await by.eraseContribution(o.proposalId, top.hash);
  log(
    `${name} erased ${short(top.hash)}, the record the answer leaned on most: ${erasure.result}, its key destroyed; dataset version ${erasure.version?.version ?? '?'} (${erasure.version?.records ?? '?'} records) leaves it out; asked again: ${again.result}`,
  );
  log(
    `its proof in ${proof.datasetVersionId} still verifies by hash: ${verifyProof(proof.proof, proof.root) ? 'yes' : 'NO'}`,
  );
  const after = await measure();
  log(
    `the version trained on it still serves (${after.r.output}) until the next one; from the erasure on its share goes to the treasury: the call paid ${name} ${after.clinician} OPEN and the treasury ${after.treasury} OPEN`,
  );
  const paid = {
    before: { clinician: before.clinician, treasury: before.treasury },
    after: { clinician: after.clinician, treasury: after.treasury },
  };
  return {
    developer,
    clinicians,
    curator,
    appBuilder,
    apiKey,
    submitted,
    final,
    before: before.r,
    after: after.r,
    erased: { hash: top.hash, by, proof, erasure, again },
    paid,
  };
}
