// The studio shell: navigation between pages, UI strings in two languages, calls to the server.
// Plain ES modules, no build step. A page is a module in pages/ that default-exports
// { mount(section, studio), show?(), hide?(), relabel?() } and is listed in PAGES below.
import { strings } from './i18n.js';

/**
 * Every page there is, in navigation order: `id` is the hash route (#id), the section's data-page
 * and the id the server lists in GET /studio/api/pages (a server shows only the pages it lists).
 */
export const PAGES = [
  { id: 'speak', label: 'nav.speak', module: './pages/speak.js' },
  { id: 'voices', label: 'nav.voices', module: './pages/voices.js' },
  { id: 'status', label: 'nav.status', module: './pages/status.js' },
  { id: 'training', label: 'nav.training', module: './pages/training.js' },
  { id: 'review', label: 'nav.review', module: './pages/review.js' },
];

const LANG_KEY = 'gsv.studio.lang';
const missing = new Set();
let lang = 'en';

/** The UI language: the saved choice, else the browser's (Chinese if it prefers any zh). */
function initialLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && strings[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (strings[base]) return base;
  }
  return 'en';
}

/** The string `key` in the current language, with `{name}` replaced from `params`. */
export function t(key, params = {}) {
  let s = strings[lang][key];
  if (s === undefined) {
    missing.add(`${lang}:${key}`);
    s = strings.en[key] ?? key;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

/** Adds strings (e.g. from a page module): `{ en: {...}, zh: {...} }`. */
export function addStrings(more) {
  for (const [l, table] of Object.entries(more)) Object.assign(strings[l] || (strings[l] = {}), table);
}

/** Fills `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-title` and `data-i18n-label` (aria-label) under `root`. */
export function applyStrings(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : {});
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

/** The current UI language code (`en` or `zh`). */
export function language() { return lang; }

/** Switches the UI language and relabels every mounted page. */
export function setLanguage(next) {
  if (!strings[next]) return;
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  applyStrings(document);
  const select = document.getElementById('ui-language');
  if (select) select.value = next;
  for (const p of mounted.values()) p.relabel?.();
  renderNav();
}

/**
 * Shows a message in `node` (classes `msg` and `kind`: info, ok, error). `key` is a string key,
 * shown again in the new language when the language changes, or `{ text }` for text from
 * elsewhere (the server's error messages), shown as it is.
 */
export function say(node, kind, key, params = {}) {
  node.className = `msg ${kind}`;
  if (typeof key === 'string') {
    node.dataset.i18n = key;
    node.dataset.i18nParams = JSON.stringify(params);
    node.textContent = t(key, params);
  } else {
    delete node.dataset.i18n;
    delete node.dataset.i18nParams;
    node.textContent = key && key.text ? key.text : '';
  }
}

/** An error answered by the server: `status` and the message of its JSON body. */
export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
  static async from(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body.error && body.error.message) message = body.error.message;
      else if (body.message) message = body.Exception ? `${body.message}: ${body.Exception}` : body.message;
    } catch { /* not JSON: keep the status line */ }
    return new ApiError(response.status, message);
  }
}

/** fetch() against this server: JSON bodies, the server's error shape, the login page on 401. */
export async function api(path, { method = 'GET', json, body, headers = {}, signal } = {}) {
  const init = { method, headers: { ...headers }, signal, credentials: 'same-origin' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = '/studio/login.html?next=' + encodeURIComponent(location.pathname + location.hash);
    throw new ApiError(401, t('error.auth'));
  }
  if (!response.ok) throw await ApiError.from(response);
  return response;
}

/** `api()` and the JSON of its answer. */
export async function apiJSON(path, options) { return (await api(path, options)).json(); }

/** Shows a short message in the corner (kind: info, ok, error); errors stay until clicked. */
export function notify(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.textContent = message;
  el.addEventListener('click', () => el.remove());
  box.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 4000);
  else setTimeout(() => el.remove(), 15000);
}

/** Builds elements from an HTML string (static markup only: never pass user text here). */
export function html(markup) {
  const template = document.createElement('template');
  template.innerHTML = markup.trim();
  return template.content;
}

/** Creates an element with properties and children (user text goes in as text, never as HTML). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c);
  return node;
}

/** Formats seconds as "1.23 s" and milliseconds as "456 ms". */
export const fmt = {
  seconds: (s) => `${(+s).toFixed(2)} s`,
  ms: (ms) => `${Math.round(ms)} ms`,
  bytes: (b) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${Math.round(b / 1024)} KiB`),
};

// ---- Pages and navigation ----

const mounted = new Map();
const mounting = new Map();
let current = null;
/** The pages this server shows (GET /studio/api/pages). */
let enabled = [];

function renderNav() {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...enabled.map((p) => el('a', {
    href: `#${p.id}`, id: `nav-${p.id}`, 'aria-current': p.id === current ? 'page' : false,
  }, t(p.label))));
}

async function show(id) {
  const page = enabled.find((p) => p.id === id) || enabled[0];
  if (!page) return;
  const main = document.getElementById('pages');
  let section = main.querySelector(`section[data-page="${page.id}"]`);
  if (!section) {
    section = el('section', { class: 'page', dataset: { page: page.id }, 'aria-labelledby': `title-${page.id}` });
    main.append(section);
  }
  if (current && current !== page.id) {
    mounted.get(current)?.hide?.();
    main.querySelector(`section[data-page="${current}"]`)?.setAttribute('hidden', '');
  }
  current = page.id;
  renderNav();
  section.removeAttribute('hidden');
  if (!mounting.has(page.id)) {
    mounting.set(page.id, (async () => {
      const instance = (await import(page.module)).default;
      await instance.mount(section, studio);
      applyStrings(section);
      mounted.set(page.id, instance);
    })());
  }
  await mounting.get(page.id);
  if (current !== page.id) return;
  mounted.get(page.id).show?.();
  document.title = `${t(page.label)} · ${t('app.title')}`;
}

/** Switches to page `id` (as following a link to #id does). */
export function go(id) {
  if (location.hash === `#${id}`) show(id); else location.hash = id;
}

/** The mounted instance of page `id`, if it was opened. */
export function page(id) { return mounted.get(id); }

/** What pages get in mount(): the helpers above. */
export const studio = { t, say, api, apiJSON, notify, html, el, fmt, go, page, language, addStrings, applyStrings };

/** Facts the tests read: strings missing in a language, the pages mounted. */
window.studioDebug = { missingStrings: () => [...missing], mounted: () => [...mounted.keys()], pages: () => enabled.map((p) => p.id) };

async function start() {
  lang = initialLanguage();
  const select = document.getElementById('ui-language');
  select.value = lang;
  select.addEventListener('change', () => setLanguage(select.value));
  setLanguage(lang);
  try {
    const listed = (await apiJSON('/studio/api/pages')).pages;
    enabled = listed.map((id) => PAGES.find((p) => p.id === id)).filter(Boolean);
  } catch (e) {
    notify(String(e && e.message || e), 'error');
    return;
  }
  renderNav();
  window.addEventListener('hashchange', () => show(location.hash.slice(1)));
  show(location.hash.slice(1)).catch((e) => notify(String(e && e.message || e), 'error'));
}

start();
