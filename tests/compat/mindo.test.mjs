// Mindo's WhatsApp send-bulk over raw HTTP, exactly as its page sends it
// (X-API-Key, the page's example body), against a real `crier serve` whose
// WhatsApp Cloud provider points at the real loopback sink: the 202 answer,
// the status call, what Meta would receive (template, parameters, button
// components) and the quota it consumed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startCrier } from './harness.mjs';

const NUMBER = '813497231850626';
const META_PATH = `/v19.0/${NUMBER}/messages`;

async function startWithWhatsapp() {
  const crier = await startCrier({
    config: ({ sinkUrl }) => `
[providers.wa]
type = "whatsapp_cloud"
url = "${sinkUrl}${META_PATH}"
auth_token = "wa-token"
tenants = ["*"]

[dispatch.channels]
whatsapp = "wa"
`,
  });
  const sender = await crier.fetchJson('PUT', `/v1/senders/${NUMBER}`, {
    display_phone_number: '+54 9 223 675-0780', verified_name: 'Mindo Software', quality_rating: 'GREEN',
    messaging_limit_tier: 'TIER_1K', provider: 'wa',
  });
  assert.equal(sender.status, 201, sender.text);
  const template = await crier.fetchJson('PUT', '/v1/templates/welcome_message', {
    content: {
      whatsapp: { template: 'welcome_message', language: 'en', parameters: ['{{name}}', '{{code}}'] },
      locales: { es: { whatsapp: { template: 'welcome_message', language: 'es', parameters: ['{{name}}', '{{code}}'] } } },
    },
  });
  assert.equal(template.status, 201, template.text);
  return crier;
}

const mindo = (crier, key = crier.apiKey) => ({ 'x-api-key': key, 'content-type': 'application/json' });

test('the page\'s example send is accepted, delivered to Meta\'s endpoint and counted against the tier', async (t) => {
  const crier = await startWithWhatsapp();
  t.after(() => crier.stop());
  const body = {
    phone_number_id: NUMBER,
    template_name: 'welcome_message',
    language: 'es',
    recipients: [
      { phone: '+5491112345678', variables: { name: 'Juan Perez', code: 'ABC123' }, button_variables: { button_0: 'ABC-123' } },
      { phone: '+5491187654321', variables: { name: 'Maria Garcia', code: 'XYZ789' } },
      { phone: '+54 9 11 1234-5678', variables: { name: 'Juan again', code: 'DUP' } },  // the same number
    ],
  };
  const sent = await crier.fetchJson('POST', `${crier.baseUrl}/api/v1/meta-templates/send-bulk/`, JSON.stringify(body), mindo(crier));
  assert.equal(sent.status, 202, sent.text);
  const a = sent.body;
  assert.match(a.bulk_send_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(a.status, 'queued');
  assert.equal(a.total_recipients, 3);
  assert.equal(a.unique_recipients, 2);
  assert.equal(a.whatsapp_phone_number.phone_number_id, NUMBER);
  assert.equal(a.quota_info.quota_needed, 2);
  assert.equal(a.quota_info.quota_total, 1000);
  assert.equal(a.quota_info.quota_available, 998);
  assert.ok(a.estimated_time_minutes > 0);

  const status = await crier.waitFor(async () => {
    const r = await crier.fetchJson('GET', `${crier.baseUrl}/api/v1/meta-templates/send-bulk/${a.bulk_send_id}/`, undefined, mindo(crier));
    return r.body?.status === 'COMPLETED' && r.body;
  }, 30000, { what: 'the send COMPLETED' });
  assert.equal(status.sent, 2);
  assert.equal(status.failed, 0);

  const meta = (await crier.sinkRequests()).map((r) => JSON.parse(r.body));
  assert.equal(meta.length, 2);
  const juan = meta.find((m) => m.to === '+5491112345678');
  assert.equal(juan.template.name, 'welcome_message');
  assert.equal(juan.template.language.code, 'es');
  const bodyParams = juan.template.components.find((c) => c.type === 'body').parameters.map((p) => p.text);
  assert.deepEqual(bodyParams, ['Juan Perez', 'ABC123']);  // the first of the duplicates kept
  const button = juan.template.components.find((c) => c.type === 'button');
  assert.deepEqual(button, { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'ABC-123' }] });

  const number = await crier.fetchJson('GET', `/v1/senders/${NUMBER}`);
  assert.equal(number.body.quota_used_24h, 2);
});

test('Mindo\'s error shapes, and nothing stored on a refused send', async (t) => {
  const crier = await startWithWhatsapp();
  t.after(() => crier.stop());
  const url = `${crier.baseUrl}/api/v1/meta-templates/send-bulk/`;
  const good = { phone_number_id: NUMBER, template_name: 'welcome_message', recipients: [{ phone: '+5491112345678' }] };

  const wrongKey = await crier.fetchJson('POST', url, JSON.stringify(good), mindo(crier, 'mindo_not_the_key'));
  assert.equal(wrongKey.status, 401);
  const empty = await crier.fetchJson('POST', url, JSON.stringify({ ...good, recipients: [] }), mindo(crier));
  assert.equal(empty.status, 400);
  assert.equal(typeof empty.body.error, 'string');
  const missing = await crier.fetchJson('POST', url, JSON.stringify({ template_name: 'welcome_message', recipients: good.recipients }), mindo(crier));
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.body.phone_number_id, ['This field is required.']);
  const unknownTemplate = await crier.fetchJson('POST', url, JSON.stringify({ ...good, template_name: 'nope' }), mindo(crier));
  assert.equal(unknownTemplate.status, 404);
  assert.equal(typeof unknownTemplate.body.error, 'string');
  const unknownNumber = await crier.fetchJson('POST', url, JSON.stringify({ ...good, phone_number_id: '1' }), mindo(crier));
  assert.equal(unknownNumber.status, 404);

  const jobs = await crier.fetchJson('GET', '/v1/jobs');
  assert.deepEqual(jobs.body.jobs, []);
  const number = await crier.fetchJson('GET', `/v1/senders/${NUMBER}`);
  assert.equal(number.body.quota_used_24h, 0);
});
