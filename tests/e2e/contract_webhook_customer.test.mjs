// Proves a deposit notice tells the merchant who paid: deposit.* (and assignment.*) events carry the customer given at issuance (name, phone, e-mail) in data.customer, verified with standardwebhooks at a real receiver; an endpoint created or patched with include_personal_data false receives the same events without it; the option survives a SIGKILL (command log) and a clean restart (tables).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, removeDir, seedDemo, startRelay } from './relay.mjs';
import { assertVerified, closeAllReceivers, startReceiver } from './receiver.mjs';
import { assertResponseMatches, assertWebhookMatches } from '../openapi/contract.mjs';

after(async () => {
  await killAll();
  await closeAllReceivers();
});

const ALLOW_LOCAL = ['--webhook-allow-http', '127.0.0.1', '--webhook-allow-network', '127.0.0.0/8',
  '--webhook-allowed-ports', '1024-65535'];
const CUSTOMER = { name: 'Kim Minji', phone: '+82 10-1234-5678', email: 'minji@example.org' };
const idem = () => ({ 'Idempotency-Key': randomUUID() });

async function addEndpoint(t, shop, extra = {}) {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const endpoint = expectStatus(await shop.post('/v1/webhook-endpoints', { url: receiver.url, ...extra }, { headers: idem() }),
    201, 'POST /v1/webhook-endpoints');
  receiver.setSecret(endpoint.secret);
  return { receiver, endpoint };
}

async function payOk(bank, number, amount, transactionId) {
  const res = await bank.post('/v1/bank/deposits', {
    transaction_id: transactionId, number, amount, currency: 'KRW', payer_name: 'Kim Minji', deposited_at: nowRfc3339(),
  });
  return expectStatus(res, 200, `deposit ${transactionId}`).deposit;
}

test('deposit events carry the customer unless the endpoint leaves personal data out', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  let relay = await startRelay({ dataDir, args: ALLOW_LOCAL });
  const seed = await seedDemo(relay, { perPool: 3, rivalPerPool: 0 });
  let shop = api(relay.url, seed.keys.shop);

  const full = await addEndpoint(t, shop);
  assert.equal(full.endpoint.include_personal_data, true, 'the default includes personal data');
  const lean = await addEndpoint(t, shop, { include_personal_data: false });
  assert.equal(lean.endpoint.include_personal_data, false);
  const patched = await addEndpoint(t, shop);
  const patch = await shop.patch(`/v1/webhook-endpoints/${patched.endpoint.id}`, { include_personal_data: false });
  const afterPatch = assertResponseMatches('PATCH', `/v1/webhook-endpoints/${patched.endpoint.id}`, patch);
  expectStatus(patch, 200, 'PATCH');
  assert.equal(afterPatch.include_personal_data, false);
  assertProblem(await shop.patch(`/v1/webhook-endpoints/${patched.endpoint.id}`, { include_personal_data: 'no' }), 400, 'invalid_field', 'not a boolean');

  const issue = async (orderId) => expectStatus(await shop.post('/v1/assignments',
    { order_id: orderId, amount: 15000, bank: '004', region: 'seoul', customer: CUSTOMER }, { headers: idem() }), 201, `issue ${orderId}`);
  const a = await issue('order-customer-1');
  await payOk(api(relay.url, seed.keys.bank004), a.number, 15000, 'tx-customer-1');

  const matched = assertVerified(await full.receiver.waitForType('deposit.matched', { orderId: 'order-customer-1' }), 'deposit.matched');
  assert.deepEqual(matched.data.customer, CUSTOMER, 'the customer as given at issuance');
  assertWebhookMatches(matched, 'deposit.matched with the customer');
  assert.equal(matched.data.deposit.amount, 15000);
  const created = assertVerified(await full.receiver.waitForType('assignment.created', { orderId: 'order-customer-1' }), 'assignment.created');
  assert.deepEqual(created.data.customer, CUSTOMER);
  for (const { receiver } of [lean, patched]) {
    const d = await receiver.waitForType('deposit.matched', { orderId: 'order-customer-1' });
    const body = assertVerified(d, 'deposit.matched without personal data');
    assert.equal('customer' in body.data, false, 'no customer member');
    assertWebhookMatches(body, 'deposit.matched without the customer');
    for (const value of [CUSTOMER.phone, CUSTOMER.email]) assert.equal(d.raw.includes(value), false, `${value} is not sent`);
    assert.equal(body.data.deposit.transaction_id, 'tx-customer-1', 'the rest of the event is there');
  }
  // The events API shows the merchant its own data as written.
  const listed = expectStatus(await shop.get('/v1/events?type=deposit.matched'), 200, 'GET /v1/events');
  assert.deepEqual(listed.items[0].payload.data.customer, CUSTOMER);

  // The option survives a kill (replayed from the command log) and a clean restart (read from the tables).
  for (const how of ['kill', 'stop']) {
    if (how === 'kill') await relay.kill(); else await relay.stop();
    relay = await startRelay({ dataDir, args: ALLOW_LOCAL });
    shop = api(relay.url, seed.keys.shop);
    const items = expectStatus(await shop.get('/v1/webhook-endpoints'), 200, `list after ${how}`).items;
    const byId = Object.fromEntries(items.map((e) => [e.id, e.include_personal_data]));
    assert.deepEqual(byId, { [full.endpoint.id]: true, [lean.endpoint.id]: false, [patched.endpoint.id]: false }, `after ${how}`);
  }
  const b = await issue('order-customer-2');
  await payOk(api(relay.url, seed.keys.bank004), b.number, 15000, 'tx-customer-2');
  const leanAgain = assertVerified(await lean.receiver.waitForType('deposit.matched', { orderId: 'order-customer-2' }), 'after restarts');
  assert.equal('customer' in leanAgain.data, false);
  const fullAgain = assertVerified(await full.receiver.waitForType('deposit.matched', { orderId: 'order-customer-2' }), 'after restarts');
  assert.deepEqual(fullAgain.data.customer, CUSTOMER);
  await relay.stop();
});
