// The Status page: models loaded, memory, the queue and recent requests, refreshed every 2 s
// while the page is open (the same figures GET /metrics gives operators).

import { refreshingPage } from '../lib/refreshing.js';

let studio, t, el, root;
let last = null;

function $(sel) { return root.querySelector(sel); }

const TEMPLATE = `
<h1 id="title-status" data-i18n="status.title"></h1>
<p class="lead"><span data-i18n="status.lead"></span> <a href="/metrics" id="metrics-link" data-i18n="status.metrics"></a></p>
<div class="grid-3">
  <section class="card" aria-labelledby="st-models"><h2 id="st-models" data-i18n="status.models"></h2><div id="status-models"></div></section>
  <section class="card" aria-labelledby="st-memory"><h2 id="st-memory" data-i18n="status.memory"></h2><div id="status-memory"></div></section>
  <section class="card" aria-labelledby="st-queue"><h2 id="st-queue" data-i18n="status.queue"></h2><div id="status-queue"></div></section>
</div>
<p></p>
<section class="card" aria-labelledby="st-requests">
  <h2 id="st-requests"><span data-i18n="status.requests"></span><span class="spacer"></span>
    <button type="button" class="btn small" id="status-refresh" data-i18n="speak.refresh"></button></h2>
  <p class="hint" id="requests-empty" data-i18n="status.requests.empty"></p>
  <div class="table-wrap"><table class="table" id="requests-table">
    <thead><tr>
      <th data-i18n="status.col.time"></th><th data-i18n="status.col.route"></th><th data-i18n="status.col.status"></th>
      <th class="num" data-i18n="status.col.chars"></th><th class="num" data-i18n="status.col.audio"></th>
      <th class="num" data-i18n="status.col.first"></th><th class="num" data-i18n="status.col.total"></th><th class="num">RTF</th>
    </tr></thead>
    <tbody></tbody>
  </table></div>
</section>`;

export default refreshingPage({
  setup(section, s) { studio = s; t = s.t; el = s.el; root = section; },
  template: TEMPLATE, refreshButton: '#status-refresh', every: 2000, refresh, render,
});

async function refresh() {
  try {
    const [metrics, status] = await Promise.all([studio.apiJSON('/metrics?format=json'), studio.apiJSON('/studio/api/status')]);
    last = { metrics, status };
    render();
  } catch (e) {
    $('#status-models').replaceChildren(el('p', { class: 'msg error' }, e.message));
  }
}

/** The sum of the samples named `name` (over all label sets), or null when there is none. */
function sample(name, labels = {}) {
  const hits = last.metrics.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((n, s) => n + s.value, 0) : null;
}

function kv(pairs) {
  return el('dl', { class: 'kv' }, pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function render() {
  if (!last) return;
  const { fmt } = studio;
  const m = last.status.models;
  const bytes = (v) => (v === null ? '—' : fmt.bytes(v));
  const file = (p) => (p ? el('span', { class: 'mono', title: p }, p.split('/').pop()) : t('status.random'));
  $('#status-models').replaceChildren(kv([
    [t('status.version'), m.version],
    [t('status.sampleRate'), `${m.sample_rate} Hz`],
    ['GPT', file(m.gpt)],
    ['SoVITS', file(m.sovits)],
    [t('status.weights'), fmt.bytes(m.weight_bytes)],
    [t('status.roleCache'), t('status.roleCache.value', {
      entries: sample('gsv_model_cache_entries') ?? 0, used: bytes(sample('gsv_model_cache_bytes')), budget: bytes(sample('gsv_model_cache_budget_bytes')),
    })],
  ]));
  $('#status-memory').replaceChildren(
    el('div', { class: 'big-number', id: 'status-rss' }, bytes(sample('gsv_process_resident_bytes'))),
    kv([[t('status.peak'), bytes(sample('gsv_process_peak_resident_bytes'))],
      [t('status.uptime'), fmt.seconds(last.status.uptime_seconds)]]));
  const running = sample('gsv_queue_running') ?? 0, slots = sample('gsv_queue_slots') ?? 0;
  $('#status-queue').replaceChildren(
    el('div', { class: 'big-number', id: 'status-running' }, `${running} / ${slots}`),
    kv([[t('status.running'), `${running} / ${slots}`], [t('status.queued'), `${sample('gsv_queue_waiting') ?? 0} / ${sample('gsv_queue_capacity') ?? 0}`],
      [t('status.served'), String(sample('gsv_synthesis_total') ?? 0)]]));
  const rows = last.metrics.recent.slice().reverse().map((r) => el('tr', {},
    el('td', {}, new Date(r.finished_at).toLocaleTimeString()),
    el('td', { class: 'mono' }, r.route),
    el('td', {}, el('span', { class: `badge ${r.outcome === 'ok' ? 'ok' : 'error'}`, title: r.error || '' }, t(`status.outcome.${r.outcome}`))),
    el('td', { class: 'num' }, String(r.text_characters)),
    el('td', { class: 'num' }, fmt.seconds(r.audio_seconds)),
    el('td', { class: 'num' }, r.first_audio_seconds != null ? fmt.ms(r.first_audio_seconds * 1000) : '—'),
    el('td', { class: 'num' }, fmt.ms(r.total_seconds * 1000)),
    el('td', { class: 'num' }, r.audio_seconds > 0 ? (r.total_seconds / r.audio_seconds).toFixed(3) : '—')));
  $('#requests-table tbody').replaceChildren(...rows);
  $('#requests-empty').hidden = rows.length > 0;
}
