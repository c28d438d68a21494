import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, CommonsClient } from '../client/commons-client.js';
import { generateKeyPair, loadKeyFile, saveKeyFile, type KeyPair } from '../identity/keys.js';
import { renderStatusLine } from './progress-bar.js';
import { watchStatus, type Output } from './watch.js';
import { chunk, parseJsonl } from './records.js';
import type { ProposalBody } from '../api/schemas/proposals.js';
import { receiptProblems, type ReceiptBundle, type ReceiptEpoch } from '../domain/serving/receipts.js';

export const USAGE = `commons — command line for the Commons API

usage: commons [--api URL] [--key FILE] [--json] <command> ...

  keys new [--out FILE] [--force]      create an Ed25519 key file (default --key path)
  keys show                            address and public key of the key file
  register --roles a,b [--name NAME]   register the key (developer, governor, contributor,
                                       reviewer, validator, app-builder)
  account [ADDRESS]                    roles and balances
  faucet --asset OPEN|gOPEN --amount N dev faucet: mint to your account
  propose --file proposal.json         propose a model (prints its id)
  status ID [--watch] [--interval MS]  stage and status; --watch shows live progress until it ends
         [--live]                      ask the workflow itself instead of the API's read model
  vote ID yes|no|abstain|veto          cast a governance vote
  contribute DATANET --file F.jsonl    contribute records (one JSON object per line)
  review-bond AMOUNT                   bond OPEN for review (the protocol sets a minimum)
  enlist PROPOSAL                      enlist for a proposal's review rounds (needs the bond)
  reviews                              your assigned open review tasks
  review TASK CHOICE                   answer an assigned review task (sealed until settlement)
  api-key new [--label L]              issue an inference API key (shown once)
  infer MODEL TEXT --api-key KEY       paid inference with attribution (or COMMONS_API_KEY)
  mcp [--api-key KEY]                  MCP server on stdio for agents (docs/mcp.md): the key file
                                       signs reviews and records, the API key pays for calls
  receipt ID                           a closed receipt with its inclusion proof (JSON: save it)
  receipts [--cursor C]                the closed receipts naming your account, with proofs (JSON)
  epoch MODEL N                        a closed settlement epoch's published root (JSON: save it)
  verify-receipt FILE|ID               check a receipt offline (docs/receipts.md): its leaf, its proof
         [--root HEX | --epoch-file F] against the trusted root (else the API's published one),
                                       the split against the fee and its transfers; exit 1 if not

  --api   API base URL (env COMMONS_API_URL, default http://127.0.0.1:8080)
  --key   key file (env COMMONS_KEY_FILE, default ~/.commons/key.json)
`;

export interface Io {
  out: Output;
  err: Output;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}
const VOTE_OPTIONS = ['yes', 'no', 'abstain', 'veto'] as const;
const BATCH = 1000;

/** Runs one command; returns the exit code (0 ok, 1 refused or failed, 2 bad usage). */
export async function run(
  argv: string[],
  io: Io = { out: process.stdout, err: process.stderr, env: process.env },
): Promise<number> {
  const say = (line = '') => io.out.write(line + '\n');
  let api = '';
  try {
    const { values: o, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        key: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        out: { type: 'string' },
        force: { type: 'boolean' },
        roles: { type: 'string' },
        name: { type: 'string' },
        asset: { type: 'string' },
        amount: { type: 'string' },
        file: { type: 'string' },
        watch: { type: 'boolean', short: 'w' },
        live: { type: 'boolean' },
        interval: { type: 'string' },
        label: { type: 'string' },
        'api-key': { type: 'string' },
        root: { type: 'string' },
        'epoch-file': { type: 'string' },
        cursor: { type: 'string' },
      },
    });
    const [cmd, ...args] = positionals;
    if (o.help || !cmd) {
      say(USAGE);
      return cmd || o.help ? 0 : 2;
    }
    api = (o.api ?? io.env.COMMONS_API_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    const keyFile = resolve(o.key ?? io.env.COMMONS_KEY_FILE ?? join(homedir(), '.commons', 'key.json'));
    const keys = (): KeyPair => {
      if (!existsSync(keyFile)) throw new Error(`no key file at ${keyFile} (create one with: commons keys new)`);
      return loadKeyFile(keyFile);
    };
    const signer = () => new CommonsClient(api, keys());
    const reader = () => new CommonsClient(api);
    const need = (v: string | undefined, what: string): string => {
      if (!v) throw new UsageError(`${cmd} needs ${what}`);
      return v;
    };
    const print = (json: unknown, text: () => void) => (o.json ? say(JSON.stringify(json, null, 2)) : text());

    switch (cmd) {
      case 'keys': {
        if (args[0] === 'new') {
          const path = resolve(o.out ?? keyFile);
          if (existsSync(path) && !o.force)
            throw new Error(`${path} already exists (use --force to replace it; the old key is lost)`);
          const k = generateKeyPair();
          saveKeyFile(path, k);
          print({ address: k.address, publicKey: k.publicKey, file: path }, () =>
            say(`${k.address}\nkey written to ${path} (keep it private)`),
          );
        } else if (args[0] === 'show') {
          const k = keys();
          print({ address: k.address, publicKey: k.publicKey, file: keyFile }, () =>
            say(`address     ${k.address}\npublic key  ${k.publicKey}\nfile        ${keyFile}`),
          );
        } else throw new UsageError('keys new | keys show');
        return 0;
      }
      case 'register': {
        const roles = need(o.roles, '--roles a,b')
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        const r = await signer().register(roles, o.name);
        print(r, () => say(`${r.address} registered: ${r.roles.join(', ')}`));
        return 0;
      }
      case 'account': {
        const a = await reader().account(args[0] ?? keys().address);
        print(a, () => {
          say(`address     ${a.address}\nroles       ${a.roles.join(', ')}`);
          for (const [asset, amount] of Object.entries(a.balances)) say(`${asset.padEnd(11)} ${amount}`);
          if (a.validatorStake !== '0') say(`stake       ${a.validatorStake}`);
        });
        return 0;
      }
      case 'faucet': {
        const asset = need(o.asset, '--asset OPEN|gOPEN');
        if (asset !== 'OPEN' && asset !== 'gOPEN') throw new UsageError('--asset is OPEN or gOPEN');
        const c = signer();
        const r = await c.faucet(asset, need(o.amount, '--amount N'));
        print(r, () =>
          say(
            `${c.address}: ${Object.entries(r.balances)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ')}`,
          ),
        );
        return 0;
      }
      case 'propose': {
        // The API validates the proposal and answers 400 with the reasons; the CLI only parses it.
        const body = JSON.parse(readFileSync(need(o.file, '--file proposal.json'), 'utf8')) as ProposalBody;
        const r = await signer().propose(body);
        print(r, () => say(r.proposalId));
        return 0;
      }
      case 'status': {
        const id = need(args[0], 'a proposal id');
        const c = reader();
        if (o.watch) {
          const interval = Number(o.interval ?? 1000);
          if (!Number.isFinite(interval) || interval < 50)
            throw new UsageError('--interval is milliseconds (at least 50)');
          const final = await watchStatus(() => c.proposal(id, { live: o.live }), io.out, {
            intervalMs: interval,
          });
          say(`final status: ${final.status}${final.reason ? ` (${final.reason})` : ''}, stage ${final.stage}`);
          return 0;
        }
        const s = await c.proposal(id, { live: o.live });
        print(s, () => say(renderStatusLine(s, { ascii: true })));
        return 0;
      }
      case 'vote': {
        const id = need(args[0], 'a proposal id');
        const option = VOTE_OPTIONS.find((v) => v === args[1]);
        if (!option) throw new UsageError(`vote ID ${VOTE_OPTIONS.join('|')}`);
        const r = await signer().vote(id, option);
        print(r, () =>
          say(
            `vote accepted: yes ${r.tally.yes}, no ${r.tally.no}, abstain ${r.tally.abstain}, veto ${r.tally.veto} of ${r.tally.total}`,
          ),
        );
        return 0;
      }
      case 'contribute': {
        const datanet = need(args[0], 'a datanet id');
        const { payloads, errors } = parseJsonl(readFileSync(need(o.file, '--file records.jsonl'), 'utf8'));
        if (errors.length)
          throw new Error(
            `${o.file}: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`,
          );
        if (!payloads.length) throw new Error(`${o.file} has no records`);
        const c = signer();
        const counts: Record<string, number> = {};
        for (const batch of chunk(payloads, BATCH)) {
          const r = await rateLimited(
            () => c.contributeBatch(datanet, batch),
            (line) => io.err.write(line + '\n'),
          );
          for (const x of r.results) counts[x.status] = (counts[x.status] ?? 0) + 1;
        }
        print({ records: payloads.length, counts }, () =>
          say(
            `${payloads.length} records: ${Object.entries(counts)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ')}`,
          ),
        );
        return 0;
      }
      case 'reviews': {
        const r = await reader().reviews(keys().address);
        print(r, () => {
          if (!r.tasks.length) say('no open review task');
          for (const t of r.tasks)
            say(
              `${t.id}  (${t.proposalId}, round ${t.round}, ${t.answers}/${t.requiredAnswers} answers)\n  ${t.prompt.replace(/\s+/g, ' ').slice(0, 200)}\n  choices: ${t.candidates.join(' | ')}`,
            );
        });
        return 0;
      }
      case 'review-bond': {
        const r = await signer().bondForReview(need(args[0], 'an amount'));
        print(r, () => say(`review bond ${r.bond} OPEN (minimum ${r.minBond})`));
        return 0;
      }
      case 'enlist': {
        const r = await signer().enlistForReview(need(args[0], 'a proposal id'));
        print(r, () => say(`enlisted for ${r.proposalId}'s review rounds (bond ${r.bond} OPEN)`));
        return 0;
      }
      case 'review': {
        const [task, choice] = args;
        const r = await signer().answerReview(need(task, 'a task id'), need(choice, 'a choice'));
        print(r, () => say(`answer accepted (${r.answers} answers)`));
        return 0;
      }
      case 'api-key': {
        if (args[0] !== 'new') throw new UsageError('api-key new [--label L]');
        const r = await signer().issueApiKey(o.label);
        print(r, () => say(`${r.apiKey}\n(id ${r.id}; shown once, keep it secret)`));
        return 0;
      }
      case 'infer': {
        const [model, text] = args;
        const apiKey = need(o['api-key'] ?? io.env.COMMONS_API_KEY, '--api-key KEY');
        const r = await reader().infer(need(model, 'a model name'), need(text, 'the input text'), apiKey);
        print(r, () => {
          const p = Object.entries(r.probabilities)
            .map(([k, v]) => `${k} ${v.toFixed(3)}`)
            .join(', ');
          say(`${r.output}  (${r.model} v${r.version}${p ? `; ${p}` : ''}; fee ${r.fee} OPEN)`);
          const contributors = r.attribution.contributors;
          if (contributors.length) say('attributed to:');
          for (const a of contributors) say(`  ${a.contributor}  ${(100 * a.weight).toFixed(1)}%`);
        });
        return 0;
      }
      case 'mcp': {
        // stdout carries the MCP messages: nothing else may be printed until the client hangs up.
        const apiKey = o['api-key'] ?? io.env.COMMONS_API_KEY;
        // Loaded here: the MCP SDK is needed by this command only.
        const { serveMcpOverStdio } = await import('../mcp/stdio.js');
        await serveMcpOverStdio(api, {
          ...(existsSync(keyFile) ? { keys: keys() } : {}),
          ...(apiKey ? { apiKey } : {}),
        });
        return 0;
      }
      case 'receipt': {
        say(JSON.stringify(await reader().receiptProof(need(args[0], 'a receipt id')), null, 2));
        return 0;
      }
      case 'receipts': {
        say(JSON.stringify(await signer().myReceipts({ cursor: o.cursor }), null, 2));
        return 0;
      }
      case 'epoch': {
        const [model, n] = args;
        const epoch = Number(need(n, 'an epoch number'));
        if (!Number.isInteger(epoch) || epoch < 1) throw new UsageError('the epoch is a positive integer');
        say(JSON.stringify(await reader().receiptEpoch(need(model, 'a model name'), epoch), null, 2));
        return 0;
      }
      case 'verify-receipt': {
        const target = need(args[0], 'a receipt file or id');
        const fromFile = existsSync(target);
        const bundle = fromFile
          ? (JSON.parse(readFileSync(target, 'utf8')) as ReceiptBundle)
          : await reader().receiptProof(target);
        const r = bundle.receipt;
        const trusted = o['epoch-file']
          ? (JSON.parse(readFileSync(o['epoch-file'], 'utf8')) as ReceiptEpoch)
          : o.root
            ? { model: r.model, epoch: r.epoch, root: o.root.toLowerCase() }
            : await reader().receiptEpoch(r.model, r.epoch);
        const problems = receiptProblems(bundle, trusted);
        // Another receipt's genuine proof verifies too: the API must answer for the id asked.
        if (!fromFile && r.id !== target)
          problems.unshift(`asked for receipt ${target}, the API answered with ${r.id}`);
        const source = o['epoch-file'] ? o['epoch-file'] : o.root ? '--root' : `${api} (published)`;
        print({ receipt: r.id, verified: problems.length === 0, problems, root: trusted.root, source }, () => {
          if (problems.length === 0)
            say(
              `receipt ${r.id} verifies: ${r.model} v${r.version}, epoch ${r.epoch} root ${trusted.root} (${source}); ` +
                `fee ${r.fee} OPEN split in ${r.splits.length} parts over ${r.splits.filter((s) => s.transfer).length} transfers`,
            );
          else for (const p of problems) io.err.write(`receipt ${r.id}: ${p}\n`);
        });
        return problems.length === 0 ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (err) {
    if (err instanceof ApiError) {
      const body = err.body as { error?: string; details?: unknown } | null;
      io.err.write(`error: ${err.status} ${body?.error ?? JSON.stringify(err.body)}\n`);
      if (body?.details !== undefined) io.err.write(`details: ${JSON.stringify(body.details)}\n`);
      return 1;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`error: ${(err as Error).message}\nrun commons --help for usage\n`);
      return 2;
    }
    const e = err as Error & { cause?: { code?: string; message?: string } };
    // fetch hides the connection error in its cause: show it, and where it tried.
    const cause = e.cause ? ` (${e.cause.code ?? e.cause.message})` : '';
    io.err.write(
      `error: ${e.message}${cause}${e.message === 'fetch failed' ? ` — is the API running at ${api}? (--api or COMMONS_API_URL)` : ''}\n`,
    );
    return 1;
  }
}

/**
 * Runs a request again after the wait a 429 asks for (the Datanet's per-contributor rate limit),
 * so a large file goes in at the allowed rate instead of failing half-way; any other error, and a
 * 429 without Retry-After (a batch larger than the burst), is the caller's.
 */
async function rateLimited<T>(send: () => Promise<T>, note: (line: string) => void, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await send();
    } catch (err) {
      const wait = err instanceof ApiError && err.status === 429 ? err.retryAfterSeconds : undefined;
      if (wait === undefined || i >= attempts) throw err;
      note(`rate limited: waiting ${wait}s`);
      await sleep(wait * 1000);
    }
  }
}
