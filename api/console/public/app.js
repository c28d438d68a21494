// The Commons web console: one page, vanilla JS, talking to the public API of this origin.
import { importSeed, generateSeed } from './signing.js';
import { apiCall, reasonOf } from './api.js';
import { tallyRules } from './tally-rules.js';
import { $, h } from './dom.js';

const KEY_STORAGE = 'commons.privateKey';
const SELF_ASSIGNABLE = ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder'];
const VOTE_OPTIONS = ['yes', 'no', 'abstain', 'veto'];
const AUTO_REFRESH_MS = 5000;
// Chart.js's UMD build (vendor/chart.umd.min.js, loaded before this module) defines the global.
const { Chart } = globalThis;

const state = {
  identity: null,
  account: undefined, // undefined: not loaded; null: not registered
  proposals: [],
  tallies: {},
  /** GET /v1/proposals/:id per proposal in governance: what it asks for */
  details: {},
  tasks: [],
  /** per-item outcome of the last action (keyed 'p:<id>' / 't:<id>'), kept across refreshes */
  notices: {},
  lastRendered: '',
};

// ---------- DOM helpers (h and $ from dom.js) ----------

function notice(n) {
  return n
    ? h(
        'div',
        { class: `notice ${n.kind}`, 'data-kind': n.kind, role: n.kind === 'error' ? 'alert' : 'status' },
        n.text,
      )
    : null;
}

function showMessage(kind, text) {
  const m = $('message');
  m.hidden = !text;
  m.className = `notice ${kind}`;
  m.textContent = text ?? '';
}

// ---------- API ----------

const api = (method, path, body, opts) => apiCall(state.identity, method, path, body, opts);

// ---------- loading ----------

async function loadAll() {
  if (!state.identity) return render();
  const acct = await api('GET', `/v1/accounts/${state.identity.address}`);
  if (acct.ok) state.account = acct.json;
  else if (acct.status === 404) state.account = null;
  else return showMessage('error', `Could not load the account: ${reasonOf(acct)}`);
  const roles = state.account?.roles ?? [];

  if (roles.includes('governor')) {
    const list = await api('GET', '/v1/proposals?stage=governance&status=running');
    if (list.ok) {
      state.proposals = list.json.proposals;
      const tallies = await Promise.all(
        state.proposals.map((p) => api('GET', `/v1/proposals/${encodeURIComponent(p.id)}/tally`)),
      );
      state.tallies = Object.fromEntries(state.proposals.map((p, i) => [p.id, tallies[i].ok ? tallies[i].json : null]));
      // Everything each proposal asks for (parameters, budget, stake), shown before anyone votes.
      const details = await Promise.all(
        state.proposals.map((p) => api('GET', `/v1/proposals/${encodeURIComponent(p.id)}`)),
      );
      const asks = (d) =>
        d && { description: d.description, rationale: d.rationale, stake: d.stake, budget: d.budget, params: d.params };
      state.details = Object.fromEntries(
        state.proposals.map((p, i) => [p.id, details[i].ok ? asks(details[i].json) : null]),
      );
    } else showMessage('error', `Could not list proposals: ${reasonOf(list)}`);
  } else state.proposals = [];

  if (roles.includes('reviewer') || roles.includes('validator')) {
    const r = await api('GET', `/v1/reviews?reviewer=${encodeURIComponent(state.identity.address)}`);
    if (r.ok) state.tasks = r.json.tasks;
    else showMessage('error', `Could not list review tasks: ${reasonOf(r)}`);
  } else state.tasks = [];
  render();
}

// ---------- actions ----------

async function useSeed(seed) {
  const identity = await importSeed(seed);
  state.identity = identity;
  localStorage.setItem(KEY_STORAGE, identity.privateKey);
  state.account = undefined;
  state.notices = {};
  showMessage('info', '');
  await loadAll();
}

async function onImport() {
  let value = $('key-input').value.trim();
  // A whole key file ({"privateKey": ...}) may be pasted as well as the bare seed.
  if (value.startsWith('{')) {
    try {
      value = JSON.parse(value).privateKey ?? '';
    } catch {
      return showMessage('error', 'That is not a key file (JSON with a privateKey).');
    }
  }
  try {
    await useSeed(value);
  } catch (err) {
    showMessage('error', `Could not import the key: ${err.message}`);
  }
}

async function onGenerate() {
  try {
    await useSeed(await generateSeed());
    showMessage('info', 'A new key was generated and saved in this browser. Register it below to take roles.');
  } catch (err) {
    showMessage('error', `This browser cannot generate Ed25519 keys: ${err.message}`);
  }
}

function onForget() {
  if (!confirm('Forget this key? Without a copy of the private key you cannot use this account again.')) return;
  localStorage.removeItem(KEY_STORAGE);
  Object.assign(state, {
    identity: null,
    account: undefined,
    proposals: [],
    tallies: {},
    details: {},
    tasks: [],
    notices: {},
  });
  render();
}

async function onRegister() {
  const roles = [...document.querySelectorAll('#account-view input[name=role]:checked')].map((i) => i.value);
  if (!roles.length) return showMessage('error', 'Pick at least one role.');
  const res = await api('POST', '/v1/accounts', { roles }, { sign: true });
  if (res.ok) showMessage('ok', `Registered with roles ${res.json.roles.join(', ')}.`);
  else showMessage('error', `Registration refused: ${reasonOf(res)}`);
  await loadAll();
}

async function onVote(proposalId, option, button) {
  button.disabled = true;
  const res = await api('POST', `/v1/proposals/${encodeURIComponent(proposalId)}/votes`, { option }, { sign: true });
  if (res.ok) {
    const t = res.json.tally;
    state.notices[`p:${proposalId}`] = {
      kind: 'ok',
      text: `Vote "${option}" accepted — tally: yes ${t.yes}, no ${t.no}, abstain ${t.abstain}, veto ${t.veto} of ${t.total}`,
    };
  } else {
    state.notices[`p:${proposalId}`] = { kind: 'error', text: `Vote refused: ${reasonOf(res)}` };
  }
  // A vote that decides the proposal takes it out of governance, and its card with it: the banner keeps the outcome.
  const n = state.notices[`p:${proposalId}`];
  showMessage(n.kind, `${proposalId}: ${n.text}`);
  await loadAll();
}

async function onAnswer(taskId, choice, button) {
  button.disabled = true;
  const res = await api('POST', `/v1/reviews/${encodeURIComponent(taskId)}`, { choice }, { sign: true });
  state.notices[`t:${taskId}`] = res.ok
    ? { kind: 'ok', text: `Answer recorded (${res.json.answers ?? '?'} answers so far).` }
    : { kind: 'error', text: `Answer refused: ${reasonOf(res)}` };
  // An answered task leaves the list, so its outcome is shown in the card's banner too.
  const n = state.notices[`t:${taskId}`];
  state.reviewNotice = { ...n, text: `Task ${taskId}: ${n.text}` };
  await loadAll();
}

// ---------- rendering ----------

function render() {
  const snapshot = JSON.stringify([
    state.identity?.address,
    state.account,
    state.proposals,
    state.tallies,
    state.details,
    state.tasks,
    state.notices,
    state.reviewNotice,
  ]);
  if (snapshot === state.lastRendered) return;
  state.lastRendered = snapshot;
  renderKey();
  const registered = !!state.account;
  $('account-card').hidden = !state.identity;
  if (state.identity) renderAccount();
  const roles = state.account?.roles ?? [];
  $('governance-card').hidden = !registered || !roles.includes('governor');
  if (!$('governance-card').hidden) renderGovernance();
  $('reviews-card').hidden = !registered || !(roles.includes('reviewer') || roles.includes('validator'));
  if (!$('reviews-card').hidden) renderReviews();
}

function renderKey() {
  const view = $('key-view');
  if (!state.identity) {
    view.replaceChildren(
      h(
        'p',
        { class: 'muted' },
        'Paste your private key (the 64-hex privateKey of a key file from `commons keys new`, or the whole file), or generate a new key in this browser.',
      ),
      h(
        'div',
        { class: 'row' },
        h('input', {
          id: 'key-input',
          type: 'password',
          placeholder: 'private key (64 hex) or key file JSON',
          autocomplete: 'off',
          spellcheck: 'false',
        }),
        h('button', { id: 'key-import', type: 'button', onclick: onImport }, 'Import key'),
        h(
          'button',
          { id: 'key-generate', type: 'button', class: 'secondary', onclick: onGenerate },
          'Generate new key',
        ),
      ),
    );
    return;
  }
  const id = state.identity;
  view.replaceChildren(
    h(
      'dl',
      { class: 'kv' },
      h('dt', {}, 'Address'),
      h('dd', { id: 'address', class: 'mono' }, id.address),
      h('dt', {}, 'Public key'),
      h('dd', { class: 'mono' }, id.publicKey),
    ),
    h(
      'div',
      { class: 'row' },
      h('details', {}, h('summary', { class: 'muted' }, 'Show private key'), h('p', { class: 'mono' }, id.privateKey)),
      h('button', { id: 'key-forget', type: 'button', class: 'secondary', onclick: onForget }, 'Forget key'),
    ),
  );
}

function renderAccount() {
  const a = state.account;
  const have = new Set(a?.roles ?? []);
  const picker = h(
    'div',
    { class: 'row roles-pick' },
    SELF_ASSIGNABLE.map((r) =>
      h(
        'label',
        {},
        h('input', { type: 'checkbox', name: 'role', value: r, checked: have.has(r), disabled: have.has(r) }),
        ' ',
        r,
      ),
    ),
    h('button', { id: 'register', type: 'button', onclick: onRegister }, a ? 'Add roles' : 'Register'),
  );
  if (a === undefined) return $('account-view').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  if (a === null) {
    return $('account-view').replaceChildren(
      h('p', { id: 'account-status' }, 'This key is not registered yet. Choose roles and register:'),
      picker,
    );
  }
  const balances = Object.entries(a.balances ?? {});
  $('account-view').replaceChildren(
    h(
      'dl',
      { class: 'kv' },
      h('dt', {}, 'Roles'),
      h(
        'dd',
        { id: 'roles' },
        a.roles.map((r) => h('span', { class: 'chip' }, r)),
      ),
      a.delegatedTo ? [h('dt', {}, 'Delegates to'), h('dd', { class: 'mono' }, a.delegatedTo)] : null,
    ),
    h(
      'div',
      { class: 'balances', id: 'balances' },
      (balances.length ? balances : [['OPEN', '0']]).map(([asset, amount]) =>
        h('div', { class: 'balance', 'data-asset': asset }, h('span', { class: 'muted' }, asset), h('b', {}, amount)),
      ),
      a.validatorStake && a.validatorStake !== '0'
        ? h(
            'div',
            { class: 'balance', 'data-asset': 'stake' },
            h('span', { class: 'muted' }, 'validator stake'),
            h('b', {}, a.validatorStake),
          )
        : null,
    ),
    h('p', { class: 'muted' }, 'Take more roles:'),
    picker,
  );
}

function tallyView(t) {
  if (!t?.tally) return h('div', { class: 'tally' }, 'no tally yet');
  const x = t.tally;
  const total = Number(x.total) || 0;
  const pct = (v) => (total ? `${(100 * Number(v)) / total}%` : '0%');
  return [
    h(
      'div',
      { class: 'bar', title: `turnout ${x.turnout !== undefined ? Math.round(x.turnout * 100) : '?'}%` },
      VOTE_OPTIONS.map((o) => h('span', { class: o, style: { width: pct(x[o]) } })),
    ),
    h(
      'div',
      { class: 'tally', 'data-testid': 'tally' },
      VOTE_OPTIONS.map((o) => [`${o} `, h('b', { 'data-option': o }, x[o]), ' · ']),
      `of ${x.total} power`,
      t.open ? ' · voting open' : ` · closed${t.outcome ? ` (${t.outcome})` : ''}`,
    ),
  ];
}

/** What a proposal asks governors to approve: its budget, stake, the rules it runs under and every parameter. */
function asksView(d) {
  if (!d) return null;
  const p = d.params ?? {};
  const g = p.governance ?? {};
  const s = p.serving ?? {};
  const b = d.budget ?? { asked: '0' };
  const shares = s.shares
    ? Object.entries(s.shares)
        .map(([k, v]) => `${k} ${Math.round(v * 1000) / 10}%`)
        .join(', ')
    : '';
  return h(
    'details',
    { class: 'asks', 'data-testid': 'asks', open: true },
    h(
      'summary',
      {},
      'Asks for: budget ',
      h('b', { 'data-field': 'budget' }, `${b.asked} OPEN`),
      ` from the treasury · stake ${d.stake} OPEN · reward pool ${s.rewardPool ?? '0'} OPEN`,
    ),
    h('p', {}, d.description ?? ''),
    d.rationale ? h('p', { class: 'muted' }, d.rationale) : null,
    h(
      'ul',
      {},
      h(
        'li',
        {},
        `vote: quorum ${g.quorum}, pass above ${g.passThreshold}, veto above ${g.vetoThreshold}, period ${Math.round((g.votingPeriodMs ?? 0) / 1000)} s`,
      ),
      h(
        'li',
        {},
        `review reward ${p.rlhf?.agreementReward ?? '?'} OPEN per agreeing answer (from the budget), penalty ${p.rlhf?.disagreementPenalty ?? '?'} OPEN`,
      ),
      h('li', {}, `fee ${s.feePerCall ?? '?'} OPEN per call, split ${shares}`),
      h('li', {}, `gate: accuracy ≥ ${p.deployment?.minAccuracy}, macro-F1 ≥ ${p.deployment?.minMacroF1}`),
    ),
    // Scrolls when long: focusable, so a keyboard can scroll it too.
    h('pre', { class: 'mono params', tabindex: 0, 'aria-label': 'all parameters' }, JSON.stringify(p, null, 2)),
  );
}

/** Where the vote stands against the rules it closes under (tally-rules.js), as numbers and as a Chart.js bar chart. */
function rulesView(t, d) {
  const g = d?.params?.governance;
  if (!t?.tally || !g) return null;
  const rules = tallyRules(t.tally, g);
  const round = (v) => Math.round(v * 1000) / 10;
  const pct = (v) => `${round(v)}%`;
  const canvas = h('canvas', {
    class: 'rules-chart',
    role: 'img',
    'aria-label': rules.map((r) => `${r.label} ${pct(r.now)} against ${pct(r.need)}`).join('; '),
  });
  const box = h(
    'div',
    { class: 'rules', 'data-testid': 'rules' },
    h(
      'ul',
      { class: 'rules-list' },
      rules.map((r) =>
        h(
          'li',
          { 'data-rule': r.key, class: r.met ? 'met' : 'unmet' },
          `${r.label} ${pct(r.now)} — ${r.key === 'veto' ? 'vetoes above' : r.key === 'pass' ? 'passes above' : 'quorum'} ${pct(r.need)}`,
          r.met ? ' ✓' : ' ✗',
        ),
      ),
    ),
    h('div', { class: 'chart-box small' }, canvas),
  );
  // Drawn once the canvas is in the document (Chart.js measures its container).
  queueMicrotask(() => {
    if (!Chart || !canvas.isConnected) return;
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: rules.map((r) => r.label),
        datasets: [
          { label: 'now', data: rules.map((r) => round(r.now)), backgroundColor: '#3a7bd5' },
          { label: 'rule', data: rules.map((r) => round(r.need)), backgroundColor: '#bbb' },
        ],
      },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 100, title: { display: true, text: '%' } } },
      },
    });
  });
  return box;
}

function renderGovernance() {
  const view = $('governance-view');
  if (!state.proposals.length)
    return view.replaceChildren(
      h('p', { class: 'muted', id: 'no-proposals' }, 'No proposal is in governance right now.'),
    );
  const me = state.identity.address;
  // The charts of the previous render go with their canvases.
  for (const c of view.querySelectorAll('canvas')) Chart?.getChart(c)?.destroy();
  view.replaceChildren(
    ...state.proposals.map((p) => {
      const t = state.tallies[p.id];
      const mine = t?.votes?.find((v) => v.voter === me);
      return h(
        'article',
        { class: 'item proposal', 'data-proposal-id': p.id },
        h('h3', {}, p.title),
        h(
          'div',
          { class: 'muted' },
          `${p.modelName} · ${p.domain} · stake ${p.stake} OPEN · `,
          h('span', { class: 'mono' }, p.id),
        ),
        asksView(state.details?.[p.id]),
        tallyView(t),
        rulesView(t, state.details?.[p.id]),
        mine ? h('div', { class: 'muted your-vote' }, `You voted ${mine.option} with ${mine.power} power.`) : null,
        h(
          'div',
          { class: 'row' },
          VOTE_OPTIONS.map((o) =>
            h(
              'button',
              {
                type: 'button',
                class: `vote vote-${o}`,
                'data-option': o,
                onclick: (e) => onVote(p.id, o, e.currentTarget),
              },
              o,
            ),
          ),
        ),
        notice(state.notices[`p:${p.id}`]),
      );
    }),
  );
}

function renderReviews() {
  const view = $('reviews-view');
  const banner = notice(state.reviewNotice);
  if (!state.tasks.length)
    return view.replaceChildren(
      banner ?? '',
      h('p', { class: 'muted', id: 'no-tasks' }, 'No open review task for you.'),
    );
  view.replaceChildren(
    banner ?? '',
    ...state.tasks.map((t) =>
      h(
        'article',
        { class: 'item task', 'data-task-id': t.id },
        h('h3', {}, `Round ${t.round} of `, h('span', { class: 'mono' }, t.proposalId)),
        h('div', { class: 'muted' }, `${t.answers}/${t.requiredAnswers} answers · pick the best candidate`),
        h('div', { class: 'prompt' }, t.prompt),
        h(
          'div',
          { class: 'choices' },
          (t.candidates ?? []).map((c) =>
            h(
              'button',
              { type: 'button', class: 'choice', 'data-choice': c, onclick: (e) => onAnswer(t.id, c, e.currentTarget) },
              c,
            ),
          ),
        ),
        notice(state.notices[`t:${t.id}`]),
      ),
    ),
  );
}

// ---------- start ----------

async function start() {
  $('refresh').addEventListener('click', () => {
    state.lastRendered = '';
    loadAll();
  });
  if (!globalThis.crypto?.subtle)
    return showMessage('error', 'This page needs WebCrypto (a secure context: https or localhost).');
  const saved = localStorage.getItem(KEY_STORAGE);
  if (saved) {
    try {
      state.identity = await importSeed(saved);
    } catch (err) {
      showMessage('error', `The saved key could not be loaded: ${err.message}`);
    }
  }
  render();
  await loadAll();
  setInterval(() => {
    if (document.visibilityState === 'visible' && state.identity) loadAll().catch(() => {});
  }, AUTO_REFRESH_MS);
}

start();
