// The Datanet views of the console: a contributor's (eligibility, submit a record or upload a file
// of them, each record's status, reasons, deposit and earnings over time) and a curator's (approve
// or reject with a reason, dataset versions, leaderboard). Same key (localStorage) and signing as
// the main console page.
import { importSeed } from './signing.js';
import { apiCall, reasonOf } from './api.js';
import { checkRecord, readRecords } from './records-file.js';
import { sendInBatches } from './upload.js';
import { $, h } from './dom.js';
import { readSealedRecord, sealerFor } from './sealed-read.js';

const KEY_STORAGE = 'commons.privateKey';
// Chart.js's UMD build (vendor/chart.umd.min.js, loaded before this module) defines the global.
const { Chart } = globalThis;
const state = { identity: null, datanet: null, curators: null, upload: null };

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
  let body;
  try {
    // An encrypted Datanet's record is sealed here: the API receives {envelope}, never the text.
    body = await sealerFor(state.datanet)(payloadOf(state.datanet.spec));
  } catch (err) {
    return notice('submit-notice', 'error', `the record could not be sealed: ${err.message}`);
  }
  const r = await api('POST', `/v1/datanets/${enc(id)}/contributions`, body);
  if (r.ok) notice('submit-notice', 'ok', `Record ${short(r.json.hash)} ${r.json.status}`);
  else notice('submit-notice', 'error', reasonOf(r));
  await loadContributor();
}

/**
 * Every page of a paginated list: `key` names the array in each answer, pages follow nextCursor.
 * Returns the items and the first answer (for its totals), or the refusal's reason.
 */
async function allPages(path, key) {
  const items = [];
  let first;
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api('GET', `${path}${sep}limit=200${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    if (!r.ok) return { error: reasonOf(r) };
    first ??= r.json;
    items.push(...r.json[key]);
    cursor = r.json.nextCursor ?? null;
  } while (cursor);
  return { items, first };
}

async function loadContributor() {
  const id = state.datanet.id;
  const me = state.identity?.address;
  if (!me) return;
  const el = await api('GET', `/v1/datanets/${enc(id)}/eligibility/${me}`);
  if (el.ok) {
    state.deposit = BigInt(el.json.deposit ?? '0');
    $('eligibility').replaceChildren(
      el.json.eligible
        ? h('p', { class: 'eligible' }, `You may contribute. Deposit per record: ${el.json.deposit} OPEN.`)
        : h(
            'ul',
            { class: 'missing' },
            el.json.missing.map((m) => h('li', {}, `${m.requirement}: ${m.reason}`)),
          ),
    );
  }
  const rec = await allPages(`/v1/datanets/${enc(id)}/contributors/${me}/records`, 'records');
  if (rec.error) return notice('submit-notice', 'error', rec.error);
  $('earned').textContent = `Earned on this Datanet: ${rec.first?.earned ?? '0'} OPEN`;
  $('records')
    .querySelector('tbody')
    .replaceChildren(
      ...rec.items.map((r) =>
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
  await loadEarnings();
}

/** The contributor's OPEN earned from this Datanet's proposal, summed over time, as a Chart.js line. */
async function loadEarnings() {
  const me = state.identity.address;
  const rw = await allPages(`/v1/accounts/${me}/rewards`, 'rewards');
  if (rw.error) return notice('submit-notice', 'error', rw.error);
  const mine = rw.items
    .filter((r) => r.asset === 'OPEN' && r.proposalId === state.datanet.proposalId)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  let total = 0;
  const points = mine.map((r) => ({ x: Date.parse(r.at), y: (total += Number(r.amount)) }));
  const canvas = $('earnings-chart');
  const data = {
    datasets: [{ label: 'OPEN earned (cumulative)', data: points, stepped: true, borderColor: '#2a6' }],
  };
  const chart = Chart.getChart(canvas);
  if (chart) {
    chart.data = data;
    chart.update();
    return;
  }
  new Chart(canvas, {
    type: 'line',
    data,
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        // A linear axis of epoch milliseconds: Chart.js's time axis needs a date adapter.
        x: {
          type: 'linear',
          ticks: { callback: (v) => new Date(v).toLocaleString(), maxTicksLimit: 4 },
          title: { display: true, text: 'time' },
        },
        y: { beginAtZero: true, title: { display: true, text: 'OPEN' } },
      },
    },
  });
}

// ---------- contributor upload ----------

function uploadNotice(kind, text) {
  notice('upload-notice', kind, text);
}

function refusedRow({ line, reason }) {
  $('upload-refused').append(h('li', { class: 'refused', 'data-line': line }, `row ${line}: ${reason}`));
}

async function onUpload(ev) {
  ev.preventDefault();
  const file = $('upload-file').files?.[0];
  if (!file) return uploadNotice('error', 'Pick a CSV or JSONL file first.');
  const spec = state.datanet.spec;
  let rows;
  try {
    rows = readRecords(file.name, await file.text(), spec);
  } catch (err) {
    return uploadNotice('error', err.message);
  }
  // Rows the spec refuses are reported here and never sent.
  const good = [];
  $('upload-refused').replaceChildren();
  let refusedHere = 0;
  for (const r of rows) {
    const errors = r.errors ?? checkRecord(spec, r.payload);
    if (errors.length) {
      refusedHere++;
      refusedRow({ line: r.line, reason: `invalid: ${errors.join('; ')}` });
    } else good.push(r);
  }
  const counts = { sent: 0, accepted: 0, refused: 0 };
  const show = () => {
    $('upload-progress').max = Math.max(1, good.length);
    $('upload-progress').value = counts.sent;
    $('upload-counts').textContent =
      `${counts.sent} of ${good.length} records sent · ${counts.accepted} accepted · ${counts.refused + refusedHere} refused` +
      (refusedHere ? ` (${refusedHere} by the Datanet's rules before sending)` : '');
  };
  $('upload-progress-view').hidden = false;
  $('upload-refused-view').open = rows.length - good.length > 0;
  show();
  if (!good.length) return uploadNotice('error', `${file.name}: no row matches the Datanet's fields.`);

  // The deposit is held per new record: a batch the balance cannot cover is refused whole (402).
  if (state.deposit > 0n) {
    const acct = await api('GET', `/v1/accounts/${state.identity.address}`);
    const balance = BigInt(acct.ok ? (acct.json.balances?.OPEN ?? '0') : '0');
    const need = state.deposit * BigInt(good.length);
    if (balance < need)
      return uploadNotice(
        'error',
        `These ${good.length} records hold ${need} OPEN in deposits (${state.deposit} each) and the balance is ${balance} OPEN: send at most ${balance / state.deposit} of them.`,
      );
  }

  const signal = { cancelled: false };
  state.upload = signal;
  $('upload-start').disabled = true;
  $('upload-cancel').disabled = false;
  uploadNotice(
    'info',
    `${state.datanet.encryption ? 'Sealing in this browser and sending' : 'Sending'} ${good.length} records from ${file.name}…`,
  );
  const id = state.datanet.id;
  try {
    const out = await sendInBatches(good, {
      post: (body) => api('POST', `/v1/datanets/${enc(id)}/contributions/batch`, body),
      toRecord: sealerFor(state.datanet),
      reasonOf,
      signal,
      onProgress: (c) => {
        Object.assign(counts, c);
        show();
      },
      onRefused: (r) => {
        refusedRow(r);
        $('upload-refused-view').open = true;
      },
    });
    if (out.stopped === 'cancelled') uploadNotice('info', `Cancelled after ${counts.sent} of ${good.length} records.`);
    else if (out.stopped)
      uploadNotice('error', `Stopped after ${counts.sent} of ${good.length} records: ${out.stopped}`);
    else
      uploadNotice(
        'ok',
        `Done: ${counts.accepted} of ${rows.length} rows accepted, ${counts.refused + refusedHere} refused.`,
      );
  } catch (err) {
    uploadNotice('error', `Stopped after ${counts.sent} of ${good.length} records: ${err.message}`);
  } finally {
    state.upload = null;
    $('upload-start').disabled = false;
    $('upload-cancel').disabled = true;
  }
  await loadContributor();
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

/**
 * An encrypted Datanet's record in the queue: nothing is read until the curator asks, and each read
 * is opened in this page (sealed to a key made for it) and written to the contributor's access log.
 */
function sealedPayload(hash) {
  const out = h('pre', { class: 'payload sealed' }, "Encrypted: reading it is logged in the contributor's access log.");
  const button = h('button', { type: 'button', class: 'ghost', 'data-read': hash }, 'Read (logged)');
  button.onclick = async () => {
    button.disabled = true;
    try {
      const r = await readSealedRecord(state.identity, state.datanet.id, hash);
      if (!r.ok) return notice('curation-notice', 'error', reasonOf(r));
      out.textContent = textOf(r.payload);
      button.remove();
    } catch (err) {
      notice('curation-notice', 'error', `the record could not be opened: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  };
  return h('div', { class: 'sealed-record' }, out, button);
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
        q.json.encrypted ? sealedPayload(r.hash) : h('pre', { class: 'payload' }, textOf(r.payload)),
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
  $('sealed-note').hidden = !d.json.encryption;
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
  $('upload-form').addEventListener('submit', onUpload);
  $('upload-cancel').addEventListener('click', () => {
    if (state.upload) state.upload.cancelled = true;
  });
  const fromUrl = new URLSearchParams(location.search).get('datanet');
  if (fromUrl) {
    $('datanet-id').value = fromUrl;
    await openDatanet();
  }
}

start().catch((err) => notice('datanet-summary', 'error', err.message));
