// Proves a client written from docs/openapi.yaml alone gets what the document promises: every route varelayd serves is driven once with good input and once with bad, and every answer (status, media type, body) validates against the document's response schema for that route and status (tests/openapi/contract.mjs); the disagreements issue 14 found are gone (key format, codes, statuses, payer_name, range amounts).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ADMIN_KEY, REPO_ROOT, api, binaryPath, killAll, makeTempDir, nowRfc3339, removeDir, seedDemo, startRelay } from './relay.mjs';
import { closeAllReceivers, startReceiver } from './receiver.mjs';
import { assertResponseMatches } from '../openapi/contract.mjs';

after(async () => {
  await killAll();
  await closeAllReceivers();
});

const ALLOW_LOCAL = ['--webhook-allow-http', '127.0.0.1', '--webhook-allow-network', '127.0.0.0/8',
  '--webhook-allowed-ports', '1024-65535'];
const SHARED = path.join(REPO_ROOT, '..', 'shared', 'testdata', 'iso20022');
const TESTDATA = path.join(REPO_ROOT, 'src', 'banks', 'iso20022', 'testdata');
const idem = () => ({ 'Idempotency-Key': randomUUID() });

// A client whose every answer is checked against the document; `seen` collects "METHOD template".
function checked(url, key, seen) {
  const raw = api(url, key);
  const call = async (method, urlPath, opts = {}) => {
    const res = await raw.request(method, urlPath, opts);
    assertResponseMatches(method, urlPath, res);
    seen.add(`${method} ${urlPath.split('?')[0]}`);
    return res;
  };
  return {
    get: (p, o) => call('GET', p, o),
    post: (p, body, o = {}) => call('POST', p, { ...o, body }),
    patch: (p, body, o = {}) => call('PATCH', p, { ...o, body }),
    put: (p, body, o = {}) => call('PUT', p, { ...o, body }),
    del: (p, o) => call('DELETE', p, o),
    xml: (p, xml) => call('POST', p, { raw: xml, headers: { 'Content-Type': 'application/xml' } }),
  };
}

function expect(res, status, code) {
  assert.equal(res.status, status, `answered ${res.status}, expected ${status}: ${res.text}`);
  if (code) assert.equal(res.body?.code, code, res.text);
  return res.body;
}

test('every route answers good and bad input as docs/openapi.yaml says', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const relay = await startRelay({ dataDir, args: ALLOW_LOCAL });
  const seed = await seedDemo(relay, { perPool: 3, rivalPerPool: 1 });
  const seen = new Set();
  const admin = checked(relay.url, ADMIN_KEY, seen);
  const shop = checked(relay.url, seed.keys.shop, seen);
  const bank = checked(relay.url, seed.keys.bank004, seen);
  const nobody = checked(relay.url, null, seen);
  // Bank 004 speaks JSON; the camt routes below need ISO 20022 allowed as its second channel.
  const allowed = await api(relay.url, ADMIN_KEY).patch('/v1/banks/004', { extra_channels: ['iso20022'] });
  assert.equal(allowed.status, 200, allowed.text);

  // Health and metrics.
  expect(await nobody.get('/healthz'), 200);
  const metrics = await admin.get('/metrics');
  assert.equal(metrics.status, 200, metrics.text);

  // Banks.
  expect(await admin.post('/v1/banks', { code: '020', name: 'Woori Bank' }), 201);
  expect(await admin.post('/v1/banks', { code: '020', name: 'Woori Bank' }), 409, 'bank_exists');
  expect(await admin.post('/v1/banks', { code: '20', name: 'Woori' }), 400, 'invalid_field');
  expect(await admin.get('/v1/banks'), 200);
  expect(await admin.get('/v1/banks?colour=blue'), 400, 'unknown_field');
  expect(await admin.patch('/v1/banks/020', { name: 'Woori Bank Korea' }), 200);
  expect(await admin.patch('/v1/banks/999', { name: 'Nobody' }), 404, 'not_found');
  expect(await admin.post('/v1/banks/020/signing-secret', undefined), 201);
  expect(await shop.post('/v1/banks/020/signing-secret', undefined), 403, 'forbidden');

  // Merchants and contracts.
  expect(await admin.post('/v1/merchants', { id: 'third', name: 'Third Shop' }), 201);
  expect(await admin.post('/v1/merchants', { id: 'third', name: 'Third Shop' }), 409, 'merchant_exists');
  expect(await admin.get('/v1/merchants'), 200);
  expect(await admin.get('/v1/merchants/third'), 200);
  expect(await admin.get('/v1/merchants/nobody'), 404, 'not_found');
  expect(await admin.patch('/v1/merchants/third', { active: true }), 200);
  expect(await admin.patch('/v1/merchants/third', { active: 'yes' }), 400, 'invalid_field');
  const categorised = expect(await admin.patch('/v1/merchants/third', { category: 'books', division_direct: true }), 200);
  assert.deepEqual([categorised.category, categorised.division_direct], ['books', true]);
  expect(await admin.patch('/v1/merchants/third', { category: 'wine' }), 400, 'invalid_field');
  expect(await admin.post('/v1/merchants/third/contracts', { bank: '020', mother_account: '02030000000001', holder_name: 'Third Shop Co.' }), 201);
  expect(await admin.post('/v1/merchants/third/contracts', { bank: '777', mother_account: '02030000000001', holder_name: 'X' }), 422, 'unknown_bank');
  expect(await admin.get('/v1/merchants/third/contracts'), 200);
  expect(await nobody.get('/v1/merchants/third/contracts'), 401, 'unauthorized');

  // API keys: vrk_<key id>_<secret>, so a leaked key names the id to revoke.
  const key = expect(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'third', label: 'third' }), 201);
  assert.match(key.key, /^vrk_[0-9a-z]{16}_[a-z2-7]{40}$/);
  assert.equal(`key_${key.key.slice(4, 20)}`, key.id, 'the token names its key id');
  expect(await checked(relay.url, key.key, seen).get('/v1/pools'), 200);
  expect(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'nobody', label: 'x' }), 422, 'unknown_merchant');
  expect(await admin.get('/v1/api-keys'), 200);
  expect(await admin.del(`/v1/api-keys/${key.id}`), 200);
  expect(await checked(relay.url, key.key, seen).get('/v1/pools'), 401, 'unauthorized');
  expect(await admin.del('/v1/api-keys/key_aaaaaaaaaaaaaaaa'), 404, 'not_found');

  // Pools.
  expect(await admin.post('/v1/pools/third/020/seoul/numbers', { numbers: ['90203000000001', '90203000000002'] }), 200);
  expect(await admin.post('/v1/pools/nobody/020/seoul/numbers', { numbers: ['90203000000003'] }), 422, 'unknown_merchant');
  expect(await admin.get('/v1/pools'), 200);
  expect(await admin.get('/v1/pools?limit=0'), 400);

  // Assignments and orders.
  const customer = { name: 'Kim Minji', phone: '+82 10-1234-5678', email: 'minji@example.org' };
  const a = expect(await shop.post('/v1/assignments', { order_id: 'contract-1', amount: 39000, bank: '004', customer }, { headers: idem() }), 201);
  expect(await shop.post('/v1/assignments', { order_id: 'contract-x', amount: 0, bank: '004' }, { headers: idem() }), 400, 'invalid_amount');
  expect(await shop.post('/v1/assignments', { order_id: 'contract-r', amount: 50000, bank: '004', amount_rule: { type: 'range', min: 10000, max: 20000 } },
    { headers: idem() }), 400, 'invalid_field');
  const ranged = expect(await shop.post('/v1/assignments', { order_id: 'contract-r2', amount: 15000, bank: '004', amount_rule: { type: 'range', min: 10000, max: 20000 } },
    { headers: idem() }), 201);
  expect(await shop.get(`/v1/assignments/${a.id}`), 200);
  expect(await shop.get('/v1/assignments/asg_aaaaaaaaaaaaaaaaaaaa'), 404, 'not_found');
  expect(await shop.get('/v1/orders/contract-1'), 200);
  expect(await shop.get('/v1/orders/no-such-order'), 404, 'not_found');
  expect(await shop.post(`/v1/assignments/${ranged.id}/cancel`, {}, { headers: idem() }), 200);
  expect(await shop.post(`/v1/assignments/${ranged.id}/cancel`, {}, { headers: idem() }), 409, 'assignment_not_cancellable');

  // The bank's JSON routes.
  expect(await bank.post('/v1/bank/precheck', { number: a.number, amount: 39000, payer_name: 'Kim Minji' }), 200);
  expect(await bank.post('/v1/bank/precheck', { number: a.number, amount: 39000, payer_name: 'x'.repeat(101) }), 400, 'invalid_field');
  const deposit = { transaction_id: 'contract-tx-1', number: a.number, amount: 39000, currency: 'KRW', payer_name: '', deposited_at: nowRfc3339() };
  expect(await bank.post('/v1/bank/deposits', deposit), 200);  // a blank payer name: "0 to 100 characters"
  const long = await bank.post('/v1/bank/deposits', { ...deposit, transaction_id: 'contract-tx-2', payer_name: 'x'.repeat(101) });
  expect(long, 400, 'invalid_field');
  assert.match(long.body.errors[0].reason, /0 to 100/);
  expect(await bank.post('/v1/bank/cancellations', { transaction_id: 'contract-c-1', original_transaction_id: 'contract-tx-1', cancelled_at: nowRfc3339() }), 200);
  expect(await bank.post('/v1/bank/cancellations', { transaction_id: 'contract-c-2', original_transaction_id: 'no-such-tx', cancelled_at: nowRfc3339() }), 404, 'not_found');
  expect(await bank.xml('/v1/bank/camt054', readFileSync(path.join(TESTDATA, 'krw_deposit.camt054.xml'), 'utf8')), 200);
  expect(await bank.xml('/v1/bank/camt054', '<Document><unclosed>'), 400, 'malformed_xml');
  const swiss = readFileSync(path.join(SHARED, 'camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml'), 'utf8');
  expect(await bank.xml('/v1/bank/camt053', swiss), 200);
  expect(await bank.xml('/v1/bank/camt053', '<Document'), 400, 'malformed_xml');
  expect(await bank.get('/v1/statements'), 200);
  expect(await shop.get('/v1/statements'), 403, 'forbidden');

  // Deposits and the ledger.
  expect(await shop.get('/v1/deposits'), 200);
  expect(await shop.get('/v1/deposits?limit=abc'), 400, 'invalid_field');
  expect(await admin.get('/v1/ledger'), 200);
  expect(await admin.get('/v1/ledger?after=-1'), 400);
  expect(await admin.get('/v1/ledger/verify'), 200);
  expect(await shop.get('/v1/ledger/verify'), 403, 'forbidden');

  // Pay-outs and holder inquiries: bank 004 takes JSON, not telegrams, so both are refused here
  // (transfers.test.mjs drives them against a telegram bank).
  const transfer = await shop.post('/v1/transfers', { bank: '004', amount: 30000, currency: 'KRW', recipient: { bank_code: '088', account: '88001234567', name: 'Kim Minji' } }, { headers: idem() });
  assert.ok(transfer.status >= 400, transfer.text);
  expect(await shop.post('/v1/transfers', { bank: '004', amount: -1 }, { headers: idem() }), 400);
  expect(await shop.get('/v1/transfers'), 200);
  expect(await shop.get('/v1/transfers/trf_aaaaaaaaaaaaaaaaaaaa'), 404, 'not_found');
  const inquiry = await shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: '11112222333' });
  assert.ok(inquiry.status >= 400, inquiry.text);
  expect(await shop.post('/v1/account-holder-inquiries', { bank_code: '004' }), 400, 'missing_field');
  expect(await admin.get('/v1/account-holder-inquiries'), 200);
  expect(await admin.put('/v1/merchants/shop/payout-limits', { per_transfer_max: 300000, daily_max: 2000000 }), 200);
  expect(await admin.put('/v1/merchants/shop/payout-limits', { per_transfer_max: 3000000, daily_max: 2000000 }), 400);
  expect(await admin.get('/v1/merchants/shop/payout-limits'), 200);
  expect(await shop.get('/v1/merchants/shop/payout-limits'), 200);

  // Webhook endpoints and events.
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const endpoint = expect(await shop.post('/v1/webhook-endpoints', { url: receiver.url }, { headers: idem() }), 201);
  receiver.setSecret(endpoint.secret);
  expect(await shop.post('/v1/webhook-endpoints', { url: 'https://10.0.0.1/hooks' }, { headers: idem() }), 422, 'webhook_url_refused');
  expect(await shop.get('/v1/webhook-endpoints'), 200);
  expect(await shop.get(`/v1/webhook-endpoints/${endpoint.id}`), 200);
  expect(await shop.get('/v1/webhook-endpoints/whe_aaaaaaaaaaaaaaaaaaaa'), 404, 'not_found');
  expect(await shop.patch(`/v1/webhook-endpoints/${endpoint.id}`, { include_personal_data: false }), 200);
  expect(await shop.patch(`/v1/webhook-endpoints/${endpoint.id}`, {}), 400, 'missing_field');
  expect(await shop.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}, { headers: idem() }), 200);
  expect(await shop.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { expire_previous_in_s: -1 }, { headers: idem() }), 400);
  const events = expect(await shop.get('/v1/events'), 200);
  assert.ok(events.items.length > 0);
  expect(await shop.get('/v1/events?colour=blue'), 400, 'unknown_field');
  const eventId = events.items[0].id;
  expect(await shop.get(`/v1/events/${eventId}`), 200);
  expect(await shop.get('/v1/events/evt_aaaaaaaaaaaaaaaaaaaa'), 404, 'not_found');
  expect(await shop.post(`/v1/events/${eventId}/resend`, { endpoint_id: endpoint.id }, { headers: idem() }), 200);
  expect(await shop.del(`/v1/webhook-endpoints/${endpoint.id}`), 200);
  expect(await shop.del(`/v1/webhook-endpoints/${endpoint.id}`), 404, 'not_found');
  expect(await shop.post(`/v1/events/${eventId}/resend`, { endpoint_id: endpoint.id }, { headers: idem() }), 409, 'no_endpoint');

  // Division accounts (good input end to end in division_accounts.test.mjs, which has a bank that
  // answers holder inquiries): a payment, its page and authorisation, and every master route.
  const payment = expect(await shop.post('/v1/division-payments', { order_id: 'DIV-1', amount: 5000, return_url: 'https://shop.example/r' }, { headers: idem() }), 201);
  expect(await shop.post('/v1/division-payments', { order_id: 'DIV-2', amount: 5000, return_url: 'http://shop.example/r' }, { headers: idem() }), 400, 'invalid_field');
  expect(await shop.get(`/v1/division-payments/${payment.id}`), 200);
  const pageAuth = { Authorization: `Page ${/#t=(.+)$/.exec(payment.payment_page_url)[1]}` };
  expect(await nobody.get(`/v1/division-payments/${payment.id}/page`, { headers: pageAuth }), 200);
  expect(await nobody.post(`/v1/division-payments/${payment.id}/authorize`, { number: '12' }, { headers: pageAuth }), 400, 'invalid_field');
  const declined = expect(await nobody.post(`/v1/division-payments/${payment.id}/authorize`, { number: '9400000000000001', password: '480213' }, { headers: pageAuth }), 200);
  assert.deepEqual([declined.status, declined.decline_reason], ['declined', 'account_not_found']);
  expect(await shop.post(`/v1/division-payments/${payment.id}/refunds`, { amount: 1000 }, { headers: idem() }), 409, 'payment_not_refundable');
  expect(await nobody.post('/v1/masters', { bank_code: '004' }), 400, 'missing_field');
  expect(await nobody.post('/v1/master/sessions', { login: 'nobody@example.com', password: 'blue heron 42' }), 401, 'invalid_credentials');
  const stranger = checked(relay.url, 'vms_nobody', seen);
  const account = '/v1/master/division-accounts/dva_aaaaaaaaaaaaaaaaaaaa';
  for (const [method, p, body] of [['del', '/v1/master/sessions/current'], ['get', '/v1/master'], ['put', '/v1/master/endpoint', { url: null }],
    ['post', '/v1/master/tokens', {}], ['get', '/v1/master/division-accounts'], ['post', '/v1/master/division-accounts', { dependant: { name: 'J' }, password: '480213' }],
    ['get', account], ['patch', account, { label: 'J' }], ['post', `${account}/freeze`], ['post', `${account}/unfreeze`], ['post', `${account}/unlock`],
    ['post', `${account}/password`, { password: '480213' }], ['post', `${account}/close`], ['get', `${account}/statement`], ['get', '/v1/master/statement'],
    ['get', '/v1/master/approvals'], ['post', '/v1/master/approvals/apr_aaaaaaaaaaaaaaaaaaaa/approve'], ['post', '/v1/master/approvals/apr_aaaaaaaaaaaaaaaaaaaa/decline']]) {
    expect(await (method === 'get' || method === 'del' ? stranger[method](p) : stranger[method](p, body)), 401, 'unauthorized');
  }

  // Every route was driven.
  const routes = execFileSync(binaryPath(), ['--print-routes'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const driven = new Set([...seen].map((r) => {
    const [method, p] = r.split(' ');
    const template = routes.map((x) => x.split(' ')).find(([m, tp]) => m === method &&
      new RegExp(`^${tp.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(p));
    return template ? template.join(' ') : r;
  }));
  assert.deepEqual(routes.filter((r) => !driven.has(r)), [], 'routes this test did not drive');
  await relay.stop();
});
