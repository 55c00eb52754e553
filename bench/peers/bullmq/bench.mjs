// The BullMQ + Redis peer for Crier's server benchmarks (issue 4): the same
// workload as bench/load.sh, built the way a team would build it on BullMQ.
//
//   A  bullmq_ingest            queue.addBulk of N recipients in batches of BATCH
//   B  bullmq_dispatch_webhook  a Worker renders the template and POSTs the
//                               signed JSON envelope to SINK_URL (keep-alive)
//   C  bullmq_status_latency    queue.getJobCounts() back to back while B runs,
//                               from a separate process (as wrk is for Crier)
//
// Each scenario prints exactly one JSON line on stdout; progress goes to stderr.
// Settings (environment, or --name=value arguments, e.g. --N=20000):
//   REDIS_URL     redis://127.0.0.1:6379 (run.sh starts its own redis-server)
//   N             recipients to ingest (1000000)
//   BATCH         jobs per addBulk call (10000)
//   DISPATCH_N    recipients for B and C (N; when different, A's queue is
//                 obliterated and DISPATCH_N fresh jobs are added, untimed)
//   SINK_URL      where B POSTs (required for B and C)
//   SINK_SECRET   Standard Webhooks secret ("whsec_..." or raw) to sign with, as
//                 Crier does; empty: unsigned, message id in X-Crier-Message-Id
//   RATE          Worker limiter, messages/s (0 = unlimited)
//   CONCURRENCY   Worker concurrency (64)
//   HTTP_CLIENT   http (node:http with a keep-alive Agent; default) or fetch
//                 (the built-in fetch, whose undici pool keeps connections alive)
//   REMOVE_ON_COMPLETE  1: jobs are deleted when completed (default 0: kept,
//                 like Crier's per-recipient state, so status stays queryable)
//   STATUS_INTERVAL_MS  pause between C's samples (0: back to back, as wrk -c1
//                 drives Crier's status endpoint in load.sh)
//   STALL_S       B gives up when no job settles for this long (60)
//   SCENARIOS     which to run, comma-separated (ingest,dispatch; C runs with B)
import { fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';

const args = Object.fromEntries(
  process.argv.slice(2).filter((a) => a.startsWith('--') && a.includes('=')).map((a) => {
    const i = a.indexOf('=');
    return [a.slice(2, i), a.slice(i + 1)];
  }),
);
const setting = (name, fallback) => args[name] ?? process.env[name] ?? fallback;
const int = (name, fallback) => {
  const v = Number(setting(name, fallback));
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, not '${setting(name)}'`);
  return v;
};

const redisUrl = new URL(setting('REDIS_URL', 'redis://127.0.0.1:6379'));
// Workers need maxRetriesPerRequest: null (BullMQ's rule for blocking connections).
const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379), maxRetriesPerRequest: null };
const queueName = setting('QUEUE', 'crier-bench');
const log = (...m) => console.error('bullmq-bench:', ...m);
const emit = (o) => console.log(JSON.stringify(o));
const round = (x, d = 0) => Number(x.toFixed(d));

// ---- C, in its own process: getJobCounts back to back until told to stop.
async function sampleStatus() {
  const queue = new Queue(setting('SAMPLE_QUEUE', queueName), { connection });
  await queue.waitUntilReady();
  const interval = int('STATUS_INTERVAL_MS', 0);
  let stop = false;
  process.on('message', (m) => { if (m === 'stop') stop = true; });
  process.send('ready');
  const ms = [];
  while (!stop) {
    const t = performance.now();
    await queue.getJobCounts();
    ms.push(performance.now() - t);
    if (interval > 0) await new Promise((r) => setTimeout(r, interval));
  }
  await queue.close();
  // Not process.exit: that could drop the message. The disconnect ends the process.
  process.send({ ms }, () => process.disconnect());
}

const N = int('N', 1_000_000);
const BATCH = Math.max(1, int('BATCH', 10_000));
const DISPATCH_N = int('DISPATCH_N', N);
const SINK_URL = setting('SINK_URL', '');
const SINK_SECRET = setting('SINK_SECRET', '');
const RATE = int('RATE', 0);
const CONCURRENCY = Math.max(1, int('CONCURRENCY', 64));
const HTTP_CLIENT = setting('HTTP_CLIENT', 'http');
const REMOVE_ON_COMPLETE = setting('REMOVE_ON_COMPLETE', '0') === '1';
const SCENARIOS = new Set(setting('SCENARIOS', 'ingest,dispatch').split(',').map((s) => s.trim()));

// The sample record of bench/load.sh's gen_ndjson, recipient i.
const record = (i) => ({
  user_id: `user-${String(i).padStart(7, '0')}`,
  email: `user${i}@example.com`,
  data: { name: `User ${i}`, amount: `${i % 1000}.50` },
});
// The webhook template of load.sh's hook_spec: body {"name":"{{name}}"}.
const template = '{"name":"{{name}}"}';
const jsonEscape = (s) => JSON.stringify(String(s)).slice(1, -1);
const render = (tpl, vars) => tpl.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, k) => (k in vars ? jsonEscape(vars[k]) : ''));

const redisInfo = async (queue, section) => {
  const client = await queue.client;
  const text = await client.info(section);
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':', 2)));
};
const redisRssMb = async (queue) => round(Number((await redisInfo(queue, 'memory')).used_memory_rss) / 1048576, 1);

const jobOptions = { removeOnComplete: REMOVE_ON_COMPLETE, removeOnFail: false };

// Adds recipients [0, n) to the queue in batches; the bytes of their JSON, as
// Crier's ingest counts the bytes of its {"users":[...]} batches.
async function addAll(queue, n) {
  let bytes = 0;
  for (let first = 0; first < n; first += BATCH) {
    const jobs = [];
    let batchBytes = 12; // {"users":[ ... ]}
    for (let i = first; i < Math.min(n, first + BATCH); i++) {
      const data = record(i);
      batchBytes += JSON.stringify(data).length + 1;
      jobs.push({ name: 'notify', data, opts: jobOptions });
    }
    await queue.addBulk(jobs);
    bytes += batchBytes;
  }
  return bytes;
}

async function sinkStats() {
  const res = await fetch(new URL('/_sink/stats', SINK_URL));
  if (!res.ok) throw new Error(`GET /_sink/stats: HTTP ${res.status}`);
  return res.json();
}

// One POST of the envelope; resolves to the status code.
function makePoster() {
  const url = new URL(SINK_URL);
  if (HTTP_CLIENT === 'fetch') {
    return async (headers, body) => {
      const res = await fetch(url, { method: 'POST', headers, body });
      await res.arrayBuffer();
      return res.status;
    };
  }
  if (HTTP_CLIENT !== 'http') throw new Error(`HTTP_CLIENT must be http or fetch, not '${HTTP_CLIENT}'`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  return (headers, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port || 80, path: url.pathname + url.search, method: 'POST', agent,
          headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

const signingKey = SINK_SECRET.startsWith('whsec_') ? Buffer.from(SINK_SECRET.slice(6), 'base64')
  : SINK_SECRET ? Buffer.from(SINK_SECRET) : null;

async function ingest() {
  const queue = new Queue(queueName, { connection });
  await queue.waitUntilReady();
  await queue.obliterate({ force: true });
  const t0 = performance.now();
  const bytes = await addAll(queue, N);
  const s = (performance.now() - t0) / 1000;
  const counts = await queue.getJobCounts('waiting');
  if (counts.waiting !== N) throw new Error(`ingest: ${counts.waiting} jobs waiting, expected ${N}`);
  emit({ scenario: 'bullmq_ingest', recipients: N, batch: BATCH, seconds: round(s, 3), recipients_per_s: round(N / s),
         mb_per_s: round(bytes / 1e6 / s, 1), redis_rss_mb: await redisRssMb(queue),
         producer_rss_mb: round(process.memoryUsage().rss / 1048576, 1) });
  await queue.close();
}

async function dispatch() {
  if (!SINK_URL) throw new Error('SINK_URL is required for the dispatch scenario');
  const queue = new Queue(queueName, { connection });
  await queue.waitUntilReady();
  let total = (await queue.getJobCounts('waiting')).waiting;
  if (!SCENARIOS.has('ingest') || total !== DISPATCH_N) {
    log(`adding ${DISPATCH_N} jobs for dispatch (untimed)`);
    await queue.obliterate({ force: true });
    await addAll(queue, DISPATCH_N);
    total = DISPATCH_N;
  }
  const before = await sinkStats();
  const post = makePoster();
  const jobPrefix = `bullmq_${queueName}`;

  // C: the sampler process, started before the Worker so it sees all of B.
  const sampler = fork(fileURLToPath(import.meta.url), ['--sample-status'], {
    env: { ...process.env, SAMPLE_QUEUE: queueName }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve, reject) => {
    sampler.once('message', resolve);
    sampler.once('error', reject);
    sampler.once('exit', (code) => reject(new Error(`status sampler exited with ${code}`)));
  });
  const samples = new Promise((resolve, reject) => {
    sampler.on('message', (m) => { if (m && m.ms) resolve(m.ms); });
    sampler.on('exit', (code) => reject(new Error(`status sampler exited (${code}) without its samples`)));
  });
  samples.catch(() => {});

  let completed = 0, failed = 0, first = 0, last = 0;
  const perSecond = new Map();
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const settle = () => { if (completed + failed === total) done(); };

  const t0 = performance.now();
  const worker = new Worker(
    queueName,
    async (job) => {
      const u = job.data;
      const vars = { ...u.data, user_id: u.user_id, email: u.email };
      const messageId = `msg_${job.id}`;
      const body = `{"message_id":"${messageId}","job_id":"${jobPrefix}","seq":${Number(job.id)},` +
        `"user_id":${JSON.stringify(u.user_id ?? null)},"correlation_id":null,"channel":"webhook",` +
        `"data":${render(template, vars)}}`;
      const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': messageId };
      if (signingKey) {
        const ts = Math.floor(Date.now() / 1000);
        headers['webhook-id'] = messageId;
        headers['webhook-timestamp'] = String(ts);
        headers['webhook-signature'] = 'v1,' + createHmac('sha256', signingKey).update(`${messageId}.${ts}.${body}`).digest('base64');
      } else {
        headers['X-Crier-Message-Id'] = messageId;
      }
      const status = await post(headers, body);
      if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
      return status;
    },
    { connection, concurrency: CONCURRENCY, ...(RATE > 0 ? { limiter: { max: RATE, duration: 1000 } } : {}) },
  );
  worker.on('completed', () => {
    const now = performance.now();
    if (completed === 0) first = now;
    last = now;
    completed++;
    const sec = Math.floor((now - t0) / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
    settle();
  });
  worker.on('failed', (job, err) => {
    if (failed < 5) log(`job ${job?.id} failed: ${err.message}`);
    failed++;
    settle();
  });
  worker.on('error', (err) => log('worker error:', err.message));
  if (total === 0) done();
  // Bounded: give up when no job has settled for STALL_S seconds.
  const stallMs = 1000 * int('STALL_S', 60);
  let seen = -1, lastChange = performance.now();
  const watchdog = setInterval(() => {
    if (completed + failed !== seen) { seen = completed + failed; lastChange = performance.now(); }
    else if (performance.now() - lastChange > stallMs) done(new Error(`no progress for ${stallMs / 1000} s at ${seen}/${total}`));
  }, 1000);
  const stalled = await finished;
  clearInterval(watchdog);
  const tEnd = performance.now();

  sampler.send('stop');
  const ms = (await samples).sort((a, b) => a - b);
  await worker.close();
  if (stalled) throw stalled;
  const after = await sinkStats();
  const counts = await queue.getJobCounts();
  const rss = await redisRssMb(queue);
  await queue.close();

  const span = (last - first) / 1000;
  // Whole seconds only: the last, partial second would understate the window.
  const fullSeconds = [...perSecond.entries()].filter(([sec]) => sec < Math.floor((last - t0) / 1000));
  const unique = after.unique - before.unique;
  emit({ scenario: 'bullmq_dispatch_webhook', recipients: total, completed, failed, sink_unique: unique,
         sink_bad_signatures: after.bad_signatures - before.bad_signatures,
         sink_connections: after.connections - before.connections, concurrency: CONCURRENCY, rate_limit: RATE,
         http_client: HTTP_CLIENT, seconds: round(span, 3), messages_per_s: round(span > 0 ? (completed - 1) / span : 0),
         seconds_from_start: round((tEnd - t0) / 1000, 3), messages_per_s_from_start: round(completed / ((tEnd - t0) / 1000)),
         max_1s_window: fullSeconds.length ? Math.max(...fullSeconds.map(([, c]) => c)) : null, redis_rss_mb: rss,
         worker_rss_mb: round(process.memoryUsage().rss / 1048576, 1) });
  const pct = (p) => (ms.length ? round(ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)], 3) : null);
  emit({ scenario: 'bullmq_status_latency', samples: ms.length, getjobcounts_p50_ms: pct(50), getjobcounts_p99_ms: pct(99),
         getjobcounts_p999_ms: pct(99.9), getjobcounts_max_ms: ms.length ? round(ms[ms.length - 1], 3) : null });
  if (unique !== completed || completed !== total) {
    log(`mismatch: ${total} jobs, ${completed} completed, ${failed} failed, sink unique ${unique}; counts ${JSON.stringify(counts)}`);
    process.exitCode = 1;
  }
}

try {
  if (process.argv.includes('--sample-status')) {
    await sampleStatus();
  } else {
    if (SCENARIOS.has('ingest')) await ingest();
    if (SCENARIOS.has('dispatch')) await dispatch();
  }
} catch (err) {
  log(err.stack || err.message);
  process.exitCode = 1;
}
