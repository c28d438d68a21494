// The Datanet views of the console: a contributor's (eligibility, submit a record, each record's
// status, reasons, deposit and earnings) and a curator's (approve or reject with a reason, dataset
// versions, leaderboard). Same key (localStorage) and signing as the main console page.
import { importSeed } from './signing.js';
import { apiCall, reasonOf } from './api.js';

const KEY_STORAGE = 'commons.privateKey';
const state = { identity: null, datanet: null, curators: null };
const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity))
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function notice(where, kind, text) {
  $(where).replaceChildren(h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text));
}

// Every call on this page but reads is signed.
const api = (method, path, body, { sign = method !== 'GET' } = {}) =>
  apiCall(state.identity, method, path, body, { sign });
const short = (hash) => hash.slice(0, 12) + '…';
const enc = encodeURIComponent;

// ---------- contributor view ----------

function recordForm(spec) {
  const form = $('record-form');
  const inputs = spec.fields.map((f) => {
    let input;
    if (f.type === 'enum')
      input = h(
        'select',
        { name: f.name },
        f.values.map((v) => h('option', { value: v }, v)),
      );
    else if (f.type === 'boolean') input = h('input', { name: f.name, type: 'checkbox' });
    else if (f.type === 'number' || f.type === 'integer') input = h('input', { name: f.name, type: 'number' });
    else if (f.name === spec.textField) input = h('textarea', { name: f.name, rows: 5 });
    else input = h('input', { name: f.name });
    input.dataset.type = f.type;
    return h('label', { class: 'field' }, h('span', {}, f.name), input);
  });
  form.replaceChildren(...inputs, h('button', { id: 'record-submit', type: 'submit' }, 'Submit record'));
}

function payloadOf(spec) {
  const payload = {};
  for (const f of spec.fields) {
    const el = $('record-form').elements.namedItem(f.name);
    if (f.type === 'boolean') payload[f.name] = el.checked;
    else if (el.value === '') continue;
    else if (f.type === 'number' || f.type === 'integer') payload[f.name] = Number(el.value);
    else payload[f.name] = el.value;
  }
  return payload;
}

async function onSubmitRecord(ev) {
  ev.preventDefault();
  const id = state.datanet.id;
  const r = await api('POST', `/v1/datanets/${enc(id)}/contributions`, { payload: payloadOf(state.datanet.spec) });
  if (r.ok) notice('submit-notice', 'ok', `Record ${short(r.json.hash)} ${r.json.status}`);
  else notice('submit-notice', 'error', reasonOf(r));
  await loadContributor();
}

async function loadContributor() {
  const id = state.datanet.id;
  const me = state.identity?.address;
  if (!me) return;
  const el = await api('GET', `/v1/datanets/${enc(id)}/eligibility/${me}`);
  if (el.ok)
    $('eligibility').replaceChildren(
      el.json.eligible
        ? h('p', { class: 'eligible' }, `You may contribute. Deposit per record: ${el.json.deposit} OPEN.`)
        : h(
            'ul',
            { class: 'missing' },
            el.json.missing.map((m) => h('li', {}, `${m.requirement}: ${m.reason}`)),
          ),
    );
  const rec = await api('GET', `/v1/datanets/${enc(id)}/contributors/${me}/records`);
  if (!rec.ok) return notice('submit-notice', 'error', reasonOf(rec));
  $('earned').textContent = `Earned on this Datanet: ${rec.json.earned} OPEN`;
  $('records')
    .querySelector('tbody')
    .replaceChildren(
      ...rec.json.records.map((r) =>
        h(
          'tr',
          { class: 'record', 'data-hash': r.hash },
          h('td', {}, h('code', {}, short(r.hash))),
          h('td', { class: 'status' }, r.status),
          h(
            'td',
            { class: 'reasons' },
            [r.decisionReason ? `curator (${r.decision}): ${r.decisionReason}` : null, ...(r.reasons ?? [])]
              .filter(Boolean)
              .join('; '),
          ),
          h('td', { class: 'deposit' }, r.deposit === null ? '—' : `${r.deposit} (${r.depositOutcome})`),
          h('td', { class: 'earnings' }, r.earnings),
        ),
      ),
    );
}

// ---------- curator view ----------

async function decide(hash, decision, reason) {
  const id = state.datanet.id;
  const r = await api('POST', `/v1/datanets/${enc(id)}/curation`, { decisions: [{ hash, decision, reason }] });
  if (!r.ok) return notice('curation-notice', 'error', reasonOf(r));
  const v = r.json.version;
  notice(
    'curation-notice',
    'ok',
    `${decision === 'approve' ? 'Approved' : 'Rejected'} ${short(hash)}` +
      (v
        ? ` — dataset version ${v.version}, root ${short(v.merkleRoot)}`
        : r.json.applied
          ? ''
          : ' — applied when the dataset is built'),
  );
  // Only the decided item leaves the queue: re-rendering it all would drop a reason the curator is
  // typing for the next one meanwhile.
  document.querySelector(`#queue article.queue-item[data-hash="${hash}"]`)?.remove();
  if (!document.querySelector('#queue article.queue-item'))
    $('queue').replaceChildren(h('p', { class: 'empty' }, 'Nothing waits for a decision.'));
  await loadVersionsAndLeaderboard();
}

function textOf(payload) {
  const tf = state.datanet.spec.textField;
  return payload && typeof payload === 'object' && typeof payload[tf] === 'string'
    ? payload[tf]
    : JSON.stringify(payload);
}

async function loadCurator() {
  const id = state.datanet.id;
  const q = await api('GET', `/v1/datanets/${enc(id)}/curation/queue`, undefined, { sign: true });
  if (!q.ok) return notice('curation-notice', 'error', reasonOf(q));
  $('queue').replaceChildren(
    ...(q.json.records.length ? [] : [h('p', { class: 'empty' }, 'Nothing waits for a decision.')]),
    ...q.json.records.map((r) => {
      const reason = h('input', { class: 'reason', placeholder: 'reason (required)' });
      const act = (decision) => () => {
        if (!reason.value.trim()) return notice('curation-notice', 'error', 'Give a reason for the decision.');
        return decide(r.hash, decision, reason.value.trim());
      };
      return h(
        'article',
        { class: 'queue-item', 'data-hash': r.hash },
        h('p', { class: 'meta' }, `${short(r.hash)} by ${r.contributor} — ${r.status}`),
        h('pre', { class: 'payload' }, textOf(r.payload)),
        reason,
        h('button', { type: 'button', 'data-decision': 'approve', onclick: act('approve') }, 'Approve'),
        h('button', { type: 'button', 'data-decision': 'reject', class: 'ghost', onclick: act('reject') }, 'Reject'),
      );
    }),
  );
  await loadVersionsAndLeaderboard();
}

async function loadVersionsAndLeaderboard() {
  const id = state.datanet.id;
  const v = await api('GET', `/v1/datanets/${enc(id)}/versions`);
  if (v.ok)
    $('versions').replaceChildren(
      ...v.json.versions.map((x) =>
        h(
          'li',
          { class: 'version', 'data-version': x.version },
          `v${x.version}: ${x.records} records, root ${x.merkleRoot}`,
        ),
      ),
    );
  const l = await api('GET', `/v1/datanets/${enc(id)}/leaderboard`);
  if (l.ok)
    $('leaderboard').replaceChildren(
      ...l.json.leaderboard.map((x) =>
        h(
          'li',
          {},
          `${x.contributor}: ${(x.acceptanceRate * 100).toFixed(0)}% of decided (${x.accepted}/${x.submitted})`,
        ),
      ),
    );
}

// ---------- page ----------

async function openDatanet(ev) {
  ev?.preventDefault();
  const id = $('datanet-id').value.trim();
  if (!id) return;
  const d = await api('GET', `/v1/datanets/${enc(id)}`);
  if (!d.ok) return notice('datanet-summary', 'error', reasonOf(d));
  state.datanet = d.json;
  const c = await api('GET', `/v1/datanets/${enc(id)}/curators`);
  state.curators = c.ok ? c.json : { owner: '', curators: [] };
  const me = state.identity?.address;
  const curates = me && (me === state.curators.owner || state.curators.curators.includes(me));
  $('datanet-summary').replaceChildren(
    h(
      'p',
      {},
      `${d.json.id}: ${d.json.status}; `,
      Object.entries(d.json.counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'no records yet',
    ),
  );
  $('contributor-card').hidden = false;
  $('curator-card').hidden = !curates;
  recordForm(d.json.spec);
  await loadContributor();
  if (curates) await loadCurator();
}

async function start() {
  const seed = localStorage.getItem(KEY_STORAGE);
  if (seed) {
    state.identity = await importSeed(seed);
    $('address').textContent = state.identity.address;
  }
  $('datanet-form').addEventListener('submit', openDatanet);
  $('record-form').addEventListener('submit', onSubmitRecord);
  const fromUrl = new URLSearchParams(location.search).get('datanet');
  if (fromUrl) {
    $('datanet-id').value = fromUrl;
    await openDatanet();
  }
}

start().catch((err) => notice('datanet-summary', 'error', err.message));
