// Braze's Node client (braze-api, pinned in the lockfile) against a real
// `crier serve`, changed only in its REST endpoint and key: the audience
// loaded with users.track, sends with messages.send by external id and by
// alias (email to the log provider, a webhook to the real loopback sink),
// the recipients' standings honoured (SKIPPED unsubscribed / not_opted_in),
// and Braze's refusals as the client's ResponseError.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { Braze } from 'braze-api';

import { startCrier } from './harness.mjs';

// The log provider's lines for one job (email goes there by default).
function logged(crier, jobId) {
  let text = '';
  try { text = readFileSync(path.join(crier.dataDir, 'delivery.log'), 'utf8'); } catch { /* none yet */ }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.job_id === jobId);
}

async function finished(crier, jobId) {
  let job;
  await crier.waitFor(async () => {
    job = (await crier.fetchJson('GET', `/v1/jobs/${jobId}`)).body;
    return ['COMPLETED', 'PARTIAL', 'FAILED'].includes(job.status);
  }, 30000, { what: `job ${jobId} to finish` });
  return job;
}

// user_id -> [status, error code] from the native listing.
async function outcomes(crier, jobId) {
  const r = await crier.fetchJson('GET', `/v1/jobs/${jobId}/users?limit=100`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.users.map((u) => [u.user_id, [u.status, u.error?.code ?? null]]));
}

async function loadAudience(braze) {
  const tracked = await braze.users.track({
    attributes: [
      { external_id: 'ann', email: 'ann@example.com', first_name: 'Ann', plan: 'pro',
        user_alias: undefined },
      { external_id: 'bob', email: 'bob@example.com', first_name: 'Bob', email_subscribe: 'unsubscribed' },
      { external_id: 'cid', email: 'cid@example.com', first_name: 'Cid', email_subscribe: 'opted_in' },
      { email: 'no-id@example.com' },  // Crier keeps profiles by external_id
    ],
    events: [{ external_id: 'ann', name: 'signed_up', time: '2026-12-01T09:00:00Z' }],
  });
  return tracked;
}

test('users.track stores the audience and messages.send sends to it by external id, honouring unsubscribes', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);

  const tracked = await loadAudience(braze);
  assert.equal(tracked.message, 'success');
  assert.equal(tracked.attributes_processed, 3);
  assert.deepEqual(tracked.errors.map((e) => [e.input_array, e.index, e.code]),
                   [['attributes', 3, 'missing_external_id'], ['events', 0, 'unsupported']]);
  const ann = await crier.fetchJson('GET', '/v1/profiles/ann');
  assert.equal(ann.status, 200, ann.text);
  assert.deepEqual(ann.body.attributes, { first_name: 'Ann', plan: 'pro' });
  const bob = await crier.fetchJson('GET', '/v1/profiles/bob');
  assert.equal(bob.body.subscriptions.email, 'unsubscribed');

  // A later track merges: Ann's plan changes, her name stays.
  await braze.users.track({ attributes: [{ external_id: 'ann', plan: 'team' }] });

  const sent = await braze.messages.send({
    external_user_ids: ['ann', 'bob', 'cid', 'ghost'],
    campaign_id: 'welcome-campaign',
    messages: { email: { subject: 'Hi {{${first_name}}}', body: '<p>Your plan: {{custom_attribute.${plan}}}</p>',
                         plaintext_body: 'Your plan: {{custom_attribute.${plan}}}' } },
  });
  assert.equal(sent.message, 'success');
  assert.match(sent.dispatch_id, /^job_/);
  const job = await finished(crier, sent.dispatch_id);
  assert.equal(job.sent, 2, JSON.stringify(job));
  assert.equal(job.skipped, 1);
  assert.equal(job.failed, 1);
  assert.equal(job.metadata.braze.campaign_id, 'welcome-campaign');

  const lines = logged(crier, sent.dispatch_id);
  const byAddress = Object.fromEntries(lines.map((l) => [l.to, l]));
  assert.deepEqual(Object.keys(byAddress).sort(), ['ann@example.com', 'cid@example.com']);
  assert.equal(byAddress['ann@example.com'].subject, 'Hi Ann');
  assert.equal(byAddress['ann@example.com'].text, 'Your plan: team');
  assert.equal(byAddress['cid@example.com'].subject, 'Hi Cid');

  const got = await outcomes(crier, sent.dispatch_id);
  assert.deepEqual(got.bob, ['SKIPPED', 'unsubscribed']);
  assert.deepEqual(got.ghost, ['FAILED', 'missing_address']);
});

test('recipient_subscription_state opted_in reaches opted-in users only; all reaches the unsubscribed too', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);
  await loadAudience(braze);
  const message = { email: { subject: 'Receipt for {{${first_name}}}', plaintext_body: 'Thank you' } };

  const opted = await braze.messages.send({ external_user_ids: ['ann', 'bob', 'cid'], recipient_subscription_state: 'opted_in', messages: message });
  await finished(crier, opted.dispatch_id);
  assert.deepEqual(logged(crier, opted.dispatch_id).map((l) => l.to), ['cid@example.com']);
  const got = await outcomes(crier, opted.dispatch_id);
  assert.deepEqual(got.ann, ['SKIPPED', 'not_opted_in']);

  const all = await braze.messages.send({ external_user_ids: ['ann', 'bob', 'cid'], recipient_subscription_state: 'all', messages: message });
  await finished(crier, all.dispatch_id);
  assert.deepEqual(logged(crier, all.dispatch_id).map((l) => l.to).sort(),
                   ['ann@example.com', 'bob@example.com', 'cid@example.com']);
});

test('an audience filter or a segment with broadcast reaches every matching profile', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);
  await loadAudience(braze);
  await braze.users.track({ attributes: [{ external_id: 'dan', email: 'dan@example.com', first_name: 'Dan', plan: 'pro',
                                           favorite_foods: ['pizza', 'soup'] }] });
  await braze.users.track({ attributes: [{ external_id: 'ann', favorite_foods: ['pizza'] }] });
  const audience = {
    AND: [
      { custom_attribute: { custom_attribute_name: 'plan', comparison: 'equals', value: 'pro' } },
      { custom_attribute: { custom_attribute_name: 'favorite_foods', comparison: 'includes_value', value: 'pizza' } },
      { email_subscription_status: { comparison: 'is_not', value: 'unsubscribed' } },
    ],
  };
  const sent = await braze.messages.send({ broadcast: true, audience, messages: { email: { subject: 'Pizza for {{${first_name}}}', plaintext_body: 'x' } } });
  const job = await finished(crier, sent.dispatch_id);
  assert.equal(job.received, 2, JSON.stringify(job));
  assert.deepEqual(logged(crier, sent.dispatch_id).map((l) => l.subject).sort(), ['Pizza for Ann', 'Pizza for Dan']);

  // A stored segment of the same filter, sent to by segment_id.
  const segment = await crier.fetchJson('PUT', '/v1/segments/pizza-pros', { filter: audience });
  assert.equal(segment.status, 201, segment.text);
  const bySegment = await braze.messages.send({ broadcast: true, segment_id: 'pizza-pros', messages: { email: { subject: 'Hi {{${first_name}}}', plaintext_body: 'x' } } });
  await finished(crier, bySegment.dispatch_id);
  assert.deepEqual(logged(crier, bySegment.dispatch_id).map((l) => l.subject).sort(), ['Hi Ann', 'Hi Dan']);

  // Without broadcast, Braze refuses to send to a whole audience.
  await assert.rejects(braze.messages.send({ audience, messages: { email: { subject: 's', plaintext_body: 'x' } } }),
                       (e) => e.status === 400 && e.errors[0].code === 'invalid_broadcast');

  // list_membership asks about the tenant's native lists: subscribed members of 'vip' who are not pro.
  assert.equal((await crier.fetchJson('PUT', '/v1/lists/vip', {})).status, 201);
  const members = await crier.fetchJson('POST', '/v1/lists/vip/members', { user_ids: ['bob', 'cid', 'dan'] });
  assert.equal(members.body.added, 3, members.text);
  const vip = {
    AND: [
      { list_membership: { list_id: 'vip', comparison: 'is' } },
      { custom_attribute: { custom_attribute_name: 'plan', comparison: 'not_equal', value: 'pro' } },
    ],
  };
  const byList = await braze.messages.send({ broadcast: true, audience: vip, messages: { email: { subject: 'VIP {{${first_name}}}', plaintext_body: 'x' } } });
  const listJob = await finished(crier, byList.dispatch_id);
  assert.equal(listJob.received, 2, JSON.stringify(listJob));  // bob (unsubscribed: skipped) and cid
  assert.deepEqual(logged(crier, byList.dispatch_id).map((l) => l.subject), ['VIP Cid']);
  assert.deepEqual(await outcomes(crier, byList.dispatch_id), { bob: ['SKIPPED', 'unsubscribed'], cid: ['SENT', null] });
  await assert.rejects(
    braze.messages.send({ broadcast: true, audience: { list_membership: { list_id: 'nope', comparison: 'is' } },
                          messages: { email: { subject: 's', plaintext_body: 'x' } } }),
    (e) => e.status === 422 && e.errors[0].code === 'unknown_list');
});

test('a frequency-capped user is skipped with its code unless the send overrides capping', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);
  await loadAudience(braze);
  const caps = await crier.fetchJson('PUT', '/v1/frequency-caps', { rules: [{ channel: 'email', max: 1, window_seconds: 86400 }] });
  assert.equal(caps.status, 200, caps.text);
  const message = { email: { subject: 'News for {{${first_name}}}', plaintext_body: 'x' } };

  const first = await braze.messages.send({ external_user_ids: ['ann'], messages: message });
  assert.equal((await finished(crier, first.dispatch_id)).sent, 1);
  const second = await braze.messages.send({ external_user_ids: ['ann', 'cid'], messages: message });
  await finished(crier, second.dispatch_id);
  const got = await outcomes(crier, second.dispatch_id);
  assert.deepEqual(got.ann, ['SKIPPED', 'frequency_capped']);
  assert.equal(got.cid[0], 'SENT');
  const third = await braze.messages.send({ external_user_ids: ['ann'], override_frequency_capping: true, messages: message });
  assert.equal((await finished(crier, third.dispatch_id)).sent, 1);
});

test('a webhook message goes to users named by alias, rendered with their attributes, to the real sink', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);
  await loadAudience(braze);
  // An alias on Cid's profile, through the native API (track takes external ids).
  const patched = await crier.fetchJson('PATCH', '/v1/profiles/cid', { aliases: [{ alias_name: 'crm-7', alias_label: 'crm' }] });
  assert.equal(patched.status, 200, patched.text);

  const sent = await braze.messages.send({
    user_aliases: [{ alias_name: 'crm-7', alias_label: 'crm' }, { alias_name: 'nobody', alias_label: 'crm' }],
    messages: { webhook: { url: `${crier.sinkUrl}/braze-hook`, request_method: 'POST',
                           body: '{"greeting":"Hello {{${first_name}}}"}' } },
  });
  const job = await finished(crier, sent.dispatch_id);
  assert.equal(job.received, 1, 'the alias no profile holds is left out');
  assert.equal(job.sent + job.delivered, 1, JSON.stringify(job));
  const requests = (await crier.sinkRequests()).filter((r) => r.target === '/braze-hook');
  assert.equal(requests.length, 1);
  const delivered = typeof requests[0].body === 'string' ? JSON.parse(requests[0].body) : requests[0].body;
  assert.equal(JSON.stringify(delivered).includes('Hello Cid'), true, JSON.stringify(delivered));
});

test('Braze\'s refusals reach the client as ResponseError with Braze\'s status and message', async (t) => {
  const crier = await startCrier();
  t.after(() => crier.stop());
  const braze = new Braze(crier.baseUrl, crier.apiKey);
  const email = { email: { subject: 's', body: '<p>b</p>' } };
  const refused = async (body, status, code) => {
    await assert.rejects(braze.messages.send(body), (e) => {
      assert.equal(e.status, status, e.message);
      assert.equal(typeof e.message, 'string');
      assert.equal(e.errors[0].code, code, JSON.stringify(e.errors));
      assert.match(e.errors[0].request_id, /^req_/);
      return true;
    });
  };
  await refused({ broadcast: true, external_user_ids: ['ann'], messages: email }, 400, 'invalid_broadcast');
  await refused({ messages: email }, 400, 'missing_recipients');
  await refused({ segment_id: 'no-such-segment', broadcast: true, messages: email }, 422, 'unknown_segment');
  await refused({ segment_id: 'seg', audience: { custom_attribute: { custom_attribute_name: 'a', comparison: 'exists' } },
                  broadcast: true, messages: email }, 400, 'unsupported');
  await refused({ external_user_ids: ['ann'], messages: { ...email, sms: { body: 'b' } } }, 400, 'unsupported');
  await refused({ external_user_ids: ['ann'], messages: { email: {} } }, 400, 'missing_field');
  await refused({ external_user_ids: Array.from({ length: 51 }, (_, i) => `u${i}`), messages: email }, 400, 'too_many_users');
  await refused({ external_user_ids: ['ann'], recipient_subscription_state: 'maybe', messages: email }, 400,
                'invalid_subscription_state');

  const wrongKey = new Braze(crier.baseUrl, 'not-a-key');
  await assert.rejects(wrongKey.users.track({ attributes: [] }), (e) => {
    assert.equal(e.status, 401);
    assert.equal(e.message, 'Invalid API key');
    return true;
  });
  // Nothing was stored by the refused requests.
  const jobs = await crier.fetchJson('GET', '/v1/jobs');
  assert.equal(jobs.body.jobs.length, 0);

  // A tenant that keeps no profiles: the named user cannot be resolved, and
  // the answer says so instead of a silent success.
  const unresolved = await braze.messages.send({ external_user_ids: ['x'], messages: email });
  assert.deepEqual(unresolved.errors.map((e) => e.code), ['missing_address']);

  // A Liquid tag with a very long name is text like any other: the server
  // keeps serving (a regex matcher would recurse once per character).
  const long = '{{${' + 'a'.repeat(2_000_000) + '}}}';
  const r = await crier.fetchJson('POST', '/messages/send', { external_user_ids: ['x'], messages: { email: { subject: 's', plaintext_body: long } } });
  assert.ok([201, 400, 413, 422].includes(r.status), r.text.slice(0, 300));
  assert.equal((await crier.fetchJson('GET', '/v1/jobs')).status, 200);

  const id = await braze.sends.id.create({ campaign_id: 'c1' });
  assert.equal(id.message, 'success');
  assert.match(id.send_id, /^send_/);
});
