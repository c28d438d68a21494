/**
 * A small, deterministic health-assistant question-and-answer corpus for tests and the demo (no
 * downloads): per topic, questions in several phrasings and answers composed from the topic's
 * facts, so every answer is distinct (not a near-duplicate of another) yet answers on one topic
 * share most of their words. A share of answers are vague ("see a doctor"): they pass scoring but
 * answer little, so reviewers comparing two answers have a real preference to express.
 */
import { mulberry32 } from '../../domain/prng.js';

export interface QaRecord {
  topic: string;
  question: string;
  answer: string;
  vague: boolean;
}

interface Topic {
  name: string;
  facts: string[];
}

const TOPICS: Topic[] = [
  {
    name: 'a mild fever',
    facts: [
      'Drink plenty of fluids such as water, broth or oral rehydration solution.',
      'Rest and keep the room comfortably cool.',
      'Paracetamol or ibuprofen at the dose on the label can bring the temperature down.',
      'Measure your temperature twice a day and write it down.',
      'Seek medical care if the fever stays above 39.5 degrees or lasts more than three days.',
      'A stiff neck, a rash or confusion with a fever needs urgent care.',
      'Dress in light clothing instead of bundling up under blankets.',
    ],
  },
  {
    name: 'a sprained ankle',
    facts: [
      'Rest the ankle and avoid putting weight on it for the first two days.',
      'Apply ice wrapped in a cloth for fifteen minutes every two to three hours.',
      'Compress the joint with an elastic bandage that is snug but not tight.',
      'Elevate the foot above the level of the heart when sitting or lying down.',
      'Gentle range of motion exercises help once the swelling starts to go down.',
      'See a clinician if you cannot walk four steps or the bone is tender to touch.',
      'Most mild sprains heal within two to six weeks.',
    ],
  },
  {
    name: 'seasonal allergies',
    facts: [
      'Antihistamine tablets relieve sneezing, itching and a runny nose.',
      'A steroid nasal spray used daily reduces congestion over a week or two.',
      'Keep windows closed on days with a high pollen count.',
      'Shower and change clothes after spending time outdoors.',
      'Saline nasal rinses wash pollen out of the nose.',
      'Wraparound sunglasses protect the eyes from pollen.',
      'An allergist can test for triggers and discuss immunotherapy.',
    ],
  },
  {
    name: 'high blood pressure',
    facts: [
      'Reduce salt in your diet to less than five grams a day.',
      'Regular aerobic exercise such as brisk walking lowers blood pressure.',
      'Limit alcohol and stop smoking.',
      'Check your blood pressure at home at the same time each day.',
      'Keep taking prescribed blood pressure medicine even when you feel well.',
      'Losing a few kilograms of weight lowers blood pressure noticeably.',
      'A reading above 180 over 120 with chest pain or headache is an emergency.',
    ],
  },
  {
    name: 'trouble sleeping',
    facts: [
      'Go to bed and get up at the same time every day, including weekends.',
      'Avoid caffeine after midday and heavy meals late in the evening.',
      'Keep the bedroom dark, quiet and cool.',
      'Put screens away an hour before bed because their light delays sleep.',
      'If you cannot sleep after twenty minutes, get up and do something calm.',
      'Daytime exercise improves sleep quality.',
      'Talk to a doctor if insomnia lasts more than three months.',
    ],
  },
  {
    name: 'heartburn',
    facts: [
      'Eat smaller meals and avoid lying down for three hours after eating.',
      'Raise the head of the bed by fifteen centimetres.',
      'Spicy food, coffee, chocolate and alcohol often trigger heartburn.',
      'Antacids give quick relief for occasional symptoms.',
      'Losing weight reduces pressure on the stomach.',
      'Stop smoking because it weakens the valve at the top of the stomach.',
      'Difficulty swallowing or weight loss with heartburn needs a medical review.',
    ],
  },
  {
    name: 'a common cold',
    facts: [
      'Colds are caused by viruses, so antibiotics do not help.',
      'Rest and drink warm fluids such as tea with honey.',
      'Saline drops or a steam inhalation ease a blocked nose.',
      'Paracetamol relieves aches and a sore throat.',
      'Wash your hands often to avoid passing the cold on.',
      'Symptoms usually improve within seven to ten days.',
      'See a doctor if breathing becomes difficult or symptoms last beyond three weeks.',
    ],
  },
  {
    name: 'lower back pain',
    facts: [
      'Keep moving gently because bed rest slows recovery.',
      'Heat packs relax tight muscles in the lower back.',
      'Ibuprofen can reduce pain and inflammation for a few days.',
      'Bend your knees and keep the load close when lifting.',
      'Core strengthening exercises prevent the pain from coming back.',
      'Numbness in the legs or loss of bladder control needs emergency care.',
      'Most back pain gets better within four to six weeks.',
    ],
  },
];

const QUESTIONS = [
  'What should I do about {t}?',
  'How can I treat {t} at home?',
  'Any advice for dealing with {t}?',
  'What helps with {t}?',
  'I have {t}. What do you recommend?',
  'How do I manage {t} safely?',
];

const OPENERS = ['Here is what usually helps.', 'A few steps make a difference.', 'Good question.', 'In short:'];

const VAGUE = [
  'It depends on many things, so it is hard to say without more details about {t}. Please consult a professional if you are worried.',
  'Everyone is different when it comes to {t}. You could ask someone with medical training what they think.',
  'There are several options for {t} and none is right for everybody. Talk to a qualified person about it.',
];

/** `perTopic` records for each topic (at most 8 topics); `vagueShare` of them vague. Deterministic by seed. */
export function syntheticQa(opts: { perTopic: number; seed?: number; vagueShare?: number }): QaRecord[] {
  const rand = mulberry32(opts.seed ?? 5);
  const vagueShare = opts.vagueShare ?? 0.15;
  const out: QaRecord[] = [];
  for (const topic of TOPICS) {
    const used = new Set<string>();
    for (let i = 0; i < opts.perTopic; i++) {
      const question = QUESTIONS[i % QUESTIONS.length]!.replace('{t}', topic.name);
      if (rand() < vagueShare) {
        const v = VAGUE[Math.floor(rand() * VAGUE.length)]!.replace('{t}', topic.name);
        out.push({ topic: topic.name, question, answer: `${v} (${question.toLowerCase()})`, vague: true });
        continue;
      }
      // A distinct subset of four facts in a random order: answers share words, not whole texts.
      let facts: string[] = [];
      for (let tries = 0; tries < 50; tries++) {
        const pick = [...topic.facts].sort(() => rand() - 0.5).slice(0, 4);
        const key = [...pick].sort().join('|');
        facts = pick;
        if (!used.has(key)) {
          used.add(key);
          break;
        }
      }
      const opener = OPENERS[Math.floor(rand() * OPENERS.length)]!;
      out.push({ topic: topic.name, question, answer: `${opener} ${facts.join(' ')}`, vague: false });
    }
  }
  return out;
}

/** Words a health-assistant Datanet declares as its domain (relevance scoring compares records with them). */
export const HEALTH_KEYWORDS =
  'health doctor medical care pain fever treat treatment symptoms medicine rest fluids sleep blood pressure allergy heartburn cold back ankle exercise advice help recommend'.split(
    ' ',
  );
