// Proves pay-outs are bounded: a checkout (merchant) key cannot create transfers and a
// merchant_payouts key cannot do checkout; an admin sets a merchant's per-transfer and daily limits
// and recipient allow-list (PUT /v1/merchants/{id}/payout-limits), a transfer over a limit or to a
// recipient off the list is refused with a clear code and changes nothing, and the defaults bind a
// merchant nobody set limits for.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay } from './relay.mjs';

after(killAll);

async function setup(t) {
  const dataDir = makeTempDir();
  // Nothing answers at the bank's endpoint: transfers stay pending, which is all these tests need.
  const relay = await startRelay({ dataDir, args: ['--bank-timeout-ms', '200'] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram', endpoint: '127.0.0.1:9' }), 201);
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201);
  expectStatus(await admin.post('/v1/merchants/shop/contracts', { bank: '004', mother_account: '004100000000001', holder_name: 'Example Shop Co.' }), 201);
  const key = async (role) => expectStatus(await admin.post('/v1/api-keys', { role, merchant: 'shop', label: role }), 201).key;
  return { relay, admin, checkout: api(relay.url, await key('merchant')), payouts: api(relay.url, await key('merchant_payouts')) };
}

const body = (amount, account = '88001234567') => ({ bank: '004', amount, recipient: { bank_code: '088', account, name: 'Kim Minji' } });
const transfer = (client, amount, account) => client.post('/v1/transfers', body(amount, account), { headers: { 'Idempotency-Key': randomUUID() } });

test('a checkout key cannot create transfers, a pay-out key cannot do checkout', async (t) => {
  const c = await setup(t);
  assertProblem(await transfer(c.checkout, 1000), 403, 'forbidden');
  assertProblem(await c.payouts.post('/v1/assignments', { order_id: 'P-1', amount: 1000, bank: '004' },
    { headers: { 'Idempotency-Key': randomUUID() } }), 403, 'forbidden');
  assertProblem(await c.payouts.get('/v1/deposits'), 403, 'forbidden');
  expectStatus(await transfer(c.payouts, 1000), 202);
  assert.equal(expectStatus(await c.admin.get('/v1/transfers'), 200).items.length, 1);
});

test('limits and the allow-list refuse with clear codes and change nothing; the defaults bind', async (t) => {
  const c = await setup(t);
  const defaults = expectStatus(await c.payouts.get('/v1/merchants/shop/payout-limits'), 200);
  assert.deepEqual([defaults.per_transfer_max, defaults.daily_max, defaults.recipients, defaults.updated_at],
    [5_000_000, 20_000_000, [], null]);
  assertProblem(await transfer(c.payouts, 5_000_001), 422, 'payout_limit_exceeded');

  assertProblem(await c.checkout.request('PUT', '/v1/merchants/shop/payout-limits', { body: { daily_max: 90_000_000 } }), 403, 'forbidden');
  assertProblem(await c.admin.request('PUT', '/v1/merchants/shop/payout-limits', { body: { per_transfer_max: 10, daily_max: 5 } }),
    400, 'invalid_field');
  const set = expectStatus(await c.admin.request('PUT', '/v1/merchants/shop/payout-limits', {
    body: { per_transfer_max: 30_000, daily_max: 50_000, recipients: [{ bank_code: '088', account: '88001234567' }] },
  }), 200);
  assert.deepEqual(set.recipients, [{ bank_code: '088', account: '88001234567' }]);

  const over = await transfer(c.payouts, 30_001);
  assertProblem(over, 422, 'payout_limit_exceeded');
  assert.match(over.body.detail, /30000 won/);
  assertProblem(await transfer(c.payouts, 100, '77001234567'), 422, 'recipient_not_allowed');
  expectStatus(await transfer(c.payouts, 30_000), 202);
  const daily = await transfer(c.payouts, 20_001);
  assertProblem(daily, 422, 'payout_limit_exceeded');
  assert.match(daily.body.detail, /daily limit of 50000 won/);
  expectStatus(await transfer(c.payouts, 20_000), 202);

  const transfers = expectStatus(await c.admin.get('/v1/transfers'), 200).items;
  assert.deepEqual(transfers.map((x) => x.amount).sort(), [20_000, 30_000], 'only the transfers within the limits exist');
  const now = expectStatus(await c.admin.get('/v1/merchants/shop/payout-limits'), 200);
  assert.equal(now.used_today, 50_000);
});
