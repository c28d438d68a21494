/**
 * Synthetic triage notes for the private demo: clinical-looking, wholly invented (no patient ever
 * existed), from a seeded generator so a run is reproducible. Each note is a few findings drawn
 * from its label's pool (urgent or routine) with invented ages and vitals, so the notes differ
 * enough never to be near-duplicates of each other, and the label is learnable from the words.
 */
import { mulberry32 } from '../domain/prng.js';

export type Triage = 'urgent' | 'routine';

export interface ClinicalNote {
  note: string;
  triage: Triage;
}

/** The domain vocabulary the proposal declares: relevance scoring compares notes against it. */
export const CLINICAL_KEYWORDS =
  'patient presents history exam vitals pressure rate pain fever symptoms medication dose follow-up assessment plan diagnosis onset review clinic emergency triage'.split(
    ' ',
  );

const URGENT = [
  'crushing chest pain radiating to the left arm since {n} minutes',
  'diaphoretic and pale, pressure {bp}, heart rate {hr}',
  'sudden onset slurred speech and right-sided weakness',
  'ECG shows ST elevation in leads V2 to V4',
  'oxygen saturation {sat} percent on room air, respiratory rate {rr}',
  'fever {temp} with rigors, lactate raised, suspected sepsis',
  'severe abdominal pain with guarding and rebound tenderness',
  'haematemesis twice this morning, pressure {bp}',
  'anaphylaxis after a bee sting, stridor and facial swelling',
  'head injury with loss of consciousness, GCS {gcs}',
  'new confusion and neck stiffness, photophobia',
  'pulse {hr} and thready, capillary refill delayed',
  'troponin raised, pain unrelieved by nitrates',
  'unable to complete sentences, silent chest on auscultation',
  'plan: immediate emergency transfer, resuscitation bay',
  'assessment: life-threatening, escalate to the on-call team now',
];

const ROUTINE = [
  'follow-up for well-controlled hypertension, pressure {bp}',
  'mild seasonal rhinitis, sneezing and itchy eyes for {n} days',
  'requests repeat prescription of her usual medication dose',
  'annual review of type 2 diabetes, HbA1c stable',
  'vitals normal: pressure {bp}, heart rate {hr}, temperature {temp}',
  'minor ankle sprain while jogging, weight-bearing, no bony tenderness',
  'asks about travel vaccinations before a holiday',
  'dry skin on both hands, eczema history, emollients advised',
  'lower back ache after gardening, improving with rest',
  'sleep hygiene discussed, no red-flag symptoms',
  'cholesterol check, lifestyle advice given',
  'contraception review, no concerns raised',
  'mild cough for {n} days, chest clear, no fever',
  'plan: review in clinic in {n} weeks if symptoms persist',
  'assessment: stable, routine follow-up booked',
  'wart on the left index finger, cryotherapy offered',
];

/** `n` notes, about half of each label; the same seed gives the same notes. */
export function clinicalNotes(n: number, seed = 7): ClinicalNote[] {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const fill = (s: string) =>
    s
      .replace('{n}', String(int(2, 40)))
      .replace('{bp}', `${int(85, 165)}/${int(50, 100)}`)
      .replace('{hr}', String(int(48, 140)))
      .replace('{sat}', String(int(82, 99)))
      .replace('{rr}', String(int(12, 34)))
      .replace('{temp}', `${int(36, 40)}.${int(0, 9)}`)
      .replace('{gcs}', String(int(8, 15)));
  const out: ClinicalNote[] = [];
  for (let i = 0; i < n; i++) {
    const triage: Triage = rand() < 0.5 ? 'urgent' : 'routine';
    const pool = [...(triage === 'urgent' ? URGENT : ROUTINE)];
    const findings: string[] = [];
    const count = int(4, 6);
    for (let k = 0; k < count; k++) findings.push(fill(pool.splice(int(0, pool.length - 1), 1)[0]!));
    const sex = rand() < 0.5 ? 'female' : 'male';
    out.push({ note: `Patient ${int(18, 92)}-year-old ${sex} presents: ${findings.join('. ')}.`, triage });
  }
  return out;
}
