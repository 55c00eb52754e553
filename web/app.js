// Crier's dashboard: plain JavaScript, no framework, no build step. It is a
// client of the /v1 API like any other: it signs in with an API key (kept in
// sessionStorage for this browser tab's session, sent only in the
// Authorization header, never put in a URL), lists jobs, and follows one job
// live through its event stream (GET /v1/jobs/{id}/events, authenticated by
// a short-lived ticket), or by polling GET /v1/jobs/{id} every second when
// the stream is not available (an older server, a proxy that buffers it).
//
// Views are built with DOM calls (h() below), never from HTML strings, so
// nothing the API returns can become markup; the Content-Security-Policy
// allows no inline script or style anyway.
'use strict';

const KEY_STORAGE = 'crier.apiKey';
const JOB_STATUSES = ['CREATED', 'SCHEDULED', 'PROCESSING', 'PAUSED', 'CANCELLING', 'COMPLETED', 'PARTIAL', 'FAILED',
  'CANCELLED'];
const FINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'CANCELLED']);
const RECIPIENT_STATUSES = ['PENDING', 'ENQUEUED', 'SENT', 'DELIVERED', 'FAILED', 'SKIPPED', 'CANCELLED'];
const PAGE_SIZE = 25;
const POLL_MS = 1000;
const LIST_REFRESH_MS = 2000;
const STREAM_FIRST_EVENT_MS = 5000;  // no event by then: the stream is buffered somewhere; poll instead

// ---- small helpers -------------------------------------------------------------

// h('a', {href: '#/', class: 'x'}, 'text', child…): an element. Attributes are
// set with setAttribute except `on*` (listeners) and `dataset`; no `style`
// (the CSP refuses inline styles; use classes, or el.style from code).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const svgNs = 'http://www.w3.org/2000/svg';

const numberFormat = new Intl.NumberFormat('en-US');
function num(n) {
  return n === null || n === undefined ? '–' : numberFormat.format(n);
}

function rate(r) {
  if (r === null || r === undefined) return '–';
  return `${r >= 10 ? numberFormat.format(Math.round(r)) : (Math.round(r * 10) / 10).toString()}/s`;
}

const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

// A time from the API as a <time> element: the clock time today, the date
// otherwise, the exact UTC value in its title.
function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '–');
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return h('time', { datetime: iso, title: iso }, today ? timeFormat.format(d) : dateTimeFormat.format(d));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return null;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

// Recipients no longer waiting, of all the job's recipients.
function progressOf(job) {
  const total = job.unique || 0;
  const waiting = (job.pending || 0) + (job.enqueued || 0);
  const done = total - waiting;
  const percent = total === 0 ? (FINAL.has(job.status) ? 100 : 0) : (done * 100) / total;
  return { total, done, percent };
}

function statusBadge(status) {
  return h('span', { class: `badge badge-${status.toLowerCase()}` }, status);
}

// A progress bar whose filled part is split by outcome (sent and delivered,
// failed, skipped and cancelled), exposed to assistive technology as one
// progressbar with its percentage.
function progressBar(job, { large = false, label = 'Progress' } = {}) {
  const { total, percent } = progressOf(job);
  const shown = Math.floor(percent);
  const bar = h('div', {
    class: `progress${large ? ' progress-large' : ''}`, role: 'progressbar', 'aria-label': label,
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': shown, 'aria-valuetext': `${shown} %`,
  });
  const parts = [
    ['ok', (job.sent || 0) + (job.delivered || 0)],
    ['failed', job.failed || 0],
    ['other', (job.skipped || 0) + (job.cancelled || 0)],
  ];
  for (const [kind, count] of parts) {
    if (!total || !count) continue;
    const seg = h('span', { class: `progress-part progress-${kind}` });
    seg.style.width = `${(count * 100) / total}%`;
    bar.append(seg);
  }
  return h('div', { class: 'progress-wrap' }, bar, h('span', { class: 'progress-text' }, `${shown} %`));
}

class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

function describe(err) {
  if (err instanceof ApiError) return `${err.message} (${err.code}${err.requestId ? `, request ${err.requestId}` : ''})`;
  return `The server could not be reached: ${err.message}`;
}

// ---- the API -----------------------------------------------------------------

const session = {
  get key() { return sessionStorage.getItem(KEY_STORAGE); },
  set key(k) {
    if (k) sessionStorage.setItem(KEY_STORAGE, k);
    else sessionStorage.removeItem(KEY_STORAGE);
  },
};

async function api(method, path, { body, key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? session.key}`, Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const e = data && data.error;
    const err = new ApiError(res.status, e ? e.code : `http_${res.status}`, e ? e.message : `HTTP ${res.status}`,
      e ? e.request_id : res.headers.get('X-Request-Id'));
    // The key stopped working (removed from the server's config): sign in again.
    if (res.status === 401 && key === undefined) signOut('The server no longer accepts this key. Sign in again.');
    throw err;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- routing -------------------------------------------------------------------

const main = document.getElementById('main');
let current = null;  // the view on screen: {dispose()}
let signInNotice = '';

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, params: new URLSearchParams(qs || '') };
}

function render() {
  if (current) current.dispose();
  current = null;
  main.replaceChildren();
  const signedIn = Boolean(session.key);
  document.getElementById('session').hidden = !signedIn;
  document.getElementById('nav').hidden = !signedIn;
  if (!signedIn) {
    current = signInView();
    return;
  }
  const { path, params } = parseHash();
  const m = /^\/jobs\/([^/]+)$/.exec(path);
  current = m ? jobView(decodeURIComponent(m[1])) : jobsView(params);
}

function signOut(notice) {
  session.key = null;
  signInNotice = notice || '';
  render();
}

function focusHeading() {
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

// ---- sign in -------------------------------------------------------------------

function signInView() {
  document.title = 'Sign in · Crier';
  const error = h('p', { class: 'form-error', id: 'sign-in-error', role: 'alert' });
  const input = h('input', {
    id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'api-key-help sign-in-error',
  });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'card sign-in', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Watch and control your notification jobs.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'api-key-help', class: 'help' },
      'The key is kept in this tab only (session storage) and sent in the Authorization header.'),
    error,
    button);
  if (signInNotice) error.textContent = signInNotice;
  signInNotice = '';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter an API key.';
      input.focus();
      return;
    }
    button.disabled = true;
    error.textContent = '';
    try {
      // Any authenticated read tells whether the key is accepted.
      await api('GET', '/v1/jobs?limit=1', { key });
      session.key = key;
      render();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? `This key was not accepted (${err.code}).`
        : describe(err);
      button.disabled = false;
      input.select();
      input.focus();
    }
  });
  main.append(h('div', { class: 'center' }, form));
  input.focus();
  return { dispose() {} };
}

// ---- jobs list -----------------------------------------------------------------

function jobsView(params) {
  const status = JOB_STATUSES.includes(params.get('status')) ? params.get('status') : '';
  document.title = 'Jobs · Crier';
  const cursors = [''];  // cursor of each page seen, to go back
  let page = 0;
  let next = null;
  let timer = null;
  let disposed = false;

  const filter = h('select', { id: 'status-filter' },
    h('option', { value: '' }, 'All statuses'),
    JOB_STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  filter.addEventListener('change', () => {
    location.hash = filter.value ? `#/?status=${filter.value}` : '#/';
  });
  const updated = h('span', { class: 'muted small', 'aria-live': 'off' });
  const problem = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  const tbody = h('tbody');
  const newer = h('button', { type: 'button', class: 'btn', disabled: true }, '← Newer');
  const older = h('button', { type: 'button', class: 'btn', disabled: true }, 'Older →');
  const pageLabel = h('span', { class: 'muted small' });
  newer.addEventListener('click', () => { if (page > 0) { page -= 1; load(); } });
  older.addEventListener('click', () => {
    if (next) {
      cursors[page + 1] = next;
      page += 1;
      load();
    }
  });

  main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Jobs'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'status-filter' }, 'Status'), filter, updated)),
    problem,
    h('div', { class: 'card table-card' },
      h('table', { class: 'jobs' },
        h('caption', { class: 'visually-hidden' }, status ? `Jobs with status ${status}` : 'All jobs, newest first'),
        h('thead', {}, h('tr', {},
          ['Job', 'Status', 'Progress', 'Sent', 'Failed', 'Skipped', 'Cancelled', 'Recipients', 'Rate', 'Started',
            'Finished'].map((c, i) => h('th', { scope: 'col', class: i >= 3 && i <= 8 ? 'num' : null }, c)))),
        tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Jobs pages' }, newer, pageLabel, older));

  function row(job) {
    const link = h('a', { href: `#/jobs/${encodeURIComponent(job.job_id)}`, class: 'mono' }, job.job_id);
    const channel = job.channel || (job.routing ? job.routing.channels.join(' → ') : '');
    return h('tr', { 'data-job-id': job.job_id },
      h('td', {}, link, h('div', { class: 'sub' }, channel, ' · created ', when(job.created_at))),
      h('td', {}, statusBadge(job.status)),
      h('td', { class: 'progress-cell' }, progressBar(job, { label: `Progress of ${job.job_id}` })),
      h('td', { class: 'num' }, num((job.sent || 0) + (job.delivered || 0))),
      h('td', { class: `num${job.failed ? ' text-failed' : ''}` }, num(job.failed)),
      h('td', { class: 'num' }, num(job.skipped)),
      h('td', { class: 'num' }, num(job.cancelled)),
      h('td', { class: 'num' }, num(job.unique)),
      h('td', { class: 'num' }, job.started_at ? rate(job.rate_per_second) : '–'),
      h('td', {}, when(job.started_at)),
      h('td', {}, when(job.finished_at)));
  }

  async function load() {
    clearTimeout(timer);
    try {
      const res = await api('GET', `/v1/jobs${query({ status, cursor: cursors[page], limit: PAGE_SIZE })}`);
      if (disposed) return;
      problem.hidden = true;
      next = res.paging && res.paging.more ? res.paging.cursor : null;
      tbody.replaceChildren(...res.jobs.map(row));
      if (!res.jobs.length) {
        tbody.append(h('tr', {}, h('td', { colspan: 11, class: 'empty' },
          status ? `No ${status} jobs${page ? ' on this page' : ''}.` : 'No jobs yet. Create one with POST /v1/jobs.')));
      }
      newer.disabled = page === 0;
      older.disabled = !next;
      pageLabel.textContent = `Page ${page + 1}`;
      updated.textContent = `Updated ${timeFormat.format(new Date())}`;
    } catch (err) {
      if (disposed) return;
      problem.textContent = `Could not load the jobs: ${describe(err)}`;
      problem.hidden = false;
    }
    if (!disposed) timer = setTimeout(refresh, LIST_REFRESH_MS);
  }

  // Read again every few seconds while the tab is visible.
  function refresh() {
    if (document.hidden) timer = setTimeout(refresh, LIST_REFRESH_MS);
    else load();
  }

  load();
  focusHeading();
  return { dispose() { disposed = true; clearTimeout(timer); } };
}

// ---- one job -------------------------------------------------------------------

// Follows a job: the event stream when the server has it, polling otherwise.
// onJob(job) gets every snapshot; onTransport(text) says which is in use.
class JobFeed {
  constructor(jobId, { onJob, onStatus, onTransport, onProblem }) {
    this.jobId = jobId;
    this.onJob = onJob;
    this.onStatus = onStatus;
    this.onTransport = onTransport;
    this.onProblem = onProblem;
    this.source = null;
    this.timer = null;
    this.closed = false;
    this.lastEventId = null;
    this.finished = false;
  }

  start() { this.openStream(true); }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }

  async openStream(first) {
    let ticket;
    try {
      ticket = await api('POST', `/v1/jobs/${encodeURIComponent(this.jobId)}/events/ticket`);
    } catch {
      // No stream on this server (404), or it refused: polling works everywhere.
      if (!this.closed) this.poll();
      return;
    }
    if (this.closed) return;
    // The ticket, not the key, goes in the URL (EventSource cannot send
    // headers): read-only, this job only, valid for minutes.
    const url = `/v1/jobs/${encodeURIComponent(this.jobId)}/events${query({
      ticket: ticket.ticket, last_event_id: first ? null : this.lastEventId,
    })}`;
    const source = new EventSource(url);
    this.source = source;
    let heard = false;
    let failures = 0;
    const watchdog = setTimeout(() => {
      if (!heard && !this.closed) {
        source.close();
        this.poll();
      }
    }, STREAM_FIRST_EVENT_MS);
    const took = (ev) => {
      heard = true;
      failures = 0;
      clearTimeout(watchdog);
      if (ev.lastEventId) this.lastEventId = ev.lastEventId;
      this.onTransport('live');
      this.onProblem(null);
    };
    source.addEventListener('progress', (ev) => {
      took(ev);
      this.onJob(JSON.parse(ev.data));
    });
    source.addEventListener('status', (ev) => {
      took(ev);
      this.onStatus(JSON.parse(ev.data));
    });
    source.addEventListener('end', (ev) => {
      took(ev);
      this.finished = true;
      source.close();
      this.onJob(JSON.parse(ev.data));
      this.onTransport('ended');
    });
    source.addEventListener('error', () => {
      if (this.closed || this.finished) return;
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        // Refused (an expired ticket after a reconnect, or no stream at
        // all), or the connection keeps failing: a new ticket once if the
        // stream worked, else poll.
        clearTimeout(watchdog);
        source.close();
        if (heard) this.openStream(false);
        else this.poll();
      } else {
        this.onProblem('The live connection dropped; reconnecting…');
      }
    });
  }

  async poll() {
    if (this.closed) return;
    this.onTransport('polling');
    try {
      const job = await api('GET', `/v1/jobs/${encodeURIComponent(this.jobId)}`);
      if (this.closed) return;
      this.onProblem(null);
      this.onJob(job);
      if (FINAL.has(job.status)) {
        this.onTransport('ended');
        return;
      }
    } catch (err) {
      if (this.closed) return;
      this.onProblem(`Could not refresh the job: ${describe(err)}`);
      if (err instanceof ApiError && err.status === 404) return;
    }
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }
}

// Throughput over time, drawn on a canvas from successive snapshots:
// recipients finished between two snapshots ÷ the time between them.
class ThroughputChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.samples = [];  // {t: ms, done}: the last ~2 s
    this.points = [];   // {t: ms, rate}
    this.emptyText = '';
  }

  // A snapshot at time now. The rate at each point is measured over the
  // last ~2 s of samples, so the whole messages counted per tick (a job at
  // 5/s finishes 2 or 3 in half a second) do not make the line saw-toothed.
  add(job) {
    const t = Date.now();
    const { done } = progressOf(job);
    const last = this.samples[this.samples.length - 1];
    if (last && t - last.t < 250) return;  // too close to measure anything
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[1].t >= 2000) this.samples.shift();
    const base = this.samples[0];
    if (base.t < t) {
      this.points.push({ t, rate: Math.max(0, ((done - base.done) * 1000) / (t - base.t)) });
      if (this.points.length > 900) this.points.shift();
    }
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const css = getComputedStyle(c);
    const width = c.clientWidth || 600;
    const height = c.clientHeight || 200;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(width * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const color = css.getPropertyValue('--chart-line').trim() || '#4f46e5';
    const fill = css.getPropertyValue('--chart-fill').trim() || 'rgba(79,70,229,.12)';
    const grid = css.getPropertyValue('--chart-grid').trim() || '#e5e7eb';
    const text = css.getPropertyValue('--chart-text').trim() || '#6b7280';
    const left = 52;
    const right = 12;
    const top = 12;
    const bottom = 26;
    const w = width - left - right;
    const hgt = height - top - bottom;
    g.font = '12px system-ui, sans-serif';
    g.fillStyle = text;
    if (this.points.length < 2) {
      g.textAlign = 'center';
      g.fillText(this.emptyText, width / 2, height / 2);
      return;
    }
    const t0 = this.points[0].t;
    const t1 = this.points[this.points.length - 1].t;
    const span = Math.max(1000, t1 - t0);
    const max = niceCeil(Math.max(1, ...this.points.map((p) => p.rate)));
    const x = (t) => left + ((t - t0) / span) * w;
    const y = (r) => top + hgt - (r / max) * hgt;
    g.strokeStyle = grid;
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i += 1) {
      const v = (max * i) / 4;
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath();
      g.moveTo(left, yy);
      g.lineTo(left + w, yy);
      g.stroke();
      g.fillText(`${numberFormat.format(Math.round(v * 10) / 10)}/s`, left - 6, yy);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    // At most 5 time labels, at least 1 s apart (they show seconds).
    const ticks = Math.max(1, Math.min(4, Math.floor(span / 1000)));
    for (let i = 0; i <= ticks; i += 1) {
      const t = t0 + (span * i) / ticks;
      g.fillText(timeFormat.format(new Date(t)), Math.min(Math.max(x(t), left + 24), left + w - 24), top + hgt + 8);
    }
    g.beginPath();
    this.points.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.rate)) : g.moveTo(x(p.t), y(p.rate))));
    g.lineTo(x(t1), y(0));
    g.lineTo(x(t0), y(0));
    g.closePath();
    g.fillStyle = fill;
    g.fill();
    g.beginPath();
    this.points.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.rate)) : g.moveTo(x(p.t), y(p.rate))));
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.lineJoin = 'round';
    g.stroke();
  }
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const ACTIONS = [
  { name: 'run', label: 'Run', from: ['CREATED'], done: 'Started.' },
  { name: 'pause', label: 'Pause', from: ['PROCESSING'], done: 'Paused.' },
  { name: 'resume', label: 'Resume', from: ['PAUSED'], done: 'Resumed.' },
  { name: 'cancel', label: 'Cancel job', from: ['CREATED', 'SCHEDULED', 'PROCESSING', 'PAUSED'], done: 'Cancel accepted.' },
];

const COUNTERS = [
  ['received', 'Received'], ['unique', 'Unique'], ['duplicates', 'Duplicates'], ['rejected', 'Rejected'],
  ['pending', 'Pending'], ['enqueued', 'Enqueued'], ['sent', 'Sent'], ['delivered', 'Delivered'],
  ['failed', 'Failed'], ['skipped', 'Skipped'], ['cancelled', 'Cancelled'], ['read', 'Read'],
];

function jobView(jobId) {
  document.title = `${jobId} · Crier`;
  let job = null;
  let disposed = false;
  let busy = false;
  let confirmTimer = null;

  const title = h('h1', { class: 'mono job-title' }, jobId);
  const badge = h('span', { id: 'job-status', 'aria-live': 'polite' });
  const meta = h('p', { class: 'muted job-meta' });
  const result = h('p', { class: 'action-result', id: 'action-result', role: 'status', 'aria-live': 'polite' });
  const buttons = {};
  for (const a of ACTIONS) {
    buttons[a.name] = h('button', {
      type: 'button', class: `btn${a.name === 'cancel' ? ' btn-danger' : ''}`, 'data-action': a.name, disabled: true,
    }, a.label);
    buttons[a.name].addEventListener('click', () => act(a));
  }
  const problem = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  const hold = h('p', { class: 'banner banner-warn', role: 'status', hidden: true });
  const progressSlot = h('div', { class: 'progress-slot' });
  const doneText = h('p', { class: 'progress-caption' });
  const eta = h('strong', { id: 'eta' }, '–');
  const rateText = h('strong', { id: 'rate' }, '–');
  const transport = h('span', { class: 'transport', id: 'transport' });
  const counterCells = {};
  const counters = h('dl', { class: 'counters' },
    COUNTERS.map(([k, label]) => {
      counterCells[k] = h('dd', { id: `count-${k}` }, '–');
      return h('div', { class: `counter counter-${k}` }, h('dt', {}, label), counterCells[k]);
    }));
  const details = h('dl', { class: 'details' });
  const canvas = h('canvas', {
    class: 'chart', role: 'img', 'aria-label': 'Recipients finished per second over time',
  });
  const chart = new ThroughputChart(canvas);

  const recipients = recipientsTable(jobId);

  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Jobs'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page', class: 'mono' }, jobId)),
    h('div', { class: 'page-head' },
      h('div', {}, h('div', { class: 'title-row' }, title, badge), meta),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Job actions' }, ACTIONS.map((a) => buttons[a.name]))),
    result, problem, hold,
    h('section', { class: 'card', 'aria-labelledby': 'progress-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'progress-title' }, 'Progress'), transport),
      progressSlot, doneText,
      h('div', { class: 'stats' },
        h('div', {}, h('span', { class: 'muted' }, 'Rate '), rateText),
        h('div', {}, h('span', { class: 'muted' }, 'Time left '), eta)),
      counters),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
        h('h2', { id: 'chart-title' }, 'Throughput'), canvas),
      h('section', { class: 'card', 'aria-labelledby': 'details-title' },
        h('h2', { id: 'details-title' }, 'Details'), details)),
    recipients.element);

  function show(j, { measure = true } = {}) {
    const statusChanged = !job || job.status !== j.status;
    job = j;
    badge.replaceChildren(statusBadge(j.status));
    const channel = j.channel || (j.routing ? j.routing.channels.join(' → ') : '');
    meta.textContent = `${channel}${j.provider ? ` via ${j.provider}` : ''} · created ${dateTimeFormat.format(new Date(j.created_at))}`;
    const { total, done } = progressOf(j);
    progressSlot.replaceChildren(progressBar(j, { large: true, label: 'Job progress' }));
    doneText.textContent = `${num(done)} of ${num(total)} recipients done`;
    rateText.textContent = j.started_at ? rate(j.rate_per_second) : '–';
    if (FINAL.has(j.status)) eta.textContent = 'done';
    else if (j.status === 'PROCESSING') eta.textContent = duration(j.estimated_seconds_remaining) ?? 'measuring…';
    else eta.textContent = '–';
    for (const [k] of COUNTERS) counterCells[k].textContent = num(j[k]);
    details.replaceChildren(...[
      ['Started', when(j.started_at)], ['Finished', when(j.finished_at)],
      ['Scheduled for', when(j.schedule_at)], ['Expires', when(j.expires_at)],
      ['Rate limit', j.rate_limit ? `${num(j.rate_limit)}/s` : 'none'],
      ['Template', j.template || 'inline content'],
      ['Correlation id', j.correlation_id || '–'],
      ['Updated', when(j.updated_at)],
    ].map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
    if (j.dispatch_hold) {
      hold.textContent = `Sending is on hold: ${j.dispatch_hold.message} (${j.dispatch_hold.code})`;
      hold.hidden = false;
    } else {
      hold.hidden = true;
    }
    if (!busy) for (const a of ACTIONS) buttons[a.name].disabled = !a.from.includes(j.status);
    chart.emptyText = FINAL.has(j.status)
      ? `Finished: ${rate(j.rate_per_second)} on average`
      : 'Waiting for progress to measure…';
    if (measure && j.started_at) chart.add(j);
    else chart.draw();
    if (statusChanged) recipients.reload();
  }

  async function act(a) {
    if (a.name === 'cancel' && !buttons.cancel.classList.contains('confirming')) {
      // A second click confirms: a cancel cannot be undone.
      buttons.cancel.classList.add('confirming');
      buttons.cancel.textContent = 'Confirm cancel';
      confirmTimer = setTimeout(resetCancel, 5000);
      return;
    }
    resetCancel();
    busy = true;
    for (const b of Object.values(buttons)) b.disabled = true;
    result.className = 'action-result';
    result.textContent = `${a.label}…`;
    try {
      const j = await api('POST', `/v1/jobs/${encodeURIComponent(jobId)}/${a.name}`);
      if (disposed) return;
      result.className = 'action-result ok';
      result.textContent = `${a.done} The job is ${j.status}.`;
      busy = false;
      show(j);
    } catch (err) {
      if (disposed) return;
      busy = false;
      result.className = 'action-result error';
      result.textContent = `Could not ${a.name === 'cancel' ? 'cancel' : a.name}: ${describe(err)}`;
      if (job) show(job);
    }
  }

  function resetCancel() {
    clearTimeout(confirmTimer);
    buttons.cancel.classList.remove('confirming');
    buttons.cancel.textContent = 'Cancel job';
  }

  const transports = {
    live: 'Live', polling: `Refreshing every ${POLL_MS / 1000} s`, ended: 'Final',
  };
  const feed = new JobFeed(jobId, {
    onJob: (j) => { if (!disposed) show(j); },
    onStatus: (s) => {
      if (!disposed && job && s.status !== job.status) show({ ...job, status: s.status }, { measure: false });
    },
    onTransport: (t) => {
      transport.textContent = transports[t];
      transport.className = `transport transport-${t}`;
    },
    onProblem: (p) => {
      problem.textContent = p || '';
      problem.hidden = !p;
    },
  });
  feed.start();
  // The recipients' states move while the job runs: their page is read
  // again every few seconds then (and at each status change, in show()).
  const recipientsTimer = setInterval(() => {
    if (job && !FINAL.has(job.status) && !document.hidden) recipients.reload();
  }, 3000);
  // The stream sends nothing while nothing changes (a pause, a stall): the
  // chart still takes a sample every second, so it shows the fall to 0.
  const chartTimer = setInterval(() => {
    if (job && !FINAL.has(job.status) && job.started_at) chart.add(job);
  }, 1000);
  focusHeading();
  const onResize = () => chart.draw();
  window.addEventListener('resize', onResize);

  return {
    dispose() {
      disposed = true;
      clearTimeout(confirmTimer);
      clearInterval(recipientsTimer);
      clearInterval(chartTimer);
      feed.close();
      recipients.dispose();
      window.removeEventListener('resize', onResize);
    },
  };
}

// The job's recipients, a page at a time, with a status filter.
function recipientsTable(jobId) {
  const cursors = [''];
  let page = 0;
  let next = null;
  let status = '';
  let disposed = false;
  let loading = null;

  const filter = h('select', { id: 'recipient-filter' },
    h('option', { value: '' }, 'All statuses'),
    RECIPIENT_STATUSES.map((s) => h('option', { value: s }, s)));
  filter.addEventListener('change', () => {
    status = filter.value;
    cursors.length = 1;
    page = 0;
    load();
  });
  const refresh = h('button', { type: 'button', class: 'btn btn-quiet' }, 'Refresh');
  refresh.addEventListener('click', () => load());
  const tbody = h('tbody');
  const problem = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  const prev = h('button', { type: 'button', class: 'btn', disabled: true }, '← Previous');
  const more = h('button', { type: 'button', class: 'btn', disabled: true }, 'Next →');
  const pageLabel = h('span', { class: 'muted small' });
  prev.addEventListener('click', () => { if (page > 0) { page -= 1; load(); } });
  more.addEventListener('click', () => {
    if (next) {
      cursors[page + 1] = next;
      page += 1;
      load();
    }
  });

  const element = h('section', { class: 'card table-card', 'aria-labelledby': 'recipients-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'recipients-title' }, 'Recipients'),
      h('div', { class: 'toolbar' }, h('label', { for: 'recipient-filter' }, 'Status'), filter, refresh)),
    problem,
    h('table', { class: 'recipients' },
      h('caption', { class: 'visually-hidden' }, 'Recipients in ingest order'),
      h('thead', {}, h('tr', {},
        ['#', 'User', 'Address', 'Channel', 'Status', 'Attempts', 'Error', 'Updated']
          .map((c, i) => h('th', { scope: 'col', class: i === 0 || i === 5 ? 'num' : null }, c)))),
      tbody),
    h('nav', { class: 'pager', 'aria-label': 'Recipients pages' }, prev, pageLabel, more));

  function address(u) {
    return u.email || u.phone || u.push_token || u.webhook_url || '–';
  }

  function row(u) {
    const error = u.error
      ? h('span', { class: 'error-text' }, h('code', {}, u.error.code), ' ', u.error.message)
      : h('span', { class: 'muted' }, '–');
    return h('tr', { 'data-seq': u.seq },
      h('td', { class: 'num' }, u.seq),
      h('td', {}, u.user_id ?? h('span', { class: 'muted' }, '–')),
      h('td', { class: 'mono small address', title: address(u) }, address(u)),
      h('td', {}, u.channel || '–'),
      h('td', {}, statusBadge(u.status)),
      h('td', { class: 'num' }, u.attempts),
      h('td', { class: 'wrap' }, error),
      h('td', {}, when(u.updated_at)));
  }

  async function load() {
    const mine = {};
    loading = mine;
    try {
      const res = await api('GET',
        `/v1/jobs/${encodeURIComponent(jobId)}/users${query({ status, cursor: cursors[page], limit: PAGE_SIZE })}`);
      if (disposed || loading !== mine) return;
      problem.hidden = true;
      next = res.paging && res.paging.more ? res.paging.cursor : null;
      tbody.replaceChildren(...res.users.map(row));
      if (!res.users.length) {
        tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' },
          next ? 'None on this page; there are more further on.' : status ? `No ${status} recipients.` : 'No recipients yet.')));
      }
      prev.disabled = page === 0;
      more.disabled = !next;
      pageLabel.textContent = `Page ${page + 1}`;
    } catch (err) {
      if (disposed || loading !== mine) return;
      problem.textContent = `Could not load the recipients: ${describe(err)}`;
      problem.hidden = false;
    }
  }

  return {
    element,
    reload: load,
    dispose() { disposed = true; },
  };
}

// ---- start ---------------------------------------------------------------------

document.getElementById('sign-out').addEventListener('click', () => signOut(''));
window.addEventListener('hashchange', render);
render();
