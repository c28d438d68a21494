/* global Chart -- defined by vendor/chart.umd.min.js, loaded before this module */
// The public explorer: what Commons serves, decides and collects, read from the public API with no
// key. Mounted into #explorer on explorer.html, and on the console's landing page (data-unless-key)
// only while this browser holds no key. Charts are Chart.js (the global `Chart`, vendor/).
import { tallyRules } from './tally-rules.js';
import { h } from './dom.js';

const KEY_STORAGE = 'commons.privateKey';
const REFRESH_MS = 5000;
/** Proposals whose tallies are drawn: the newest ones (each is one request per refresh). */
const MAX_TALLIES = 20;
const LEADERBOARD_SIZE = 5;

const COLORS = { yes: '#2e9e5b', no: '#d04437', abstain: '#98a2b3', veto: '#7a2e8e', rule: '#1d2330', bar: '#2f5bea' };

// ---------- DOM helpers (h from dom.js) ----------

const kv = (pairs) =>
  h(
    'dl',
    { class: 'kv' },
    pairs.filter(Boolean).map(([k, v, cls]) => [h('dt', {}, k), h('dd', { class: cls }, v)]),
  );

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
const open = (units) => `${units} OPEN`;
/** A long address, shortened for reading; the whole one is in the title. */
const addr = (a) => h('span', { class: 'mono addr', title: a }, a.length > 18 ? `${a.slice(0, 10)}…${a.slice(-6)}` : a);

async function getJson(path) {
  const res = await fetch(path);
  if (res.status === 404) return undefined;
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(`${path}: ${res.status} — ${body.error ?? res.statusText}`);
  }
  return res.json();
}

// ---------- charts ----------

/** A canvas with its chart, described for screen readers by `label` (the same figures are in the text). */
function chart(kind, label, config) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label, 'data-chart': kind });
  const box = h('div', { class: 'chart-box' }, canvas);
  // Created once the canvas is in the document (Chart.js sizes it from its container).
  box.draw = () =>
    new Chart(canvas, {
      ...config,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        ...config.options,
      },
    });
  return box;
}

/** A proposal's tally against the governance rules (tally-rules.js), as one bar chart. */
function tallyChart(p, t, rules) {
  const now = tallyRules(t, rules);
  const shares = now.map((r) => r.now);
  const needed = now.map((r) => r.need);
  const label =
    `Tally of ${p.id}: turnout ${pct(shares[0])} (quorum ${pct(needed[0])}), ` +
    `yes ${pct(shares[1])} of yes and no (pass above ${pct(needed[1])}), veto ${pct(shares[2])} (vetoed above ${pct(needed[2])})`;
  return chart('tally', label, {
    type: 'bar',
    data: {
      labels: ['Turnout', 'Yes of yes+no', 'Veto of cast'],
      datasets: [
        { label: 'Now', data: shares.map((x) => x * 100), backgroundColor: [COLORS.bar, COLORS.yes, COLORS.veto] },
        { label: 'Needed (quorum / thresholds)', data: needed.map((x) => x * 100), backgroundColor: COLORS.abstain },
      ],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

// ---------- sections ----------

function modelView(m) {
  const top = m.topContributors;
  return h(
    'article',
    { class: 'item model', 'data-model': m.name },
    h('h3', {}, m.name),
    kv([
      ['Task', m.task],
      ['Version serving', `v${m.productionVersion}`],
      ['Developer', addr(m.developer)],
      ['Paid calls', String(m.calls), 'calls'],
      ['Fees paid', open(m.fees), 'fees'],
    ]),
    top.length
      ? [
          h('h4', {}, 'Top contributors (attribution over all calls)'),
          h(
            'ol',
            { class: 'contributors' },
            top.map((c) => h('li', {}, addr(c.contributor), ` — weight ${c.weight.toFixed(3)} over ${c.calls} calls`)),
          ),
          chart('contributors', `Attribution weight of the top contributors of ${m.name}`, {
            type: 'bar',
            data: {
              labels: top.map((c) => `${c.contributor.slice(0, 8)}…`),
              datasets: [{ label: 'Attribution weight', data: top.map((c) => c.weight), backgroundColor: COLORS.bar }],
            },
            options: { indexAxis: 'y', plugins: { legend: { display: false } } },
          }),
        ]
      : h('p', { class: 'muted' }, 'No attributed calls yet.'),
  );
}

function proposalView(p, t, rules) {
  const counts = t?.tally;
  return h(
    'article',
    { class: 'item proposal', 'data-proposal': p.id },
    h('h4', {}, h('a', { href: `lifecycle.html?id=${encodeURIComponent(p.id)}` }, p.title || p.id)),
    kv([
      ['Proposal', h('span', { class: 'mono' }, p.id)],
      ['Model', p.modelName],
      ['Status', p.reason ? `${p.status} (${p.reason})` : p.status, 'status'],
      t && ['Vote', t.open ? 'open' : `closed: ${t.outcome ?? 'no outcome'}`, 'outcome'],
      counts && [
        'Votes (power)',
        `yes ${counts.yes} · no ${counts.no} · abstain ${counts.abstain} · veto ${counts.veto} of ${counts.total}`,
      ],
    ]),
    counts && rules ? tallyChart(p, counts, rules) : null,
  );
}

function requirements(spec) {
  const access = spec?.access ?? {};
  const fields = (spec?.fields ?? []).map(
    (f) => `${f.name} (${f.type}${f.values ? `: ${f.values.join(', ')}` : ''}${f.required ? ', required' : ''})`,
  );
  return h(
    'ul',
    { class: 'requirements' },
    fields.length ? h('li', {}, `Fields: ${fields.join('; ')}`) : null,
    (access.credentials ?? []).map((c) =>
      h('li', {}, `Credential: "${c.claim}" from one of ${c.verifiers.length} verifiers`),
    ),
    access.assessment
      ? h(
          'li',
          {},
          `Assessment: score at least ${pct(access.assessment.minScore)} in ${access.assessment.maxAttempts ?? 3} attempts`,
        )
      : null,
    access.curation?.requireApproval ? h('li', {}, 'Every record needs a curator’s approval') : null,
    !access.credentials && !access.assessment ? h('li', {}, 'Open to any contributor') : null,
  );
}

function datanetView(d, board) {
  return h(
    'article',
    { class: 'item datanet', 'data-datanet': d.id },
    h('h3', {}, h('a', { href: `datanets.html?datanet=${encodeURIComponent(d.id)}` }, d.id)),
    kv([
      ['Status', d.status, 'status'],
      ['Deposit per record', d.deposit === '0' ? 'none' : open(d.deposit), 'deposit'],
      [
        'Records',
        `${d.submitted} submitted · ${d.accepted} accepted of ${d.decided} decided (target ${d.targetCount})`,
        'records',
      ],
      ['Acceptance rate', pct(d.acceptanceRate), 'acceptance'],
      d.closesAt && ['Closes', new Date(d.closesAt).toLocaleString()],
    ]),
    h('h4', {}, 'Requirements'),
    requirements(d.spec),
    h('h4', {}, 'Leaderboard'),
    board.length
      ? [
          h(
            'div',
            // It scrolls sideways on a phone: focusable and named, so a keyboard can scroll it too.
            { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': `Leaderboard of ${d.id}` },
            h(
              'table',
              { class: 'leaderboard' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'col' }, 'Contributor'),
                  h('th', { scope: 'col' }, 'Accepted'),
                  h('th', { scope: 'col' }, 'Submitted'),
                  h('th', { scope: 'col' }, 'Acceptance'),
                ),
              ),
              h(
                'tbody',
                {},
                board.map((r) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, addr(r.contributor)),
                    h('td', {}, String(r.accepted)),
                    h('td', {}, String(r.submitted)),
                    h('td', {}, pct(r.acceptanceRate)),
                  ),
                ),
              ),
            ),
          ),
          chart('leaderboard', `Accepted records per contributor in ${d.id}`, {
            type: 'bar',
            data: {
              labels: board.map((r) => `${r.contributor.slice(0, 8)}…`),
              datasets: [
                { label: 'Accepted records', data: board.map((r) => r.accepted), backgroundColor: COLORS.yes },
              ],
            },
            options: {
              plugins: { legend: { display: false } },
              scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
            },
          }),
        ]
      : h('p', { class: 'muted' }, 'No records yet.'),
  );
}

// ---------- loading and rendering ----------

async function load() {
  // One list failing leaves the others on the page; its reason goes to the status line.
  const errors = [];
  const settle = (p) =>
    p.catch((err) => {
      errors.push(err.message);
      return undefined;
    });
  const [protocol, models, proposals, datanets] = await Promise.all([
    settle(getJson('/v1/protocol')),
    settle(getJson('/v1/explorer/models')),
    settle(getJson('/v1/proposals?limit=50')),
    settle(getJson('/v1/datanets?limit=50')),
  ]);
  const list = proposals?.proposals ?? [];
  const tallies = await Promise.all(
    list
      .slice(0, MAX_TALLIES)
      .map((p) => getJson(`/v1/proposals/${encodeURIComponent(p.id)}/tally`).catch(() => undefined)),
  );
  const boards = await Promise.all(
    (datanets?.datanets ?? []).map((d) =>
      getJson(`/v1/datanets/${encodeURIComponent(d.id)}/leaderboard?limit=${LEADERBOARD_SIZE}`)
        .then((b) => b?.leaderboard ?? [])
        .catch(() => []),
    ),
  );
  return {
    errors,
    rules: protocol?.settings?.governance,
    models: models?.models ?? [],
    proposals: list.map((p, i) => ({ p, t: tallies[i] })),
    datanets: (datanets?.datanets ?? []).map((d, i) => ({ d, board: boards[i] })),
  };
}

const STAGE_ORDER = ['governance', 'proposed', 'data-collection', 'training', 'rlhf', 'deployment', 'serving'];

function render(root, data) {
  for (const c of root.querySelectorAll('canvas')) Chart.getChart(c)?.destroy();
  const byStage = new Map();
  for (const x of data.proposals) byStage.set(x.p.stage, [...(byStage.get(x.p.stage) ?? []), x]);
  const stages = [...byStage.keys()].sort((a, b) => STAGE_ORDER.indexOf(a) - STAGE_ORDER.indexOf(b));
  const openDn = data.datanets.filter((x) => x.d.status === 'open');
  const otherDn = data.datanets.filter((x) => x.d.status !== 'open');
  root.replaceChildren(
    h(
      'section',
      { class: 'card', id: 'explorer-models', 'aria-labelledby': 'explorer-models-h' },
      h('h2', { id: 'explorer-models-h' }, 'Models serving'),
      data.models.length ? data.models.map(modelView) : h('p', { class: 'muted' }, 'No model is serving yet.'),
    ),
    h(
      'section',
      { class: 'card', id: 'explorer-proposals', 'aria-labelledby': 'explorer-proposals-h' },
      h('h2', { id: 'explorer-proposals-h' }, 'Proposals by stage'),
      stages.length
        ? stages.map((s) =>
            h(
              'div',
              { class: 'stage', 'data-stage': s },
              h('h3', {}, `${s} (${byStage.get(s).length})`),
              byStage.get(s).map(({ p, t }) => proposalView(p, t, data.rules)),
            ),
          )
        : h('p', { class: 'muted' }, 'No proposals yet.'),
    ),
    h(
      'section',
      { class: 'card', id: 'explorer-datanets', 'aria-labelledby': 'explorer-datanets-h' },
      h('h2', { id: 'explorer-datanets-h' }, 'Datanets open for contribution'),
      openDn.length
        ? openDn.map(({ d, board }) => datanetView(d, board))
        : h('p', { class: 'muted' }, 'None is open now.'),
      otherDn.length
        ? [h('h2', { class: 'sub' }, 'Closed Datanets'), otherDn.map(({ d, board }) => datanetView(d, board))]
        : null,
    ),
  );
  for (const box of root.querySelectorAll('.chart-box')) box.draw?.();
}

function start(root) {
  const unlessKey = root.hasAttribute('data-unless-key');
  let last = '';
  const status = document.getElementById('explorer-status');
  async function tick() {
    if (unlessKey && localStorage.getItem(KEY_STORAGE)) {
      root.hidden = true;
      return;
    }
    root.hidden = false;
    try {
      const data = await load();
      const json = JSON.stringify(data);
      // Redrawn only when something changed: a steady page keeps its scroll and focus.
      if (json !== last) {
        last = json;
        render(root, data);
      }
      if (status)
        status.textContent = data.errors.length
          ? `Could not load: ${data.errors.join('; ')}`
          : `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    } catch (err) {
      if (status) status.textContent = `Could not load: ${err.message}`;
    }
    setTimeout(tick, REFRESH_MS);
  }
  void tick();
}

const root = document.getElementById('explorer');
if (root) start(root);
