// Keyboard-driven review: one assigned task at a time, with the model's guidelines; 1-9 pick a
// candidate, Enter submits, n/p move between tasks. Uses the key the console saved in localStorage.
import { importSeed } from './signing.js';
import { apiCall, reasonOf } from './api.js';
import { $, h } from './dom.js';

const KEY_STORAGE = 'commons.privateKey';

const state = { identity: null, tasks: [], index: 0, picked: null, standing: null, busy: false };

function show(kind, text) {
  const m = $('message');
  m.hidden = !text;
  m.className = `notice ${kind}`;
  m.dataset.kind = kind;
  m.textContent = text ?? '';
}

const api = (method, path, body, opts) => apiCall(state.identity, method, path, body, opts);

async function load() {
  const address = state.identity.address;
  const [tasks, standing] = await Promise.all([
    api('GET', `/v1/reviews?reviewer=${encodeURIComponent(address)}`),
    api('GET', `/v1/reviews/reviewers/${encodeURIComponent(address)}`),
  ]);
  if (!tasks.ok) return show('error', `Could not list your tasks: ${reasonOf(tasks)}`);
  state.tasks = tasks.json.tasks;
  state.standing = standing.ok ? standing.json : null;
  state.index = Math.min(state.index, Math.max(0, state.tasks.length - 1));
  state.picked = null;
  render();
}

function render() {
  const s = state.standing;
  $('standing').replaceChildren(
    s
      ? h(
          'dl',
          { class: 'kv' },
          h('dt', {}, 'Bond'),
          h(
            'dd',
            { id: 'bond' },
            `${s.bond} OPEN (minimum ${s.minBond})${s.bonded ? '' : ' — below the minimum: bond to be assigned tasks'}`,
          ),
          h('dt', {}, 'Gold accuracy'),
          h(
            'dd',
            { id: 'gold' },
            `${(s.goldAccuracy * 100).toFixed(1)}% (${s.goldCorrect}/${s.goldAnswered} gold items; pause below ${(s.goldThreshold * 100).toFixed(0)}%)`,
          ),
          h('dt', {}, 'Status'),
          h(
            'dd',
            { id: 'status' },
            s.paused
              ? 'paused: your answers carry no weight or reward until your gold accuracy recovers (gold items are among your tasks)'
              : 'active',
          ),
        )
      : h('p', { class: 'muted' }, 'No standing yet.'),
  );
  const t = state.tasks[state.index];
  if (!t) {
    $('task-title').textContent = 'Review task';
    $('guidelines').replaceChildren();
    $('task').replaceChildren(h('p', { class: 'muted', id: 'no-tasks' }, 'No task is assigned to you right now.'));
    return;
  }
  $('task-title').textContent = `Task ${state.index + 1} of ${state.tasks.length}`;
  const p = t.guidelines;
  $('guidelines').replaceChildren(
    h('h3', {}, 'Guidelines'),
    h(
      'ul',
      { id: 'guideline-list' },
      h('li', {}, p ? `Model: ${p.title} (${p.domain}), proposal ${t.proposalId}` : `Proposal ${t.proposalId}`),
      p?.description ? h('li', {}, `What it does: ${p.description}`) : null,
      p?.labels?.length ? h('li', {}, `Labels: ${p.labels.join(', ')}`) : null,
      h(
        'li',
        {},
        'Pick the candidate that is correct for the prompt, on your own judgement; answers are sealed until the round settles.',
      ),
      h(
        'li',
        {},
        'Some tasks have known answers and check your accuracy; answers against the stake consensus cost part of your bond.',
      ),
    ),
  );
  $('task').replaceChildren(
    h(
      'article',
      { class: 'item task', 'data-task-id': t.id },
      h('div', { class: 'muted' }, `Round ${t.round} · `, h('span', { class: 'mono' }, t.proposalId)),
      h('div', { class: 'prompt', id: 'prompt' }, t.prompt),
      h(
        'ol',
        // A listbox of options: aria-selected is allowed there (and says which candidate is picked).
        { class: 'choices', id: 'candidates', role: 'listbox', 'aria-label': 'Candidates (press 1–9 to pick)' },
        t.candidates.map((c, i) =>
          h(
            'li',
            {
              class: `choice${state.picked === i ? ' picked' : ''}`,
              'data-choice': c,
              role: 'option',
              'aria-selected': state.picked === i ? 'true' : 'false',
            },
            h('kbd', {}, String(i + 1)),
            ' ',
            c,
          ),
        ),
      ),
    ),
  );
}

async function submit() {
  const t = state.tasks[state.index];
  if (!t || state.busy) return;
  if (state.picked === null) return show('error', 'Pick a candidate first (keys 1-9).');
  state.busy = true;
  const choice = t.candidates[state.picked];
  const res = await api('POST', `/v1/reviews/${encodeURIComponent(t.id)}`, { choice }, { sign: true });
  state.busy = false;
  if (res.ok) show('ok', `Task ${t.id}: answer recorded.`);
  else show('error', `Task ${t.id}: answer refused: ${reasonOf(res)}`);
  await load();
}

function onKey(e) {
  if (!state.identity || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = state.tasks[state.index];
  if (/^[1-9]$/.test(e.key) && t && Number(e.key) <= t.candidates.length) {
    state.picked = Number(e.key) - 1;
    render();
  } else if (e.key === 'Enter') {
    e.preventDefault();
    submit();
  } else if ((e.key === 'n' || e.key === 'ArrowRight') && state.index < state.tasks.length - 1) {
    state.index++;
    state.picked = null;
    render();
  } else if ((e.key === 'p' || e.key === 'ArrowLeft') && state.index > 0) {
    state.index--;
    state.picked = null;
    render();
  } else if (e.key === 'r') load();
}

async function start() {
  const saved = localStorage.getItem(KEY_STORAGE);
  if (!saved) return show('error', 'No key in this browser: import or generate one in the console first.');
  state.identity = await importSeed(saved);
  document.addEventListener('keydown', onKey);
  $('reload').addEventListener('click', () => load());
  await load();
}

start().catch((err) => show('error', err.message));
