// The Training page: the runs `gpt-sovits train` writes into the server's training output folders
// (GET /studio/api/training reads their logs/<name>/progress.jsonl), refreshed every 3 s while the
// page is open: progress through the epochs, the time left, the losses and their curve, the
// weight files written (ready to pick on the Speak page once they exist).

import { refreshingPage } from '../lib/refreshing.js';

let studio, t, el, root;
let last = null;

function $(sel) { return root.querySelector(sel); }

const TEMPLATE = `
<h1 id="title-training" data-i18n="training.title"></h1>
<p class="lead" data-i18n="training.lead"></p>
<p class="hint"><span id="training-folders"></span> <button type="button" class="btn small" id="training-refresh" data-i18n="speak.refresh"></button></p>
<p class="msg" id="training-msg" role="status"></p>
<div id="training-runs" class="stack"></div>`;

export default refreshingPage({
  setup(section, s) { studio = s; t = s.t; el = s.el; root = section; },
  template: TEMPLATE, refreshButton: '#training-refresh', every: 3000, refresh, render,
});

/** The main loss of each model (what the curve shows). */
const MAIN_LOSS = { sovits: 'loss_g', gpt: 'loss' };
/** A run with no record for this long and no end is shown as stopped. */
const STALE_SECONDS = 600;

async function refresh() {
  try {
    last = await studio.apiJSON('/studio/api/training');
    render();
  } catch (e) {
    studio.say($('#training-msg'), 'error', { text: e.message });
  }
}

function render() {
  if (!last) return;
  $('#training-folders').textContent = t('training.folders', { folders: last.folders.join(', ') });
  const msg = $('#training-msg');
  if (last.runs.length === 0) studio.say(msg, 'info', 'training.empty');
  else studio.say(msg, 'info', { text: '' });
  $('#training-runs').replaceChildren(...last.runs.map(runCard));
}

/** running | done | failed | stopped, from the run's last record. */
function runState(run) {
  const end = run.records.at(-1);
  if (!end) return 'stopped';
  if (end.event === 'done') return 'done';
  if (end.event === 'failed') return 'failed';
  return run.idle_seconds != null && run.idle_seconds > STALE_SECONDS ? 'stopped' : 'running';
}

function runCard(run) {
  const state = runState(run);
  const badge = { running: 'warn', done: 'ok', failed: 'error', stopped: 'error' }[state];
  const models = ['sovits', 'gpt'].filter((m) => run.records.some((r) => r.model === m));
  const failed = run.records.findLast((r) => r.event === 'failed');
  const files = run.records.filter((r) => r.event === 'weights');
  return el('section', { class: 'card run-card', dataset: { run: run.name } },
    el('h2', {}, run.name, ' ', el('span', { class: `badge ${badge}`, id: `run-state-${run.name}` }, t(`training.state.${state}`))),
    el('p', { class: 'hint mono' }, run.folder),
    failed ? el('p', { class: 'msg error' }, failed.message || '') : null,
    ...models.map((m) => modelBlock(run, m)),
    files.length ? el('div', {}, el('h3', {}, t('training.files')),
      el('ul', { class: 'files' }, files.map((f) => el('li', { class: 'mono' }, f.file)))) : null);
}

function modelBlock(run, model) {
  const steps = run.records.filter((r) => r.model === model && r.event === 'step');
  const step = steps.at(-1);
  const label = model === 'gpt' ? 'GPT' : 'SoVITS';
  if (!step) return el('div', { class: 'run-model' }, el('h3', {}, label), el('p', { class: 'hint' }, t('training.starting')));
  const total = step.epochs * step.batches;
  const done = (step.epoch - 1) * step.batches + step.batch;
  const values = Object.entries(step.values || {}).sort(([a], [b]) => a.localeCompare(b));
  return el('div', { class: 'run-model', dataset: { model } },
    el('h3', {}, label),
    el('progress', { max: total, value: done, class: 'run-progress', 'aria-label': t('training.progress', { model: label }) }),
    el('dl', { class: 'kv' },
      el('dt', {}, t('training.epoch')), el('dd', {}, t('training.epochValue', { epoch: step.epoch, epochs: step.epochs, batch: step.batch, batches: step.batches })),
      el('dt', {}, t('training.eta')), el('dd', {}, step.eta_seconds != null ? duration(step.eta_seconds) : '—'),
      el('dt', {}, t('training.lr')), el('dd', { class: 'mono' }, step.learning_rate != null ? step.learning_rate.toPrecision(3) : '—'),
      el('dt', {}, t('training.updated')), el('dd', {}, new Date(step.time).toLocaleTimeString()),
      ...values.flatMap(([k, v]) => [el('dt', { class: 'mono' }, k), el('dd', { class: 'mono' }, v.toFixed(3))])),
    lossCurve(steps.map((s) => s.values?.[MAIN_LOSS[model]]).filter((v) => Number.isFinite(v)), `${label} ${MAIN_LOSS[model]}`));
}

function duration(s) {
  const n = Math.round(s);
  if (n >= 3600) return t('training.hm', { h: Math.floor(n / 3600), m: Math.floor((n % 3600) / 60) });
  if (n >= 60) return t('training.ms', { m: Math.floor(n / 60), s: n % 60 });
  return t('training.s', { s: n });
}

/** A small line chart of `values` (the main loss, step by step). */
function lossCurve(values, label) {
  const canvas = el('canvas', { class: 'loss-curve', width: 600, height: 120, role: 'img', 'aria-label': t('training.curve', { name: label }) });
  if (values.length < 2) return canvas;
  const ctx = canvas.getContext('2d');
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  const style = getComputedStyle(document.documentElement);
  ctx.strokeStyle = style.getPropertyValue('--accent').trim() || '#2557d6';
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = 4 + (i / (values.length - 1)) * (canvas.width - 8);
    const y = 24 + (1 - (v - lo) / span) * (canvas.height - 28);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = style.getPropertyValue('--muted').trim() || '#5b6475';
  ctx.font = '12px sans-serif';
  ctx.fillText(`${label}: ${hi.toFixed(3)} → ${values.at(-1).toFixed(3)}`, 8, 16);
  return canvas;
}
