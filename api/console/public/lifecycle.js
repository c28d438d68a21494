// One proposal's lifecycle (lifecycle.html?id=<id>): its stages with durations, the training loss
// and held-out metrics as Chart.js curves, review rounds, budget, deployment gate, a sample call's
// attribution and the workflow in the Temporal UI. Public: one unsigned read, no key needed.
import { apiCall, reasonOf } from './api.js';
import { $, h } from './dom.js';

// Chart.js's UMD build (vendor/chart.umd.min.js, loaded before this module) defines the global.
const { Chart } = globalThis;

function show(kind, text) {
  const m = $('message');
  m.hidden = !text;
  m.className = `notice ${kind}`;
  m.textContent = text ?? '';
}

/** 3 d 4 h, 5 min 12 s, 840 ms: the two largest units. */
export function formatDuration(ms) {
  if (ms < 1000) return `${ms} ms`;
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  const parts = [];
  let rest = ms;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;

function renderHeader(t) {
  $('title').textContent = `${t.modelName}: ${t.title}`;
  document.title = `${t.modelName} lifecycle · Commons`;
  $('summary').textContent = `${t.proposalId} · ${t.stage} · ${t.status}${t.reason ? ` (${t.reason})` : ''}`;
  const link = $('temporal-link');
  if (t.workflow.uiUrl) {
    link.href = t.workflow.uiUrl;
    link.textContent = `Open workflow ${t.workflow.id} in the Temporal UI`;
    link.hidden = false;
  }
}

function renderStages(t) {
  const failed = t.status !== 'running' && t.status !== 'serving';
  $('stages').replaceChildren(
    ...t.stages.map((s, i) =>
      h(
        'li',
        {
          class: s.current ? 'current' : failed && i === t.stages.length - 1 ? 'ended-failed' : undefined,
          'data-stage': s.stage,
        },
        h(
          'span',
          {},
          h('strong', {}, s.stage),
          ' ',
          h('span', { class: 'muted' }, new Date(s.enteredAt).toLocaleString()),
        ),
        h(
          'span',
          { class: 'duration', 'data-duration-ms': s.durationMs },
          s.current ? `${formatDuration(s.durationMs)} so far` : formatDuration(s.durationMs),
        ),
      ),
    ),
    ...(failed ? [h('li', { class: 'ended-failed', 'data-stage': t.status }, h('strong', {}, t.status))] : []),
  );
}

/** A line chart (Chart.js, the global from vendor/chart.umd.min.js); an existing one is replaced. */
function lineChart(canvas, labels, datasets, yTitle) {
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    type: 'line',
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { title: { display: true, text: yTitle } } },
    },
  });
}

function renderTraining(t) {
  const { epochs, heldOut } = t.training;
  $('training-empty').hidden = epochs.length > 0 || heldOut.length > 0;
  lineChart(
    $('loss-chart'),
    epochs.map((e) => `epoch ${e.epoch}`),
    [{ label: 'training loss', data: epochs.map((e) => e.loss), borderColor: '#2f5bea', tension: 0.2 }],
    'loss',
  );
  lineChart(
    $('heldout-chart'),
    heldOut.map((m) => m.label),
    [
      { label: 'held-out accuracy', data: heldOut.map((m) => m.accuracy), borderColor: '#137a3f' },
      { label: 'held-out macro-F1', data: heldOut.map((m) => m.macroF1), borderColor: '#7a2e8e' },
    ],
    'held-out',
  );
}

function renderRounds(t) {
  const table = $('rounds');
  if (!t.rounds.length) {
    table.replaceChildren(h('caption', { class: 'muted' }, 'No review rounds yet.'));
    return;
  }
  table.replaceChildren(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Round', 'α (agreement)', 'Answers', 'Consensus', 'Slashes', 'Update'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...t.rounds.map((r) =>
        h(
          'tr',
          { 'data-round': r.round },
          h('td', {}, String(r.round)),
          h('td', { 'data-alpha': r.alpha ?? '' }, r.alpha === null ? 'n/a' : r.alpha.toFixed(3)),
          h('td', {}, r.answers === null ? '—' : String(r.answers)),
          h('td', {}, r.consensus === null ? '—' : String(r.consensus)),
          h(
            'td',
            {},
            r.slashes.length
              ? r.slashes.map((s) => h('div', { class: 'mono' }, `${s.reviewer}: −${s.penalty}`))
              : 'none',
          ),
          h('td', {}, r.applied === null ? r.status : r.applied ? 'applied' : 'discarded'),
        ),
      ),
    ),
  );
}

function renderBudget(t) {
  const b = t.budget;
  const rows = [
    ['Asked', b.asked],
    ['Reserved', b.reserved ?? 'not yet'],
    ['Paid', b.paid],
    ['Left', b.left],
    ['Returned', b.returned],
  ];
  $('budget').replaceChildren(
    ...rows.flatMap(([k, v]) => [
      h('dt', {}, k),
      h('dd', { class: 'mono', 'data-budget': k.toLowerCase() }, `${v} OPEN units`),
    ]),
  );
}

function renderGate(t) {
  const g = t.gate;
  $('gate-verdict').textContent =
    g.passed === null ? 'Not evaluated yet.' : `${g.passed ? 'Passed' : 'Failed'}: ${g.reason}`;
  const m = g.metrics;
  const rows = [
    ['accuracy', m?.accuracy, g.floors.minAccuracy],
    ['macro-F1', m?.macroF1, g.floors.minMacroF1],
  ];
  $('gate').replaceChildren(
    h('thead', {}, h('tr', {}, ...['Metric', 'Candidate', 'Floor', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      ...rows.map(([name, value, floor]) =>
        h(
          'tr',
          { 'data-metric': name },
          h('td', {}, name),
          h('td', {}, value === undefined ? '—' : pct(value)),
          h('td', {}, `≥ ${pct(floor)}`),
          h(
            'td',
            { class: value === undefined ? 'muted' : value >= floor ? 'pass' : 'fail' },
            value === undefined ? '' : value >= floor ? 'meets' : 'below',
          ),
        ),
      ),
      h(
        'tr',
        { 'data-metric': 'regression' },
        h('td', {}, 'regression vs production'),
        h('td', {}, '—'),
        h('td', {}, `≤ ${pct(g.floors.maxRegression)}`),
        h('td', {}, ''),
      ),
    ),
  );
}

function renderSampleCall(t) {
  const c = t.sampleCall;
  const box = $('sample-call');
  if (!c) {
    box.replaceChildren(h('p', { class: 'muted' }, 'No paid call yet.'));
    return;
  }
  box.replaceChildren(
    h(
      'p',
      { class: 'muted' },
      `Call ${c.id} to version ${c.version}, fee ${c.fee}, ${new Date(c.at).toLocaleString()}`,
    ),
    c.contributors.length
      ? h(
          'ul',
          { id: 'attribution' },
          ...c.contributors.map((x) => h('li', { class: 'mono' }, `${x.contributor}: ${pct(x.weight)}`)),
        )
      : h('p', { class: 'muted' }, 'No contributors attributed.'),
  );
}

async function main() {
  const id = new URLSearchParams(location.search).get('id');
  if (!id) return show('error', 'Which proposal? Open this page as lifecycle.html?id=<proposal id>.');
  const res = await apiCall(null, 'GET', `/v1/proposals/${encodeURIComponent(id)}/timeline`);
  if (!res.ok) return show('error', `Could not read the lifecycle of ${id}: ${reasonOf(res)}`);
  const t = res.json;
  renderHeader(t);
  renderStages(t);
  renderTraining(t);
  renderRounds(t);
  renderBudget(t);
  renderGate(t);
  renderSampleCall(t);
  document.body.dataset.loaded = 'true';
}

main().catch((err) => show('error', String(err)));
