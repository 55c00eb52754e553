// Courier's official Node client (@trycourier/courier, pinned in the
// lockfile) against a real `crier serve`, changed only in its base URL and
// key: create, addUsers, runJob, retrieveJob and listUsers, a job run to
// completion against the real loopback sink, and the client's error classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import Courier from '@trycourier/courier';

import { startCrier } from './harness.mjs';

// The client as a Courier user builds it, with a fetch that counts the
// requests it sends (to see its retries).
function courierClient(crier, apiKey = crier.apiKey) {
  const sent = [];
  const client = new Courier({
    apiKey,
    baseURL: crier.baseUrl,
    fetch: (url, init) => {
      sent.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
      return fetch(url, init);
    },
  });
  return { client, sent };
}

test('a bulk job made with the Courier client runs to the sink and reads back in Courier terms', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client } = courierClient(crier);
  const hook = `${crier.sinkUrl}/courier`;

  const { jobId } = await client.bulk.createJob({
    message: {
      event: 'order-shipped',
      content: { title: 'Order {{order}}', body: 'Hi {{name}}, order {{order}} from {{shop}} has shipped' },
      routing: { method: 'single', channels: ['webhook'] },
      data: { shop: 'Acme', order: 'none' },
    },
  });
  assert.match(jobId, /^job_[0-9A-Z]{26}$/);

  const users = [
    { to: { user_id: 'spike', data: { name: 'Spike', order: 'A-1' } }, profile: { webhook_url: hook } },
    { recipient: 'faye', data: { name: 'Faye', order: 'A-2' }, profile: { webhook_url: hook } },
    { to: { user_id: 'jet', webhook_url: hook }, data: { name: 'Jet', order: 'A-3' } },
    { to: { user_id: 'spike' }, profile: { webhook_url: hook } },  // a duplicate
  ];
  const { data: added, response } = await client.bulk.addUsers(jobId, { users }).withResponse();
  assert.match(response.headers.get('content-type'), /application\/json/);
  assert.equal(added.total, 3);
  assert.deepEqual(added.errors, [{ error: 'Duplicate user', user: users[3] }]);

  const before = await client.bulk.retrieveJob(jobId);
  assert.equal(before.job.status, 'CREATED');
  assert.equal(before.job.received, 4);
  assert.equal(before.job.definition.event, 'order-shipped');

  await client.bulk.runJob(jobId);
  const done = await crier.waitFor(async () => {
    const r = await client.bulk.retrieveJob(jobId);
    return r.job.status === 'COMPLETED' && r.job;
  }, 30000, { what: `Courier job ${jobId} COMPLETED` });
  assert.equal(done.enqueued, 3);
  assert.equal(done.failures, 0);

  // Every page of users, with the message ids the sink received.
  const items = [];
  let cursor;
  do {
    const page = await client.bulk.listUsers(jobId, cursor ? { cursor } : {});
    items.push(...page.items);
    cursor = page.paging.more ? page.paging.cursor : undefined;
  } while (cursor);
  assert.deepEqual(items.map((i) => i.recipient), ['spike', 'faye', 'jet']);
  for (const item of items) {
    assert.equal(item.status, 'ENQUEUED');
    assert.match(item.messageId, new RegExp(`^msg_${jobId.slice(4)}_[0-9a-f]{16}$`));
  }

  const delivered = (await crier.sinkRequests()).map((r) => JSON.parse(r.body));
  assert.equal(delivered.length, 3);
  const byUser = Object.fromEntries(delivered.map((m) => [m.user_id, m]));
  for (const item of items) assert.equal(byUser[item.recipient].message_id, item.messageId);
  // Per-user data over the job's: each user's order, the job's shop.
  assert.deepEqual(byUser.spike.data, { title: 'Order A-1', body: 'Hi Spike, order A-1 from Acme has shipped' });
  assert.deepEqual(byUser.faye.data, { title: 'Order A-2', body: 'Hi Faye, order A-2 from Acme has shipped' });
});

test('without a routing each user goes on the first channel they can be reached on', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client } = courierClient(crier);
  // Elemental sugar fits every channel: email, sms, push, webhook in that order.
  const { jobId } = await client.bulk.createJob({ message: { event: 'e', content: { title: 'Hi', body: 'Hello {{name}}' } } });
  await client.bulk.addUsers(jobId, {
    users: [
      { to: { user_id: 'mail', data: { name: 'M' } }, profile: { email: 'm@example.com', webhook_url: `${crier.sinkUrl}/x` } },
      { to: { user_id: 'hook', data: { name: 'H' } }, profile: { webhook_url: `${crier.sinkUrl}/x` } },
    ],
  });
  await client.bulk.runJob(jobId);
  await crier.waitFor(async () => (await client.bulk.retrieveJob(jobId)).job.status === 'COMPLETED', 30000);
  const { items } = await client.bulk.listUsers(jobId);
  assert.deepEqual(items.map((i) => [i.recipient, i.channel, i.status]),
                   [['mail', 'email', 'ENQUEUED'], ['hook', 'webhook', 'ENQUEUED']]);
  // Only the user without an email went to the webhook receiver.
  const delivered = (await crier.sinkRequests()).map((r) => JSON.parse(r.body));
  assert.deepEqual(delivered.map((m) => [m.user_id, m.data.body]), [['hook', 'Hello H']]);
});

test('the seed page\'s nested shape names a stored template', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const put = await crier.fetchJson('PUT', '/v1/templates/invoice-due', {
    content: { webhook: { body: { text: 'Invoice for {{company_name}}, {{recipientName}}' } } },
  });
  assert.equal(put.status, 201, put.text);
  const { client } = courierClient(crier);
  const { jobId } = await client.bulk.createJob({
    message: { message: { template: 'invoice-due' }, data: { company_name: 'Acme Corp' } },
  });
  await client.bulk.addUsers(jobId, {
    users: [{ to: { user_id: 'spike_spiegel', data: { recipientName: 'Spike Spiegel' } },
              profile: { webhook_url: `${crier.sinkUrl}/t` } }],
  });
  await client.bulk.runJob(jobId);
  await crier.waitFor(async () => (await client.bulk.retrieveJob(jobId)).job.status === 'COMPLETED', 30000);
  const [m] = (await crier.sinkRequests()).map((r) => JSON.parse(r.body));
  assert.deepEqual(m.data, { text: 'Invoice for Acme Corp, Spike Spiegel' });
});

test('errors raise the client\'s own error classes, and a refused run is sent once', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client, sent } = courierClient(crier);

  await assert.rejects(courierClient(crier, 'not-the-key').client.bulk.createJob({ message: { event: 'x' } }),
                       (e) => e instanceof Courier.AuthenticationError && e.status === 401);
  await assert.rejects(client.bulk.retrieveJob('job_00000000000000000000000000'),
                       (e) => e instanceof Courier.NotFoundError && /no job/.test(e.message));
  await assert.rejects(client.bulk.createJob({ message: { data: {} } }),
                       (e) => e instanceof Courier.BadRequestError && /message.event/.test(e.message));
  await assert.rejects(client.bulk.createJob({ message: { event: 'no-such-template' } }),
                       (e) => e instanceof Courier.NotFoundError);

  const { jobId } = await client.bulk.createJob({ message: { event: 'e', content: { title: 't', body: 'b' },
                                                             routing: { method: 'single', channels: ['webhook'] } } });
  await client.bulk.addUsers(jobId, { users: [{ to: { user_id: 'u', webhook_url: `${crier.sinkUrl}/e` } }] });
  await client.bulk.runJob(jobId);
  sent.length = 0;
  await assert.rejects(client.bulk.runJob(jobId), (e) => e instanceof Courier.ConflictError);
  assert.deepEqual(sent, [`POST /bulk/${jobId}/run`]);  // x-should-retry: false: no retries

  // A caller's Idempotency-Key is honoured: the same create answers the same job.
  const body = { message: { event: 'e', content: { title: 't', body: 'b' }, routing: { channels: ['email'] } } };
  const a = await client.bulk.createJob(body, { headers: { 'Idempotency-Key': 'bulk-create-1' } });
  const b = await client.bulk.createJob(body, { headers: { 'Idempotency-Key': 'bulk-create-1' } });
  assert.equal(a.jobId, b.jobId);
});

test('to.list_id and to.list_pattern send to the members of the tenant\'s lists, each once', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client } = courierClient(crier);
  // Profiles reached at the sink's /to/<id>; lists made with the native API.
  for (const id of ['ann', 'bob', 'cat', 'dan', 'eve']) {
    const r = await crier.fetchJson('PUT', `/v1/profiles/${id}`, { webhook_url: `${crier.sinkUrl}/to/${id}` });
    assert.equal(r.status, 201, r.text);
  }
  const lists = { 'orders.shipped': ['ann', 'bob'], 'orders.returned': ['bob', 'cat'], news: ['dan'], orders: ['eve'] };
  for (const [id, members] of Object.entries(lists)) {
    assert.equal((await crier.fetchJson('PUT', `/v1/lists/${id}`, {})).status, 201);
    const r = await crier.fetchJson('POST', `/v1/lists/${id}/members`, { user_ids: members });
    assert.equal(r.body.added, members.length, r.text);
  }

  const { jobId } = await client.bulk.createJob({
    message: { event: 'lists', content: { title: 'News', body: 'Hi {{name}}' }, routing: { method: 'single', channels: ['webhook'] } },
  });
  const users = [
    { to: { list_pattern: 'orders.*' }, data: { name: 'shopper' } },  // ann, bob, cat (not 'orders' itself)
    { to: { list_id: 'news', data: { name: 'reader' } } },             // dan
    { to: { list_id: 'no-such-list' } },
    { to: { list_pattern: 'nothing.*' } },
    { to: { user_id: 'ann' } },                                         // in orders.shipped already
  ];
  const added = await client.bulk.addUsers(jobId, { users });
  assert.equal(added.total, 4);
  assert.deepEqual(added.errors, [
    { error: "no list 'no-such-list'", user: users[2], code: 'unknown_list' },
    { error: "no list matches the pattern 'nothing.*'", user: users[3], code: 'unknown_list' },
    { error: 'Duplicate user', user: users[4] },
  ]);

  await client.bulk.runJob(jobId);
  const done = await crier.waitFor(async () => {
    const r = await client.bulk.retrieveJob(jobId);
    return r.job.status === 'COMPLETED' && r.job;
  }, 30000, { what: `Courier job ${jobId} COMPLETED` });
  assert.equal(done.received, 6);  // bob in two lists and ann named: each counted, as a duplicate
  assert.equal(done.enqueued, 4);
  const got = (await crier.sinkRequests()).map((r) => [r.target, JSON.parse(r.body).data.body]);
  got.sort();
  assert.deepEqual(got, [['/to/ann', 'Hi shopper'], ['/to/bob', 'Hi shopper'], ['/to/cat', 'Hi shopper'],
                         ['/to/dan', 'Hi reader']]);
});

test('list recipients: bad data is refused per entry, and what refuses the call stores nothing', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client } = courierClient(crier);
  assert.equal((await crier.fetchJson('PUT', '/v1/profiles/ann', { webhook_url: `${crier.sinkUrl}/to/ann` })).status, 201);
  assert.equal((await crier.fetchJson('PUT', '/v1/lists/news', {})).status, 201);
  assert.equal((await crier.fetchJson('POST', '/v1/lists/news/members', { user_ids: ['ann'] })).body.added, 1);
  const { jobId } = await client.bulk.createJob({
    message: { event: 'lists', content: { title: 'News', body: 'Hi' }, routing: { method: 'single', channels: ['webhook'] } },
  });
  const received = async () => (await client.bulk.retrieveJob(jobId)).job.received;

  // Data over a user's 64 KiB, or nested deeper than 32: that entry is refused, no member is read for it.
  let deep = { leaf: 1 };
  for (let i = 0; i < 40; ++i) deep = { d: deep };
  // A named user with data too deep is refused as ingest refuses it (and is
  // listed as sent, however deep).
  const users = [
    { to: { list_id: 'news' }, data: { blob: 'x'.repeat(70 * 1024) } },
    { to: { list_id: 'news', data: deep } },
    { to: { user_id: 'ann', data: deep }, data: { a: 1 } },
  ];
  const added = await client.bulk.addUsers(jobId, { users });
  assert.equal(added.total, 0);
  assert.deepEqual(added.errors.map((e) => e.code), ['invalid_data', 'invalid_data', 'invalid_data']);
  assert.deepEqual(added.errors[2].user, users[2]);
  assert.equal(await received(), 1, 'the named user, counted as received and rejected; no list member');

  // More than 100 list recipients in one call: 413, and nothing stored.
  const many = Array.from({ length: 101 }, () => ({ to: { list_id: 'news' } }));
  await assert.rejects(client.bulk.addUsers(jobId, { users: many }),
                       (e) => e instanceof Courier.APIError && e.status === 413);
  assert.equal(await received(), 1, 'a refused call stores no member');
});

test('the client\'s Lists API reads and writes the tenant\'s native lists', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const { client } = courierClient(crier);
  const subscribers = async (listId) => (await client.lists.subscriptions.list(listId)).items.map((i) => i.recipientId);

  await client.lists.update('orders.shipped', { name: 'Shipped' });
  const shipped = await client.lists.retrieve('orders.shipped');
  assert.equal(shipped.id, 'orders.shipped');
  assert.equal(shipped.name, 'Shipped');
  await client.lists.subscriptions.add('orders.shipped', { recipients: [{ recipientId: 'ann' }, { recipientId: 'bob' }] });
  await client.lists.subscriptions.subscribeUser('cat', { list_id: 'orders.returned' });  // makes the list, as Courier does
  await client.lists.update('news', { name: 'News' });

  const orders = await client.lists.list({ pattern: 'orders.*' });
  assert.deepEqual(orders.items.map((l) => l.id), ['orders.returned', 'orders.shipped']);
  assert.equal(orders.paging.more, false);
  assert.deepEqual(await subscribers('orders.shipped'), ['ann', 'bob']);
  const native = await crier.fetchJson('GET', '/v1/lists/orders.shipped');
  assert.equal(native.body.members, 2, native.text);

  // subscribe (PUT) replaces the members; unsubscribeUser removes one.
  await client.lists.subscriptions.subscribe('orders.shipped', { recipients: [{ recipientId: 'bob' }, { recipientId: 'dan' }] });
  assert.deepEqual(await subscribers('orders.shipped'), ['bob', 'dan']);
  await client.lists.subscriptions.unsubscribeUser('bob', { list_id: 'orders.shipped' });
  assert.deepEqual(await subscribers('orders.shipped'), ['dan']);
  await assert.rejects(client.lists.subscriptions.add('orders.shipped', { recipients: [{ recipientId: '' }] }),
                       (e) => e instanceof Courier.BadRequestError);
  assert.deepEqual(await subscribers('orders.shipped'), ['dan'], 'a refused request stores nothing');

  await client.lists.delete('news');
  await assert.rejects(client.lists.retrieve('news'), (e) => e instanceof Courier.NotFoundError);
  await assert.rejects(client.lists.restore('news', {}), (e) => e instanceof Courier.NotFoundError);
  assert.deepEqual((await client.lists.list()).items.map((l) => l.id), ['orders.returned', 'orders.shipped']);
});
