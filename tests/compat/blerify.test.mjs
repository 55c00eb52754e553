// Blerify's bulk notification items over raw HTTP, exactly as its PHP client
// (blerify/notifications) sends them: Bearer token, JSON body, a
// correlation-id header; paths built from the organization (the key's
// tenant) and the notification group. Items run to the real loopback sink.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import { startCrier } from './harness.mjs';

// What the client sends on every call.
function blerifyHeaders(crier, correlationId = randomUUID()) {
  return { authorization: `Bearer ${crier.apiKey}`, 'content-type': 'application/json', 'correlation-id': correlationId };
}

test('a bulk call creates items that are delivered and read back under their ids', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const group = randomUUID();
  const put = await crier.fetchJson('PUT', `/v1/notification-groups/${group}`, {
    channel: 'webhook',
    content: { webhook: { body: { text: 'You owe {{Amount}} by {{DueDate}}' } } },
    webhook_url: `${crier.sinkUrl}/blerify`,
  });
  assert.equal(put.status, 201, put.text);

  const base = `${crier.baseUrl}/api/v1/organizations/${crier.tenant}/notifications/${group}/items`;
  const items = [
    { receiverData: { id: 'receiver-1', Amount: '10.00', DueDate: '2026-12-31' } },
    { receiverData: { id: 'receiver-2', Amount: '20.00', DueDate: '2027-01-15' } },
  ];
  const bulk = await crier.fetchJson('POST', `${base}/bulk`, JSON.stringify({ items }), blerifyHeaders(crier, 'corr-42'));
  assert.equal(bulk.status, 201, bulk.text);
  assert.equal(bulk.body.total, 2);
  assert.equal(bulk.body.offset, 0);
  assert.deepEqual(bulk.body.items.map((i) => i.receiverData.id), ['receiver-1', 'receiver-2']);
  for (const item of bulk.body.items) {
    assert.match(item.id, /^msg_[0-9A-Z]{26}_[0-9a-f]{16}$/);
    assert.equal(item.notificationGroupId, group);
  }

  // Delivered to the sink under those ids, each with its own data.
  const ids = bulk.body.items.map((i) => i.id);
  const delivered = await crier.waitFor(async () => {
    const r = await crier.sinkRequests();
    return r.length === 2 && r;
  }, 30000, { what: 'two deliveries at the sink' });
  const bodies = Object.fromEntries(delivered.map((r) => [r.message_id, JSON.parse(r.body)]));
  assert.deepEqual(Object.keys(bodies).sort(), [...ids].sort());
  assert.deepEqual(bodies[ids[0]].data, { text: 'You owe 10.00 by 2026-12-31' });
  assert.equal(bodies[ids[0]].correlation_id, 'corr-42');

  // Read back one by one, SENT with a send time, and as a page of the group.
  const one = await crier.waitFor(async () => {
    const r = await crier.fetchJson('GET', `${base}/${ids[1]}`, undefined, blerifyHeaders(crier));
    return r.body?.status === 'SENT' && r;
  }, 30000, { what: 'item SENT' });
  assert.equal(one.status, 200);
  assert.ok(one.body.sentAt);
  assert.equal(one.body.readAt, null);
  const page = await crier.fetchJson('GET', `${base}?limit=1&offset=1`, undefined, blerifyHeaders(crier));
  assert.equal(page.status, 200, page.text);
  assert.equal(page.body.total, 2);
  assert.deepEqual(page.body.items.map((i) => i.id), [ids[1]]);
});

test('errors come in Blerify\'s shape and a refused call stores nothing', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const group = randomUUID();
  await crier.fetchJson('PUT', `/v1/notification-groups/${group}`, {
    channel: 'email', content: { email: { subject: 'Due', text: 'You owe {{Amount}}' } },
  });
  const base = `${crier.baseUrl}/api/v1/organizations/${crier.tenant}/notifications/${group}/items`;

  const wrongKey = await crier.fetchJson('POST', `${base}/bulk`, JSON.stringify({ items: [] }),
                                         { ...blerifyHeaders(crier), authorization: 'Bearer not-the-key' });
  assert.equal(wrongKey.status, 401);
  assert.equal(wrongKey.body.statusCode, 401);
  assert.equal(typeof wrongKey.body.message, 'string');

  const otherOrg = await crier.fetchJson('POST', `${crier.baseUrl}/api/v1/organizations/someone-else/notifications/${group}/items/bulk`,
                                         JSON.stringify({ items: [{ receiverData: { id: 'a', email: 'a@example.com' } }] }),
                                         blerifyHeaders(crier));
  assert.equal(otherOrg.status, 404);

  const refused = await crier.fetchJson('POST', `${base}/bulk`, JSON.stringify({
    items: [{ receiverData: { id: 'a', email: 'a@example.com' } }, { receiverData: { id: 'b', email: 'not-an-email' } }],
  }), blerifyHeaders(crier));
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.statusCode, 400);
  assert.equal(refused.body.errors[0].index, 1);
  const jobs = await crier.fetchJson('GET', '/v1/jobs');
  assert.deepEqual(jobs.body.jobs, []);
});
