// Prelude's official Node client (@prelude.so/sdk, pinned in the lockfile)
// against a real `crier serve`, changed only in its base URL and token:
// notify.sendBatch answers per number at once, and the accepted numbers are
// delivered through a Twilio-shaped SMS provider pointed at the real
// loopback sink under the message ids the answer gave.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import Prelude from '@prelude.so/sdk';

import { startCrier } from './harness.mjs';

const SMS_PATH = '/2010-04-01/Accounts/AC1/Messages.json';

async function startWithSms() {
  return startCrier({
    config: ({ sinkUrl }) => `
[providers.sms]
type = "twilio_sms"
url = "${sinkUrl}${SMS_PATH}"
account_sid = "AC1"
auth_token = "tok"
from = "+15550001111"
tenants = ["*"]

[dispatch.channels]
sms = "sms"
`,
  });
}

test('a batch sent with the Prelude client is answered per number and delivered under those ids', async (t) => {
  const crier = await startWithSms();
  t.after(() => crier.stop());
  const put = await crier.fetchJson('PUT', '/v1/templates/order_ready', {
    content: { sms: { body: 'Order {{order_id}} is ready: {{amount}}' } },
  });
  assert.equal(put.status, 201, put.text);

  const client = new Prelude({ apiToken: crier.apiKey, baseURL: crier.baseUrl });
  const to = ['+33612345678', 'not-a-number', '+1 (555) 123-4567', '+33612345678'];
  const answer = await client.notify.sendBatch({
    template_id: 'order_ready',
    to,
    variables: { order_id: '12345', amount: '$49.99' },
    correlation_id: 'campaign-12345',
  });
  assert.equal(answer.total_count, 4);
  assert.equal(answer.success_count, 2);
  assert.equal(answer.error_count, 2);
  assert.equal(answer.template_id, 'order_ready');
  assert.deepEqual(answer.results.map((r) => r.phone_number), to);
  assert.deepEqual(answer.results.map((r) => r.success), [true, false, true, false]);
  assert.equal(answer.results[1].error.code, 'invalid_phone_number');
  assert.equal(answer.results[3].error.code, 'duplicate_recipient');
  const [first, , third] = answer.results;
  assert.equal(first.message.to, '+33612345678');
  assert.equal(third.message.to, '+15551234567');
  assert.equal(first.message.correlation_id, 'campaign-12345');
  const jobPart = first.message.id.split('_')[1];
  assert.match(first.message.id, /^msg_[0-9A-Z]{26}_[0-9a-f]{16}$/);
  assert.equal(third.message.id.split('_')[1], jobPart);  // one call, one job

  // The same job through the native API, run to completion.
  const jobId = `job_${jobPart}`;
  await crier.waitFor(async () => (await crier.fetchJson('GET', `/v1/jobs/${jobId}`)).body?.status === 'COMPLETED',
                      30000, { what: `job ${jobId} COMPLETED` });
  const delivered = await crier.sinkRequests();
  assert.equal(delivered.length, 2);
  const byId = Object.fromEntries(delivered.map((r) => [r.message_id, new URLSearchParams(r.body)]));
  assert.equal(byId[first.message.id].get('To'), '+33612345678');
  assert.equal(byId[first.message.id].get('Body'), 'Order 12345 is ready: $49.99');
  assert.equal(byId[third.message.id].get('To'), '+15551234567');
});

test('errors raise the Prelude client\'s own error classes and store nothing', async (t) => {
  const crier = await startWithSms();
  t.after(() => crier.stop());
  const client = new Prelude({ apiToken: crier.apiKey, baseURL: crier.baseUrl, maxRetries: 0 });
  const wrong = new Prelude({ apiToken: 'not-the-key', baseURL: crier.baseUrl, maxRetries: 0 });

  await assert.rejects(wrong.notify.sendBatch({ template_id: 't', to: ['+33612345678'] }),
                       (e) => e instanceof Prelude.AuthenticationError && e.status === 401);
  await assert.rejects(client.notify.sendBatch({ template_id: 'no-such-template', to: ['+33612345678'] }),
                       (e) => e instanceof Prelude.BadRequestError && e.error?.code === 'template_not_found');
  await assert.rejects(client.notify.sendBatch({ to: ['+33612345678'] }),
                       (e) => e instanceof Prelude.BadRequestError && typeof e.error?.message === 'string');
  const jobs = await crier.fetchJson('GET', '/v1/jobs');
  assert.deepEqual(jobs.body.jobs, []);
});
