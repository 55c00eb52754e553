// The harness of the vendor-compatibility tests: the real `crier serve` on
// 127.0.0.1:0 with a temp data dir, and the real loopback webhook sink
// (`crier sink`) beside it, both child processes of the test.
//
//   import { startCrier } from './harness.mjs';
//   const crier = await startCrier();             // or startCrier({ args: [...] })
//   t.after(() => crier.stop());
//   const r = await crier.fetchJson('POST', '/v1/jobs', spec);   // Bearer apiKey
//   await crier.waitFor(async () => (await crier.fetchJson('GET', path)).body.status === 'COMPLETED');
//
// The binary is $CRIER_BINARY (ctest sets it to the built `crier`). A child's
// first stdout line announces its port ("crier listening on http://HOST:PORT",
// "crier sink listening on http://HOST:PORT"); everything after that, stdout
// and stderr, goes to a log file in the data dir, so no pipe ever fills, and
// its tail is quoted when a start or a waitFor fails. Children still running
// when the process exits are killed. CRIER_COMPAT_KEEP=1 keeps the data dir.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const DEFAULT_API_KEY = 'compat-key-tenant-a-0001';
export const DEFAULT_TENANT = 'acme';

const live = new Set();  // children not yet known to have exited

function killAll() {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

function binary() {
  const bin = process.env.CRIER_BINARY;
  if (!bin) throw new Error('CRIER_BINARY must name the crier executable (ctest sets it; see tests/compat/CMakeLists.txt)');
  return bin;
}

function tail(file, maxBytes = 4000) {
  try {
    const all = readFileSync(file, 'utf8');
    return all.length > maxBytes ? '...' + all.slice(-maxBytes) : all;
  } catch {
    return '';
  }
}

// Starts `crier <args>` and resolves with {child, url, exited} once its
// first stdout line matches `announce` (a RegExp whose group 1 is the URL);
// rejects, quoting its output, when the child exits first or the deadline
// passes. All its output, stdout and stderr, is appended to `logFile`.
function startChild(args, logFile, announce, deadlineMs) {
  const log = createWriteStream(logFile, { flags: 'a' });
  log.on('error', () => {});  // the log is best effort
  const logClosed = new Promise((resolve) => log.once('close', resolve));
  const append = (chunk) => { if (!log.writableEnded) log.write(chunk); };

  const child = spawn(binary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  // 'close' comes after the exit and after both pipes closed: the log is whole.
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      log.end();
      resolve({ code, signal });
    });
  });
  child.stderr.on('data', append);
  child.stdout.on('data', append);

  return new Promise((resolve, reject) => {
    let firstLine = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const quote = () => reject(new Error(`crier ${args.join(' ')}: did not start: ${why}\n--- its output ---\n${tail(logFile)}`));
      Promise.race([logClosed, new Promise((r) => setTimeout(r, 2000))]).then(quote);
    };
    const timer = setTimeout(() => fail(`no announcement within ${deadlineMs} ms`), deadlineMs);
    const onData = (chunk) => {
      firstLine += chunk.toString('utf8');
      const nl = firstLine.indexOf('\n');
      if (nl < 0) return;
      child.stdout.off('data', onData);
      const m = announce.exec(firstLine.slice(0, nl));
      if (!m) return fail(`its first stdout line is not the announcement: ${JSON.stringify(firstLine.slice(0, nl))}`);
      settled = true;
      clearTimeout(timer);
      resolve({ child, url: m[1], exited });
    };
    child.stdout.on('data', onData);
    child.once('error', (e) => fail(e.message));
    exited.then(({ code, signal }) => fail(`it exited (code ${code}, signal ${signal})`));
  });
}

// SIGTERM, then SIGKILL after `deadlineMs`; resolves with the exit.
async function stopChild(started, deadlineMs = 20000) {
  if (!started) return null;
  const { child, exited } = started;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

// An HTTP exchange with a JSON body (or none): {status, headers, body, text}.
// `body` is the parsed answer, or null when it is empty or not JSON; a
// string request body is sent as is, anything else as JSON. A header given
// as null or undefined is not sent.
export async function fetchJson(url, method, body, headers = {}) {
  const h = {};
  if (body !== undefined && body !== null && typeof body !== 'string') h['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (v === null || v === undefined) delete h[key];
    else h[key] = String(v);
  }
  const init = { method, headers: h };
  if (body !== undefined && body !== null) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not JSON: `text` has it */ }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

// Polls `predicate` (sync or async) until it returns something truthy, and
// resolves with that; rejects when `deadlineMs` passes first, quoting the
// last value or error. Waiting is polling with a deadline, never a sleep
// taken as proof.
export async function waitFor(predicate, deadlineMs = 30000, { intervalMs = 20, what = 'the condition' } = {}) {
  const until = Date.now() + deadlineMs;
  let last;
  for (;;) {
    try {
      last = await predicate();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= until) {
      const shown = last instanceof Error ? last.stack : JSON.stringify(last);
      throw new Error(`${what} did not hold within ${deadlineMs} ms; last: ${shown}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Starts the sink, then the server. Options:
//   apiKey, tenant   the one --api-key KEY=TENANT (defaults above)
//   args             more `crier serve` flags, or ({sinkUrl, dataDir, scratchDir}) => flags
//   config           a TOML config (string, or the same kind of function returning one),
//                    written to a scratch file and passed as --config
//   sinkArgs         more `crier sink` flags (e.g. ['--fail-first', '1'])
//   startDeadlineMs  for each child's announcement (default 20 s)
// Resolves with {baseUrl, apiKey, tenant, sinkUrl, dataDir, fetchJson, waitFor,
// sinkStats, sinkRequests, serverOutput, stop}.
export async function startCrier(options = {}) {
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const deadlineMs = options.startDeadlineMs ?? 20000;
  const root = mkdtempSync(path.join(tmpdir(), 'crier-compat-'));
  const dataDir = path.join(root, 'data');
  const scratchDir = root;
  const serverLog = path.join(root, 'server-output.log');
  const sinkLog = path.join(root, 'sink-output.log');

  let sink = null;
  let server = null;
  const stop = async () => {
    const [serverExit] = await Promise.all([stopChild(server), stopChild(sink)]);
    server = sink = null;
    if (!process.env.CRIER_COMPAT_KEEP) rmSync(root, { recursive: true, force: true });
    return serverExit;
  };

  try {
    sink = await startChild(['sink', '--listen', '127.0.0.1:0', ...(options.sinkArgs ?? [])], sinkLog,
                            /^crier sink listening on (http:\/\/\S+?)\/?$/, deadlineMs);
    const sinkUrl = sink.url;
    const context = { sinkUrl, dataDir, scratchDir };
    // The sink is on loopback, which the egress guard refuses unless allowed.
    const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--api-key', `${apiKey}=${tenant}`,
                  '--egress-allow', '127.0.0.0/8'];
    if (options.config !== undefined) {
      const toml = typeof options.config === 'function' ? options.config(context) : options.config;
      const configPath = path.join(scratchDir, 'crier.toml');
      writeFileSync(configPath, toml);
      args.push('--config', configPath);
    }
    const extra = typeof options.args === 'function' ? options.args(context) : (options.args ?? []);
    args.push(...extra);
    server = await startChild(args, serverLog, /^crier listening on (http:\/\/\S+?)\/?$/, deadlineMs);
    const baseUrl = server.url;
    const serverOutput = (maxBytes) => tail(serverLog, maxBytes);

    return {
      baseUrl,
      apiKey,
      tenant,
      sinkUrl,
      dataDir,
      // `target` is a path on the server (sent with `Authorization: Bearer
      // apiKey` unless headers say otherwise) or an absolute URL (sent as is).
      fetchJson(method, target, body, headers = {}) {
        if (/^https?:\/\//.test(target)) return fetchJson(target, method, body, headers);
        return fetchJson(baseUrl + target, method, body, { authorization: `Bearer ${apiKey}`, ...headers });
      },
      // waitFor, quoting the server's output when it times out.
      async waitFor(predicate, deadlineMs = 30000, opts = {}) {
        try {
          return await waitFor(predicate, deadlineMs, opts);
        } catch (e) {
          e.message += `\n--- server output (tail) ---\n${serverOutput()}`;
          throw e;
        }
      },
      // GET /_sink/stats: {requests, accepted, unique, duplicates, bad_signatures,
      // injected_failures, connections, max_1s_window, paths: {path: count}}.
      async sinkStats() {
        return (await fetchJson(`${sinkUrl}/_sink/stats`, 'GET')).body;
      },
      // GET /_sink/requests: the recent requests, oldest first, each
      // {method, target, headers, body, message_id, status}.
      async sinkRequests() {
        return (await fetchJson(`${sinkUrl}/_sink/requests`, 'GET')).body;
      },
      serverOutput,
      // Stops both children (SIGTERM, then SIGKILL) and removes the temp
      // dir; resolves with the server's {code, signal}. Idempotent.
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
