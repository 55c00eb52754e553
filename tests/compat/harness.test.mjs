// Proves the harness: a native webhook job of three users, created, ingested
// and run against the real server, arrives at the real sink exactly once per
// user. The vendor tests stand on the same harness.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startCrier } from './harness.mjs';

test('a native webhook job of 3 users completes and the sink gets 3 messages', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());

  const created = await crier.fetchJson('POST', '/v1/jobs', {
    channel: 'webhook',
    content: { webhook: { body: { greeting: 'Hello {{name}}' } } },
    data: { name: 'friend' },
    webhook_url: `${crier.sinkUrl}/hooks`,
  });
  assert.equal(created.status, 201, created.text);
  const jobId = created.body.job_id;
  assert.match(jobId, /^job_[0-9A-Z]{26}$/);

  const users = ['u1', 'u2', 'u3'].map((id) => ({ user_id: id, data: { name: id.toUpperCase() } }));
  const ingested = await crier.fetchJson('POST', `/v1/jobs/${jobId}/users`, { users });
  assert.equal(ingested.status, 200, ingested.text);
  assert.equal(ingested.body.accepted, 3, ingested.text);

  const run = await crier.fetchJson('POST', `/v1/jobs/${jobId}/run`);
  assert.equal(run.status, 202, run.text);

  const job = await crier.waitFor(async () => {
    const r = await crier.fetchJson('GET', `/v1/jobs/${jobId}`);
    return r.body?.status === 'COMPLETED' && r.body;
  }, 30000, { what: `job ${jobId} COMPLETED` });
  assert.equal(job.sent + job.delivered, 3, JSON.stringify(job));
  assert.equal(job.failed, 0, JSON.stringify(job));

  const stats = await crier.sinkStats();
  assert.equal(stats.requests, 3, JSON.stringify(stats));
  assert.equal(stats.unique, 3, JSON.stringify(stats));
  assert.equal(stats.duplicates, 0, JSON.stringify(stats));
  assert.deepEqual(stats.paths, { '/hooks': 3 });

  const seen = (await crier.sinkRequests()).map((r) => JSON.parse(r.body));
  assert.deepEqual(seen.map((m) => m.user_id).sort(), ['u1', 'u2', 'u3']);
  for (const m of seen) {
    assert.equal(m.job_id, jobId);
    assert.deepEqual(m.data, { greeting: `Hello ${m.user_id.toUpperCase()}` });
  }
});

test('the harness reports a server that cannot start, with its output', async () => {
  await assert.rejects(startCrier({ args: ['--no-such-flag'] }), /did not start[\s\S]*--- its output ---/);
});
