// Proves a virtual-account payment works end to end over HTTP against a real varelayd: idempotent issue, pre-check, matching, duplicates, pools, quarantine reuse, late/unknown deposits, cancellations, bank transaction ids, merchant deactivation, paging, metrics, restart durability and a clean SIGTERM.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import {
  ADMIN_KEY, allDeposits, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, poolMap, removeDir,
  seedDemo, startRelay, waitFor,
} from './relay.mjs';

after(killAll);

const ASSIGNMENT_ID = /^asg_[0-9a-z]{20}$/;
const DEPOSIT_ID = /^dep_[0-9a-z]{20}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

// A fresh data dir, a running relay and the demo set-up; everything is torn down after the test.
async function setup(t, { args = [], perPool = 3 } = {}) {
  const dataDir = makeTempDir();
  const relays = [];
  t.after(async () => {
    for (const r of relays) await r.kill();
    removeDir(dataDir);
  });
  const relay = await startRelay({ dataDir, args });
  relays.push(relay);
  const seed = await seedDemo(relay, { perPool });
  const ctx = {
    relay, dataDir, relays, ...seed,
    clients(url) {
      return {
        admin: api(url, ADMIN_KEY),
        shop: api(url, seed.keys.shop),
        rival: api(url, seed.keys.rival),
        bank004: api(url, seed.keys.bank004),
        bank088: api(url, seed.keys.bank088),
        anon: api(url, null),
      };
    },
  };
  Object.assign(ctx, ctx.clients(relay.url));
  return ctx;
}

function issue(client, body, key = randomUUID()) {
  return client.post('/v1/assignments', body, { headers: { 'Idempotency-Key': key } });
}

async function issueOk(client, body) {
  return expectStatus(await issue(client, body), 201, `issue ${body.order_id}`);
}

function notice(overrides) {
  return { currency: 'KRW', payer_name: 'Kim Minji', deposited_at: nowRfc3339(), ...overrides };
}

async function verifyLedger(admin) {
  return expectStatus(await admin.get('/v1/ledger/verify'), 200, 'GET /v1/ledger/verify');
}

test('a full payment: idempotent issue, replay, key reuse refused, pre-check, one matched deposit despite a duplicate notice, order paid, ledger verifies', async (t) => {
  const c = await setup(t);
  const body = {
    order_id: 'ORD-2026-000123', amount: 39000, bank: '004', region: 'seoul',
    customer: { name: 'Kim Minji', phone: '+82 10-1234-5678', email: 'minji@example.org' },
  };
  const first = await issue(c.shop, body, 'idem-full-1');
  const a = expectStatus(first, 201, 'first issue');
  assert.equal(first.headers.get('idempotent-replayed'), null, 'a first response is not marked replayed');
  assert.match(a.id, ASSIGNMENT_ID);
  assert.equal(a.order_id, body.order_id);
  assert.equal(a.merchant, 'shop');
  assert.equal(a.bank, '004');
  assert.equal(a.region, 'seoul');
  assert.ok(c.numbers['004'].seoul.includes(a.number), `number ${a.number} comes from shop/004/seoul`);
  assert.equal(a.generation, 1);
  assert.equal(a.holder_name, c.holderNames.shop);
  assert.equal(a.amount, 39000);
  assert.equal(a.currency, 'KRW');
  assert.deepEqual(a.amount_rule, { type: 'exact' });
  assert.equal(a.amount_paid, 0);
  assert.equal(a.status, 'open');
  assert.deepEqual(a.customer, body.customer);
  assert.match(a.created_at, TIMESTAMP);
  assert.match(a.due_at, TIMESTAMP);
  assert.equal(a.closed_at, null);

  const replay = await issue(c.shop, body, 'idem-full-1');
  assert.equal(replay.status, 201, 'the replay carries the stored status');
  assert.equal(replay.text, first.text, 'the replay carries the stored body byte for byte');
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');

  const reused = await issue(c.shop, { ...body, amount: 39001 }, 'idem-full-1');
  assertProblem(reused, 422, 'idempotency_key_reused', 'same key, other body');

  const accept = expectStatus(await c.bank004.post('/v1/bank/precheck', { number: a.number, amount: 39000, payer_name: 'Kim Minji' }), 200, 'precheck');
  assert.deepEqual(accept, { accept: true, holder_name: c.holderNames.shop, due_at: a.due_at });
  const refuse = expectStatus(await c.bank004.post('/v1/bank/precheck', { number: a.number, amount: 39001 }), 200, 'precheck wrong amount');
  assert.deepEqual(refuse, { accept: false, reason: 'amount_mismatch' });

  // deposited_at sent with a +09:00 offset comes back in UTC with a Z.
  const depositedUtc = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const kst = new Date(depositedUtc.getTime() + 9 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+09:00');
  const n = notice({ transaction_id: 'KB20261125-000001', number: a.number, amount: 39000, deposited_at: kst });
  const receipt = expectStatus(await c.bank004.post('/v1/bank/deposits', n), 200, 'deposit');
  assert.equal(receipt.duplicate, false);
  const d = receipt.deposit;
  assert.match(d.id, DEPOSIT_ID);
  assert.equal(d.outcome, 'matched');
  assert.equal(d.parked_amount, 0);
  assert.equal(d.status, 'booked');
  assert.equal(d.cancelled_at, null);
  assert.equal(d.bank, '004');
  assert.equal(d.transaction_id, n.transaction_id);
  assert.equal(d.number, a.number);
  assert.equal(d.generation, 1);
  assert.equal(d.assignment_id, a.id);
  assert.equal(d.order_id, body.order_id);
  assert.equal(d.merchant, 'shop');
  assert.equal(d.amount, 39000);
  assert.equal(d.currency, 'KRW');
  assert.equal(d.payer_name, 'Kim Minji');
  assert.equal(d.deposited_at, depositedUtc.toISOString().replace('.000Z', 'Z'));
  assert.match(d.received_at, TIMESTAMP);

  const again = expectStatus(await c.bank004.post('/v1/bank/deposits', n), 200, 'same notice again');
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.deposit, d, 'a duplicate answers the deposit booked the first time');

  const listed = expectStatus(await c.shop.get(`/v1/deposits?order_id=${body.order_id}`), 200, 'deposits of the order');
  assert.equal(listed.items.length, 1, 'exactly one deposit for the order');
  assert.equal(listed.items[0].id, d.id);
  assert.equal(listed.next_after, null);

  const order = expectStatus(await c.shop.get(`/v1/orders/${body.order_id}`), 200, 'order');
  assert.equal(order.id, a.id);
  assert.equal(order.status, 'paid');
  assert.equal(order.amount_paid, 39000);
  assert.match(order.closed_at, TIMESTAMP);
  const byId = expectStatus(await c.shop.get(`/v1/assignments/${a.id}`), 200, 'assignment');
  assert.deepEqual(byId, order);
  const asAdmin = expectStatus(await c.admin.get(`/v1/assignments/${a.id}`), 200, 'assignment read by an admin');
  assert.deepEqual(asAdmin, byId, 'an admin sees the body the merchant sees');

  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 1, first_bad_seq: null, reason: null });
});

test('an order id asked again with an identical payload answers 200 with the existing assignment, before and after payment', async (t) => {
  const c = await setup(t);
  const body = { order_id: 'ORDER-AGAIN', amount: 2500, bank: '088', region: 'seoul' };
  const a = await issueOk(c.shop, body);
  const again = await issue(c.shop, body);
  assert.equal(again.status, 200, `same order, same payload, new Idempotency-Key: ${again.text}`);
  assert.equal(again.headers.get('idempotent-replayed'), null, 'not an Idempotency-Key replay');
  assert.deepEqual(again.body, a);
  expectStatus(await c.bank088.post('/v1/bank/deposits', notice({ transaction_id: 'AGAIN-PAY', number: a.number, amount: 2500 })), 200, 'payment');
  const afterPaid = await issue(c.shop, body);
  assert.equal(afterPaid.status, 200);
  assert.equal(afterPaid.body.id, a.id);
  assert.equal(afterPaid.body.status, 'paid');
  const pools = await poolMap(c.admin);
  assert.equal(pools['shop/088/seoul'].free, 2, 'only one number was taken');
});

test('concurrent duplicates land once: one Idempotency-Key, one order id, one deposit notice, each sent 8 times at once', async (t) => {
  const c = await setup(t);
  const body = { order_id: 'CONC-1', amount: 4000, bank: '004', region: 'busan' };
  const sameKey = await Promise.all(Array.from({ length: 8 }, () => issue(c.shop, body, 'conc-key')));
  const originals = sameKey.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
  assert.equal(originals.length, 1, `exactly one original answer: ${sameKey.map((r) => r.status).join(',')}`);
  const a = originals[0].body;
  for (const r of sameKey) {
    if (r.status === 409) {
      assertProblem(r, 409, 'idempotency_in_flight', 'a concurrent retry');
    } else {
      assert.equal(r.status, 201);
      assert.equal(r.text, originals[0].text, 'replays carry the original body');
    }
  }
  const sameOrder = await Promise.all(Array.from({ length: 8 }, () => issue(c.shop, { ...body, order_id: 'CONC-2' })));
  const created = sameOrder.filter((r) => r.status === 201);
  assert.equal(created.length, 1, `one 201 for an order id sent 8 times: ${sameOrder.map((r) => r.status).join(',')}`);
  for (const r of sameOrder) {
    assert.ok(r.status === 200 || r.status === 201, `order replay status ${r.status}: ${r.text}`);
    assert.equal(r.body.id, created[0].body.id);
  }
  const n = notice({ transaction_id: 'CONC-PAY', number: a.number, amount: 4000 });
  const sameNotice = await Promise.all(Array.from({ length: 8 }, () => c.bank004.post('/v1/bank/deposits', n)));
  for (const r of sameNotice) expectStatus(r, 200, 'concurrent notice');
  assert.equal(sameNotice.filter((r) => r.body.duplicate === false).length, 1, 'one notice booked, seven duplicates');
  assert.equal(new Set(sameNotice.map((r) => r.body.deposit.id)).size, 1);
  const pools = await poolMap(c.admin);
  assert.equal(pools['shop/004/busan'].free, 1, 'two numbers taken for two orders');
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 1, first_bad_seq: null, reason: null });
});

test("the Idempotency-Key is scoped to the merchant (the key's institution), not to one API key", async (t) => {
  const c = await setup(t);
  const second = expectStatus(await c.admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'second checkout' }), 201, 'second shop key');
  const shop2 = api(c.relay.url, second.key);
  const body = { order_id: 'SCOPE-1', amount: 1000, bank: '004' };
  const first = await issue(c.shop, body, 'shared-key');
  expectStatus(first, 201, 'first key');
  const replay = await issue(shop2, body, 'shared-key');
  assert.equal(replay.status, 201, `same institution, same key, same payload replays the stored 201: ${replay.text}`);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true', 'the second API key of the same merchant gets a replay');
  assert.equal(replay.text, first.text);
  const reused = await issue(shop2, { order_id: 'SCOPE-2', amount: 1000, bank: '004' }, 'shared-key');
  assertProblem(reused, 422, 'idempotency_key_reused', 'same institution, same key, other payload');
  assertProblem(await c.shop.get('/v1/orders/SCOPE-2'), 404, 'not_found', 'the reused key created nothing');
  // Another merchant's keys are another scope: the same key string, even with the very same payload, gets its own fresh result.
  const rivalSame = await issue(c.rival, body, 'shared-key');
  assert.equal(rivalSame.status, 201, `another merchant, same Idempotency-Key, same payload: ${rivalSame.text}`);
  assert.equal(rivalSame.headers.get('idempotent-replayed'), null, "another merchant never gets shop's stored response");
  assert.equal(rivalSame.body.merchant, 'rival');
  assert.notEqual(rivalSame.body.id, first.body.id);
  assert.ok(c.rivalNumbers['004'].includes(rivalSame.body.number), 'the number comes from the rival\'s own pool');
  assert.equal(expectStatus(await c.rival.get('/v1/orders/SCOPE-1'), 200, "rival's SCOPE-1").id, rivalSame.body.id);
  // ... and did not disturb shop's stored response.
  const shopAgain = await issue(c.shop, body, 'shared-key');
  assert.equal(shopAgain.headers.get('idempotent-replayed'), 'true');
  assert.equal(shopAgain.text, first.text, "shop's key still replays shop's answer");
});

test('bad input is not stored under the Idempotency-Key (a corrected retry with the same key is processed); a final business refusal is stored and replayed', async (t) => {
  const c = await setup(t);
  // A final business refusal of the engine is stored and replayed.
  const unknownBank = { order_id: 'ERR-1', amount: 1000, bank: '999' };
  const first422 = await issue(c.shop, unknownBank, 'err-422');
  assertProblem(first422, 422, 'unknown_bank');
  assert.equal(first422.headers.get('idempotent-replayed'), null);
  const replay422 = await issue(c.shop, unknownBank, 'err-422');
  assertProblem(replay422, 422, 'unknown_bank', 'replayed 422');
  assert.equal(replay422.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay422.text, first422.text);

  // The same invalid body twice: 400 both times, never replayed; then the same key with a valid body is processed.
  const zero = { order_id: 'ERR-2', amount: 0, bank: '004' };
  for (const attempt of ['first', 'second']) {
    const res = await issue(c.shop, zero, 'err-400');
    assertProblem(res, 400, 'invalid_amount', `${attempt} invalid request`);
    assert.equal(res.headers.get('idempotent-replayed'), null, `${attempt} 400: nothing was stored, so nothing is replayed`);
  }
  const fixed = await issue(c.shop, { ...zero, amount: 5 }, 'err-400');
  const created = expectStatus(fixed, 201, 'the same key with a corrected body');
  assert.equal(fixed.headers.get('idempotent-replayed'), null, 'the corrected request ran afresh');
  assert.equal(created.order_id, 'ERR-2');
  assert.equal(created.amount, 5);
  assert.deepEqual(expectStatus(await c.shop.get('/v1/orders/ERR-2'), 200, 'ERR-2'), created);
  const replay201 = await issue(c.shop, { ...zero, amount: 5 }, 'err-400');
  assert.equal(replay201.status, 201, 'the key now holds the 201');
  assert.equal(replay201.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay201.text, fixed.text);

  // Malformed JSON, a missing field and a wrong Content-Type: likewise nothing stored.
  const raw = (text, key, headers = {}) => c.shop.request('POST', '/v1/assignments', { raw: text, headers: { 'Idempotency-Key': key, ...headers } });
  for (let i = 0; i < 2; i++) {
    const res = await raw('{"order_id":"ERR-3","amount":1000,', 'err-json');
    assertProblem(res, 400, 'malformed_json', `malformed JSON, attempt ${i + 1}`);
    assert.equal(res.headers.get('idempotent-replayed'), null);
  }
  const afterJson = await raw('{"order_id":"ERR-3","amount":1000,"bank":"004"}', 'err-json');
  expectStatus(afterJson, 201, 'the same key with well-formed JSON');
  assert.equal(afterJson.headers.get('idempotent-replayed'), null);

  assertProblem(await issue(c.shop, { order_id: 'ERR-4', bank: '004' }, 'err-missing'), 400, 'missing_field', 'missing amount');
  const afterMissing = await issue(c.shop, { order_id: 'ERR-4', amount: 700, bank: '004' }, 'err-missing');
  expectStatus(afterMissing, 201, 'the same key with the amount added');
  assert.equal(afterMissing.headers.get('idempotent-replayed'), null);

  const text = '{"order_id":"ERR-5","amount":800,"bank":"004"}';
  assertProblem(await raw(text, 'err-415', { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type', 'text/plain');
  const afterMedia = await raw(text, 'err-415');
  expectStatus(afterMedia, 201, 'the same key and body as application/json');
  assert.equal(afterMedia.headers.get('idempotent-replayed'), null);
});

test('pool_exhausted is not stored under the Idempotency-Key: after more numbers are loaded the same key issues (201, not a replayed 409)', async (t) => {
  const c = await setup(t, { perPool: 1 });
  await issueOk(c.shop, { order_id: 'EXH-R-0', amount: 1000, bank: '088', region: 'busan' });
  const body = { order_id: 'EXH-R-1', amount: 1000, bank: '088', region: 'busan' };
  const refused = await issue(c.shop, body, 'exh-key');
  assertProblem(refused, 409, 'pool_exhausted', 'issue from an empty pool');
  assert.equal(refused.headers.get('idempotent-replayed'), null);
  const again = await issue(c.shop, body, 'exh-key');
  assertProblem(again, 409, 'pool_exhausted', 'still empty');
  assert.equal(again.headers.get('idempotent-replayed'), null, 'a transient refusal is not replayed');

  const more = '9088177700001';
  assert.deepEqual(expectStatus(await c.admin.post('/v1/pools/shop/088/busan/numbers', { numbers: [more] }), 200, 'load one more number'),
    { loaded: 1, skipped: [] });
  const ok = await issue(c.shop, body, 'exh-key');
  const a = expectStatus(ok, 201, 'the same key once the pool has a number');
  assert.equal(ok.headers.get('idempotent-replayed'), null, 'processed afresh, not a replayed 409');
  assert.equal(a.number, more);
  const replay = await issue(c.shop, body, 'exh-key');
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.text, ok.text);
  const pools = await poolMap(c.admin);
  assert.deepEqual({ free: pools['shop/088/busan'].free, assigned: pools['shop/088/busan'].assigned }, { free: 0, assigned: 2 });
});

test('an exhausted pool answers 409 pool_exhausted and leaves every pool count unchanged', async (t) => {
  const c = await setup(t, { perPool: 3 });
  for (let i = 0; i < 3; i++) await issueOk(c.shop, { order_id: `EXH-${i}`, amount: 1000, bank: '088', region: 'busan' });
  const before = await poolMap(c.admin);
  assert.deepEqual({ free: before['shop/088/busan'].free, assigned: before['shop/088/busan'].assigned }, { free: 0, assigned: 3 });
  const key = randomUUID();
  const refused = await issue(c.shop, { order_id: 'EXH-3', amount: 1000, bank: '088', region: 'busan' }, key);
  assertProblem(refused, 409, 'pool_exhausted', 'fourth issue from a pool of three');
  assert.deepEqual(await poolMap(c.admin), before, 'pool counts are unchanged');
  const orderLookup = await c.shop.get('/v1/orders/EXH-3');
  assertProblem(orderLookup, 404, 'not_found', 'the refused order was not recorded');
});

test("another merchant's assignment is 404 not_found for GET, cancel and order look-up, and stays untouched", async (t) => {
  const c = await setup(t);
  const theirs = await issueOk(c.rival, { order_id: 'RIVAL-1', amount: 5000, bank: '004' });
  assertProblem(await c.shop.get(`/v1/assignments/${theirs.id}`), 404, 'not_found', 'GET');
  assertProblem(await c.shop.post(`/v1/assignments/${theirs.id}/cancel`, {}, { headers: { 'Idempotency-Key': randomUUID() } }), 404, 'not_found', 'cancel');
  assertProblem(await c.shop.get('/v1/orders/RIVAL-1'), 404, 'not_found', 'order look-up');
  const still = expectStatus(await c.rival.get(`/v1/assignments/${theirs.id}`), 200, 'owner reads it');
  assert.equal(still.status, 'open');
  // An admin key may read any assignment (operators answer disputes); a bank key may not.
  const asAdmin = expectStatus(await c.admin.get(`/v1/assignments/${theirs.id}`), 200, 'admin reads it');
  assert.deepEqual(asAdmin, still, 'the admin sees the body the merchant sees');
  assertProblem(await c.bank004.get(`/v1/assignments/${theirs.id}`), 403, 'forbidden', 'a bank key');
});

test('cancelling an open assignment makes it cancelled, its number cooling, and a second cancel is refused', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'CANCEL-1', amount: 7000, bank: '004', region: 'busan' });
  const res = await c.shop.request('POST', `/v1/assignments/${a.id}/cancel`, { headers: { 'Idempotency-Key': randomUUID() } });
  const cancelled = expectStatus(res, 200, 'cancel with an empty body');
  assert.equal(cancelled.id, a.id);
  assert.equal(cancelled.status, 'cancelled');
  assert.match(cancelled.closed_at, TIMESTAMP);
  const pools = await poolMap(c.admin);
  assert.equal(pools['shop/004/busan'].assigned, 0);
  assert.equal(pools['shop/004/busan'].cooling, 1);
  const k2 = randomUUID();
  const second = await c.shop.post(`/v1/assignments/${a.id}/cancel`, {}, { headers: { 'Idempotency-Key': k2 } });
  assertProblem(second, 409, 'assignment_not_cancellable', 'second cancel');
  assert.equal(second.headers.get('idempotent-replayed'), null);
  const secondAgain = await c.shop.post(`/v1/assignments/${a.id}/cancel`, {}, { headers: { 'Idempotency-Key': k2 } });
  assertProblem(secondAgain, 409, 'assignment_not_cancellable', 'second cancel sent again with the same key');
  assert.equal(secondAgain.headers.get('idempotent-replayed'), 'true', 'a final business refusal is stored and replayed');
  assert.equal(secondAgain.text, second.text);
  // not_found is a final refusal too.
  const k3 = randomUUID();
  const missing = await c.shop.post('/v1/assignments/asg_aaaaaaaaaaaaaaaaaaaa/cancel', {}, { headers: { 'Idempotency-Key': k3 } });
  assertProblem(missing, 404, 'not_found', 'cancel of no such assignment');
  const missingAgain = await c.shop.post('/v1/assignments/asg_aaaaaaaaaaaaaaaaaaaa/cancel', {}, { headers: { 'Idempotency-Key': k3 } });
  assertProblem(missingAgain, 404, 'not_found', 'the same cancel again');
  assert.equal(missingAgain.headers.get('idempotent-replayed'), 'true');
  const pre = expectStatus(await c.bank004.post('/v1/bank/precheck', { number: a.number, amount: 7000 }), 200, 'precheck');
  assert.deepEqual(pre, { accept: false, reason: 'not_assigned' });
});

test('a number is reused after quarantine with generation 2; a deposit during quarantine is late and stays with the first order', async (t) => {
  const QUARANTINE_S = 2;
  const c = await setup(t, { args: ['--quarantine', String(QUARANTINE_S)] });
  const only = '9004777000001';
  expectStatus(await c.admin.post('/v1/pools/shop/004/jeju/numbers', { numbers: [only] }), 200, 'load a one-number pool');
  const first = await issueOk(c.shop, { order_id: 'REUSE-1', amount: 12000, bank: '004', region: 'jeju' });
  assert.equal(first.number, only);
  assert.equal(first.generation, 1);
  const cancelled = expectStatus(await c.shop.post(`/v1/assignments/${first.id}/cancel`, {}, { headers: { 'Idempotency-Key': randomUUID() } }), 200, 'cancel');
  assert.equal(cancelled.status, 'cancelled');

  const cooling = (await poolMap(c.admin))['shop/004/jeju'];
  assert.deepEqual({ free: cooling.free, cooling: cooling.cooling }, { free: 0, cooling: 1 }, 'the number cools after the cancel');
  const late = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'REUSE-LATE-1', number: only, amount: 12000 })), 200, 'deposit while cooling');
  const closedMs = Date.parse(cancelled.closed_at);
  assert.ok(Date.parse(late.deposit.received_at) < closedMs + QUARANTINE_S * 1000,
    'precondition: the deposit was received within the quarantine (the machine was not too slow)');
  assert.equal(late.deposit.outcome, 'late');
  assert.equal(late.deposit.parked_amount, 12000);
  assert.equal(late.deposit.assignment_id, first.id);
  assert.equal(late.deposit.order_id, 'REUSE-1');
  assert.equal(late.deposit.generation, 1);

  await waitFor(async () => (await poolMap(c.admin))['shop/004/jeju'].free === 1,
    { timeoutMs: QUARANTINE_S * 1000 + 10_000, intervalMs: 100, what: 'the number to leave quarantine' });
  const second = await issueOk(c.shop, { order_id: 'REUSE-2', amount: 15000, bank: '004', region: 'jeju' });
  assert.equal(second.number, only, 'the same number is handed out again');
  assert.equal(second.generation, 2);
  assert.notEqual(second.id, first.id);

  const paid = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'REUSE-PAY-2', number: only, amount: 15000 })), 200, 'deposit for the new order');
  assert.equal(paid.deposit.outcome, 'matched');
  assert.equal(paid.deposit.assignment_id, second.id);
  assert.equal(paid.deposit.generation, 2);
  const firstNow = expectStatus(await c.shop.get(`/v1/assignments/${first.id}`), 200, 'first assignment');
  assert.equal(firstNow.status, 'cancelled');
  assert.equal(firstNow.amount_paid, 0, 'late money is parked, not credited');
  const firstDeposits = expectStatus(await c.shop.get('/v1/deposits?order_id=REUSE-1'), 200, 'deposits of the first order');
  assert.deepEqual(firstDeposits.items.map((d) => d.transaction_id), ['REUSE-LATE-1']);
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 2, first_bad_seq: null, reason: null });
});

test('expires_in_s: 60 sets due_at exactly 60 s after created_at, and the pre-check shows that due time', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'EXP-60', amount: 3000, bank: '088', expires_in_s: 60 });
  assert.equal(Date.parse(a.due_at) - Date.parse(a.created_at), 60_000);
  const pre = expectStatus(await c.bank088.post('/v1/bank/precheck', { number: a.number, amount: 3000 }), 200, 'precheck');
  assert.deepEqual(pre, { accept: true, holder_name: c.holderNames.shop, due_at: a.due_at });
});

test('a deposit on a number whose order is already paid is late: parked whole and attributed to that order', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'LATE-1', amount: 20000, bank: '004' });
  const paid = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'LATE-PAY', number: a.number, amount: 20000 })), 200, 'payment');
  assert.equal(paid.deposit.outcome, 'matched');
  const late = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'LATE-AGAIN', number: a.number, amount: 20000 })), 200, 'second payment');
  assert.equal(late.duplicate, false);
  assert.equal(late.deposit.outcome, 'late');
  assert.equal(late.deposit.parked_amount, 20000);
  assert.equal(late.deposit.assignment_id, a.id);
  assert.equal(late.deposit.order_id, 'LATE-1');
  assert.equal(late.deposit.merchant, 'shop');
  const order = expectStatus(await c.shop.get('/v1/orders/LATE-1'), 200, 'order');
  assert.equal(order.status, 'paid');
  assert.equal(order.amount_paid, 20000, 'late money is not credited to the order');
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 2, first_bad_seq: null, reason: null });
});

test('a deposit to an unknown number (or another bank\'s number) is unknown_number and to a free pooled number not_assigned, the whole amount parked', async (t) => {
  const c = await setup(t);
  const res = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'UNK-1', number: '1234567890', amount: 55555 })), 200, 'unknown number');
  assert.equal(res.duplicate, false);
  const d = res.deposit;
  assert.equal(d.outcome, 'unknown_number');
  assert.equal(d.parked_amount, 55555);
  assert.equal(d.assignment_id, null);
  assert.equal(d.order_id, null);
  assert.equal(d.merchant, null);
  assert.equal(d.generation, null);
  assert.equal(d.status, 'booked');
  // A number pooled at bank 088 is not a number of ours at bank 004.
  const a = await issueOk(c.shop, { order_id: 'UNK-088', amount: 100, bank: '088' });
  const cross = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'UNK-2', number: a.number, amount: 100 })), 200, 'another bank\'s number');
  assert.equal(cross.deposit.outcome, 'unknown_number');
  assert.equal(cross.deposit.parked_amount, 100);
  const pre = expectStatus(await c.bank004.post('/v1/bank/precheck', { number: '1234567890', amount: 1 }), 200, 'precheck');
  assert.deepEqual(pre, { accept: false, reason: 'unknown_number' });
  const order = expectStatus(await c.shop.get('/v1/orders/UNK-088'), 200, 'order');
  assert.equal(order.status, 'open');
  // A pooled number on no order is not_assigned: parked, but visible to the pool's owner.
  const free = c.numbers['004'].busan[2];
  const notAssigned = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'UNK-3', number: free, amount: 77 })), 200, 'free number');
  assert.equal(notAssigned.deposit.outcome, 'not_assigned');
  assert.equal(notAssigned.deposit.parked_amount, 77);
  assert.equal(notAssigned.deposit.assignment_id, null);
  assert.deepEqual(expectStatus(await c.bank004.post('/v1/bank/precheck', { number: free, amount: 77 }), 200, 'precheck').reason, 'not_assigned');
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 3, first_bad_seq: null, reason: null });
});

test('a bank cancellation reverses a matched deposit: status cancelled, a balancing reversal entry, amount_paid back to 0, idempotent', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'REV-1', amount: 8800, bank: '004' });
  const paid = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'REV-PAY', number: a.number, amount: 8800 })), 200, 'payment');
  assert.equal(paid.deposit.outcome, 'matched');
  const cancel = { transaction_id: 'REV-CANCEL', original_transaction_id: 'REV-PAY', cancelled_at: nowRfc3339() };
  const res = expectStatus(await c.bank004.post('/v1/bank/cancellations', cancel), 200, 'cancellation');
  assert.equal(res.duplicate, false);
  assert.equal(res.deposit.id, paid.deposit.id);
  assert.equal(res.deposit.status, 'cancelled');
  assert.match(res.deposit.cancelled_at, TIMESTAMP);
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 2, first_bad_seq: null, reason: null });

  const ledger = expectStatus(await c.admin.get('/v1/ledger'), 200, 'ledger');
  assert.deepEqual(ledger.items.map((e) => [e.seq, e.kind, e.deposit_id]), [[1, 'deposit', paid.deposit.id], [2, 'reversal', paid.deposit.id]]);
  assert.equal(ledger.items[1].prev_hash, ledger.items[0].hash, 'the reversal is chained to the deposit entry');
  const net = {};
  for (const e of ledger.items) for (const l of e.lines) net[l.account] = (net[l.account] ?? 0) + l.debit - l.credit;
  for (const [account, balance] of Object.entries(net)) assert.equal(balance, 0, `${account} nets to zero after the reversal`);

  const order = expectStatus(await c.shop.get('/v1/orders/REV-1'), 200, 'order');
  assert.equal(order.amount_paid, 0, 'amount_paid is net of cancellations');
  const again = expectStatus(await c.bank004.post('/v1/bank/cancellations', cancel), 200, 'same cancellation again');
  assert.equal(again.duplicate, true);
  assert.equal(again.deposit.status, 'cancelled');
  assert.equal((await verifyLedger(c.admin)).entries, 2, 'a repeated cancellation books nothing');
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { ...cancel, transaction_id: 'REV-CANCEL-X', original_transaction_id: 'NO-SUCH-TX' }),
    404, 'not_found', 'cancelling an unknown deposit');
});

test("a cancellation's own transaction_id is idempotent: reused with other content it is 409 transaction_id_conflict and cancels nothing else", async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'CX-1', amount: 100, bank: '004' });
  const b = await issueOk(c.shop, { order_id: 'CX-2', amount: 200, bank: '004' });
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'CX-PAY-1', number: a.number, amount: 100 })), 200, 'pay 1');
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'CX-PAY-2', number: b.number, amount: 200 })), 200, 'pay 2');
  const cancel = { transaction_id: 'CX-CANCEL', original_transaction_id: 'CX-PAY-1', cancelled_at: nowRfc3339() };
  expectStatus(await c.bank004.post('/v1/bank/cancellations', cancel), 200, 'cancellation');
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { ...cancel, original_transaction_id: 'CX-PAY-2' }),
    409, 'transaction_id_conflict', 'the cancellation id reused for another deposit');
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { ...cancel, cancelled_at: new Date(Date.now() + 3600_000).toISOString() }),
    409, 'transaction_id_conflict', 'the cancellation id reused with another cancelled_at');
  const other = expectStatus(await c.shop.get('/v1/deposits?order_id=CX-2'), 200, 'deposits of CX-2');
  assert.equal(other.items[0].status, 'booked', 'the other deposit was not cancelled');
  assert.equal(expectStatus(await c.shop.get('/v1/orders/CX-2'), 200, 'CX-2').amount_paid, 200);
  assert.equal((await verifyLedger(c.admin)).entries, 3, 'two deposits and one reversal');
});

test("a cancelled deposit's cancelled_at is the bank's cancellation time from the notice, in UTC", async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'CAT-1', amount: 100, bank: '004' });
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'CAT-PAY', number: a.number, amount: 100 })), 200, 'pay');
  const bankTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000);
  const kst = new Date(bankTime.getTime() + 9 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+09:00');
  const t0 = Date.now();
  const res = expectStatus(await c.bank004.post('/v1/bank/cancellations', { transaction_id: 'CAT-CANCEL', original_transaction_id: 'CAT-PAY', cancelled_at: kst }), 200, 'cancellation');
  const t1 = Date.now();
  assert.equal(res.deposit.cancelled_at, bankTime.toISOString().replace('.000Z', 'Z'), `cancelled_at ${kst} comes back as the bank's time in UTC`);
  const listed = expectStatus(await c.shop.get('/v1/deposits?order_id=CAT-1'), 200, 'deposits of CAT-1');
  assert.equal(listed.items[0].cancelled_at, res.deposit.cancelled_at, 'the stored deposit carries the bank time');
  // The reversal ledger entry is dated by the relay's booking time, not the bank's.
  const ledger = expectStatus(await c.admin.get('/v1/ledger'), 200, 'ledger');
  const reversal = ledger.items.find((e) => e.kind === 'reversal');
  assert.ok(reversal, 'a reversal entry was booked');
  assert.match(reversal.at, TIMESTAMP);
  const at = Date.parse(reversal.at);
  assert.ok(at >= t0 - 1000 && at <= t1 + 1000,
    `the reversal's at ${reversal.at} is the relay's booking time (${new Date(t0).toISOString()}..${new Date(t1).toISOString()}), not the bank's ${res.deposit.cancelled_at}`);
});

test('bank transaction ids are unique per bank across deposit notices and cancellations', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'TXU-1', amount: 300, bank: '004' });
  const b = await issueOk(c.shop, { order_id: 'TXU-2', amount: 400, bank: '004' });
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'TXU-PAY-1', number: a.number, amount: 300 })), 200, 'pay 1');
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'TXU-PAY-2', number: b.number, amount: 400 })), 200, 'pay 2');
  const unchanged = async (what, { cancelled = false, entries }) => {
    const d1 = expectStatus(await c.shop.get('/v1/deposits?order_id=TXU-1'), 200, 'deposits of TXU-1').items;
    const d2 = expectStatus(await c.shop.get('/v1/deposits?order_id=TXU-2'), 200, 'deposits of TXU-2').items;
    assert.deepEqual(d1.map((d) => [d.transaction_id, d.status]), [['TXU-PAY-1', cancelled ? 'cancelled' : 'booked']], `${what}: TXU-1's deposit`);
    assert.deepEqual(d2.map((d) => [d.transaction_id, d.status]), [['TXU-PAY-2', 'booked']], `${what}: TXU-2's deposit`);
    assert.equal(expectStatus(await c.shop.get('/v1/orders/TXU-1'), 200, 'TXU-1').amount_paid, cancelled ? 0 : 300, `${what}: TXU-1 amount_paid`);
    assert.equal(expectStatus(await c.shop.get('/v1/orders/TXU-2'), 200, 'TXU-2').amount_paid, 400, `${what}: TXU-2 amount_paid`);
    assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries, first_bad_seq: null, reason: null }, `${what}: ledger`);
  };

  // A cancellation whose own transaction_id is a deposit notice's is refused and cancels nothing.
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { transaction_id: 'TXU-PAY-2', original_transaction_id: 'TXU-PAY-1', cancelled_at: nowRfc3339() }),
    409, 'transaction_id_conflict', "a cancellation reusing another deposit notice's id");
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { transaction_id: 'TXU-PAY-1', original_transaction_id: 'TXU-PAY-1', cancelled_at: nowRfc3339() }),
    409, 'transaction_id_conflict', "a cancellation reusing its original's id");
  await unchanged('after the refused cancellations', { entries: 2 });

  // The real cancellation, and the same cancellation again: a duplicate.
  const cancel = { transaction_id: 'TXU-CANCEL-1', original_transaction_id: 'TXU-PAY-1', cancelled_at: nowRfc3339() };
  const done = expectStatus(await c.bank004.post('/v1/bank/cancellations', cancel), 200, 'cancellation');
  assert.equal(done.duplicate, false);
  assert.equal(done.deposit.status, 'cancelled');
  const same = expectStatus(await c.bank004.post('/v1/bank/cancellations', cancel), 200, 'the same cancellation again');
  assert.equal(same.duplicate, true);
  assert.deepEqual(same.deposit, done.deposit);
  await unchanged('after the cancellation', { cancelled: true, entries: 3 });

  // A deposit notice reusing the cancellation's id is refused and books nothing.
  const depositsBefore = await allDeposits(c.admin);
  assertProblem(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'TXU-CANCEL-1', number: b.number, amount: 400 })),
    409, 'transaction_id_conflict', "a deposit notice reusing a cancellation's id");
  assert.deepEqual(await allDeposits(c.admin), depositsBefore, 'no deposit was booked');
  await unchanged('after the refused deposit notice', { cancelled: true, entries: 3 });

  // The cancellation id reused for another original, or with another cancelled_at: refused, nothing changes.
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { ...cancel, original_transaction_id: 'TXU-PAY-2' }),
    409, 'transaction_id_conflict', 'the cancellation id reused for another deposit');
  assertProblem(await c.bank004.post('/v1/bank/cancellations', { ...cancel, cancelled_at: new Date(Date.parse(cancel.cancelled_at) - 60_000).toISOString() }),
    409, 'transaction_id_conflict', 'the cancellation id reused with another cancelled_at');
  await unchanged('after the reused cancellation ids', { cancelled: true, entries: 3 });

  // Cancelling the already cancelled deposit under a new id: 200 duplicate, the money is reversed once.
  const twice = expectStatus(await c.bank004.post('/v1/bank/cancellations', { transaction_id: 'TXU-CANCEL-2', original_transaction_id: 'TXU-PAY-1', cancelled_at: nowRfc3339() }),
    200, 'a second cancellation of the same deposit');
  assert.equal(twice.duplicate, true);
  assert.equal(twice.deposit.status, 'cancelled');
  assert.equal(twice.deposit.cancelled_at, done.deposit.cancelled_at, 'still the first cancellation');
  await unchanged('after the second cancellation', { cancelled: true, entries: 3 });

  // Another bank's ids are its own: bank 088 may use an id bank 004 used for a cancellation.
  const c088 = await issueOk(c.shop, { order_id: 'TXU-3', amount: 500, bank: '088' });
  const d088 = expectStatus(await c.bank088.post('/v1/bank/deposits', notice({ transaction_id: 'TXU-CANCEL-1', number: c088.number, amount: 500 })), 200, "bank 088 uses bank 004's cancellation id");
  assert.equal(d088.duplicate, false);
  assert.equal(d088.deposit.outcome, 'matched');
  assert.equal((await verifyLedger(c.admin)).entries, 4);
});

test('PATCH /v1/merchants/{id}: an inactive merchant cannot issue, its open numbers are refused at the pre-check, deposits are still booked; reactivating restores issuance', async (t) => {
  const c = await setup(t);
  const open = await issueOk(c.shop, { order_id: 'INACT-1', amount: 6000, bank: '004', region: 'seoul' });
  const before = expectStatus(await c.admin.get('/v1/merchants/shop'), 200, 'shop');
  assert.equal(before.active, true);

  const off = expectStatus(await c.admin.patch('/v1/merchants/shop', { active: false }), 200, 'deactivate');
  assert.deepEqual(off, { ...before, active: false });
  assert.deepEqual(expectStatus(await c.admin.get('/v1/merchants/shop'), 200, 'shop after deactivation'), off);
  assert.deepEqual(expectStatus(await c.shop.get('/v1/merchants/shop'), 200, 'shop reads itself'), off);
  assert.deepEqual(expectStatus(await c.admin.patch('/v1/merchants/shop', { active: false }), 200, 'deactivate again'), off, 'the same change again is harmless');

  const poolsBefore = await poolMap(c.admin);
  const body = { order_id: 'INACT-2', amount: 1000, bank: '004', region: 'seoul' };
  const refused = await issue(c.shop, body, 'inactive-key');
  assertProblem(refused, 403, 'forbidden', 'issuing while inactive');
  assert.equal(refused.body.detail, 'the merchant is inactive');
  assert.deepEqual(await poolMap(c.admin), poolsBefore, 'no number was taken');
  assertProblem(await c.shop.get('/v1/orders/INACT-2'), 404, 'not_found', 'nothing was issued');
  await issueOk(c.rival, { order_id: 'INACT-RIVAL', amount: 1000, bank: '004' });

  const pre = expectStatus(await c.bank004.post('/v1/bank/precheck', { number: open.number, amount: 6000 }), 200, 'precheck');
  assert.deepEqual(pre, { accept: false, reason: 'merchant_inactive' });
  const paid = expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'INACT-PAY', number: open.number, amount: 6000 })), 200, 'a deposit that arrives anyway');
  assert.equal(paid.duplicate, false);
  assert.equal(paid.deposit.outcome, 'matched', 'booked as usual');
  assert.equal(paid.deposit.assignment_id, open.id);
  assert.equal(paid.deposit.parked_amount, 0);
  const order = expectStatus(await c.shop.get('/v1/orders/INACT-1'), 200, 'INACT-1');
  assert.equal(order.status, 'paid');
  assert.equal(order.amount_paid, 6000);
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 1, first_bad_seq: null, reason: null });

  // Reactivating restores issuance; the 403 was not stored, so the same Idempotency-Key now issues.
  const on = expectStatus(await c.admin.patch('/v1/merchants/shop', { active: true }), 200, 'reactivate');
  assert.deepEqual(on, before);
  const issued = await issue(c.shop, body, 'inactive-key');
  const a = expectStatus(issued, 201, 'issuing after reactivation with the same key');
  assert.equal(issued.headers.get('idempotent-replayed'), null);
  assert.equal(a.order_id, 'INACT-2');

  // name alone, and both at once.
  const renamed = expectStatus(await c.admin.patch('/v1/merchants/shop', { name: 'Example Shop Renamed' }), 200, 'rename');
  assert.deepEqual(renamed, { ...before, name: 'Example Shop Renamed' });
  const both = expectStatus(await c.admin.patch('/v1/merchants/shop', { name: 'Example Shop', active: false }), 200, 'rename and deactivate');
  assert.deepEqual(both, { ...before, active: false });
  const merchants = expectStatus(await c.admin.get('/v1/merchants'), 200, 'merchants');
  assert.deepEqual(merchants.items.find((m) => m.id === 'shop'), both);
  assert.equal(merchants.items.find((m) => m.id === 'rival').active, true, 'the other merchant is untouched');
});

test('paging: next_after is null when no more items follow (the relay looks one ahead), for /v1/deposits and /v1/ledger', async (t) => {
  const c = await setup(t);
  for (let i = 0; i < 3; i++) {
    const a = await issueOk(c.shop, { order_id: `PAGE-${i}`, amount: 100 + i, bank: '004', region: 'seoul' });
    expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: `PAGE-PAY-${i}`, number: a.number, amount: 100 + i })), 200, `pay ${i}`);
  }
  // /v1/deposits
  const full = expectStatus(await c.admin.get('/v1/deposits?limit=3'), 200, 'a page of exactly all deposits');
  assert.deepEqual(full.items.map((d) => d.transaction_id), ['PAGE-PAY-0', 'PAGE-PAY-1', 'PAGE-PAY-2']);
  assert.equal(full.next_after, null, 'a full page that ends with the last deposit has next_after null');
  const p1 = expectStatus(await c.admin.get('/v1/deposits?limit=2'), 200, 'first page of 2');
  assert.deepEqual(p1.items.map((d) => d.transaction_id), ['PAGE-PAY-0', 'PAGE-PAY-1']);
  assert.equal(p1.next_after, p1.items[1].id, 'next_after is the id of the last deposit on the page');
  const p2 = expectStatus(await c.admin.get(`/v1/deposits?limit=2&after=${p1.next_after}`), 200, 'second page of 2');
  assert.deepEqual(p2.items.map((d) => d.transaction_id), ['PAGE-PAY-2']);
  assert.equal(p2.next_after, null);
  const p2exact = expectStatus(await c.admin.get(`/v1/deposits?limit=1&after=${p1.next_after}`), 200, 'second page of 1');
  assert.deepEqual(p2exact.items.map((d) => d.transaction_id), ['PAGE-PAY-2']);
  assert.equal(p2exact.next_after, null, 'the page holding the last deposit has next_after null');
  const mine = expectStatus(await c.shop.get('/v1/deposits?limit=3'), 200, "the merchant's deposits");
  assert.equal(mine.items.length, 3);
  assert.equal(mine.next_after, null);
  const bank = expectStatus(await c.bank004.get('/v1/deposits?limit=3'), 200, "the bank's deposits");
  assert.equal(bank.items.length, 3);
  assert.equal(bank.next_after, null);
  assert.deepEqual(expectStatus(await c.admin.get('/v1/deposits?order_id=NO-SUCH-ORDER'), 200, 'no deposits'), { items: [], next_after: null });

  // /v1/ledger
  const lfull = expectStatus(await c.admin.get('/v1/ledger?limit=3'), 200, 'a page of exactly all entries');
  assert.deepEqual(lfull.items.map((e) => e.seq), [1, 2, 3]);
  assert.equal(lfull.next_after, null, 'a full page that ends with the last entry has next_after null');
  const l1 = expectStatus(await c.admin.get('/v1/ledger?limit=2'), 200, 'first ledger page of 2');
  assert.deepEqual(l1.items.map((e) => e.seq), [1, 2]);
  assert.equal(l1.next_after, 2, 'next_after is the seq of the last entry on the page');
  const l2 = expectStatus(await c.admin.get(`/v1/ledger?limit=2&after=${l1.next_after}`), 200, 'second ledger page');
  assert.deepEqual(l2.items.map((e) => e.seq), [3]);
  assert.equal(l2.next_after, null);
  const l2exact = expectStatus(await c.admin.get('/v1/ledger?limit=1&after=2'), 200, 'second ledger page of 1');
  assert.deepEqual(l2exact.items.map((e) => e.seq), [3]);
  assert.equal(l2exact.next_after, null, 'the page holding the last entry has next_after null');
  const lmine = expectStatus(await c.shop.get('/v1/ledger?limit=3'), 200, "the merchant's entries");
  assert.equal(lmine.items.length, 3);
  assert.equal(lmine.next_after, null);
});

test('/healthz answers 200 without a key and /metrics (for an admin key) exposes deposit outcomes and pool gauges', async (t) => {
  const c = await setup(t, { perPool: 3 });
  const health = await c.anon.get('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });
  const a = await issueOk(c.shop, { order_id: 'MET-1', amount: 100, bank: '004', region: 'seoul' });
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'MET-PAY', number: a.number, amount: 100 })), 200, 'payment');
  const metrics = await c.admin.get('/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type'), /^text\/plain/);
  assert.match(metrics.text, /^varelay_deposits_total\{outcome="matched"\} 1$/m);
  assert.match(metrics.text, /^varelay_pool_numbers\{merchant="shop",bank="004",region="seoul",state="free"\} 2$/m);
  assert.match(metrics.text, /^varelay_pool_numbers\{merchant="shop",bank="004",region="seoul",state="cooling"\} 1$/m);
  assert.match(metrics.text, /^varelay_http_requests_total\{route="\/v1\/bank\/deposits",method="POST",status="200"\} 1$/m);
});

test('data survives a clean restart: same data dir, the order is still paid, keys still work, the ledger still verifies', async (t) => {
  const c = await setup(t);
  const a = await issueOk(c.shop, { order_id: 'DUR-1', amount: 43210, bank: '088', region: 'busan' });
  const open = await issueOk(c.shop, { order_id: 'DUR-2', amount: 1111, bank: '004', region: 'seoul' });
  const n = notice({ transaction_id: 'DUR-PAY', number: a.number, amount: 43210 });
  const paid = expectStatus(await c.bank088.post('/v1/bank/deposits', n), 200, 'payment');
  const poolsBefore = await poolMap(c.admin);
  const depositsBefore = expectStatus(await c.admin.get('/v1/deposits'), 200, 'deposits');

  await c.relay.stop();
  const relay2 = await startRelay({ dataDir: c.dataDir });
  c.relays.push(relay2);
  const k = c.clients(relay2.url);

  const order = expectStatus(await k.shop.get('/v1/orders/DUR-1'), 200, 'order after restart');
  assert.equal(order.status, 'paid');
  assert.equal(order.amount_paid, 43210);
  const stillOpen = expectStatus(await k.shop.get(`/v1/assignments/${open.id}`), 200, 'open assignment after restart');
  assert.deepEqual(stillOpen, open);
  assert.deepEqual(await poolMap(k.admin), poolsBefore, 'pool counts survive');
  assert.deepEqual(expectStatus(await k.admin.get('/v1/deposits'), 200, 'deposits after restart'), depositsBefore);
  assert.deepEqual(await verifyLedger(k.admin), { ok: true, entries: 1, first_bad_seq: null, reason: null });
  const dup = expectStatus(await k.bank088.post('/v1/bank/deposits', n), 200, 'notice again after restart');
  assert.equal(dup.duplicate, true);
  assert.deepEqual(dup.deposit, paid.deposit);
  const replay = await issue(k.shop, { order_id: 'DUR-3', amount: 1, bank: '004' }, 'dur-key');
  expectStatus(replay, 201, 'issue after restart');
  assert.equal((await verifyLedger(k.admin)).entries, 1);
});

test('a pool load body between 64 KiB and the 4 MiB limit (10000 numbers) is accepted', async (t) => {
  const c = await setup(t, { perPool: 1 });
  const numbers = Array.from({ length: 10_000 }, (_, i) => String(7_100_000_000_000 + i));
  const body = JSON.stringify({ numbers });
  assert.ok(body.length > 65536 && body.length < 4194304, `body is ${body.length} bytes`);
  const res = await c.admin.request('POST', '/v1/pools/shop/004/daegu/numbers', { raw: body });
  const loaded = expectStatus(res, 200, `pool load of ${body.length} bytes`);
  assert.deepEqual(loaded, { loaded: 10_000, skipped: [] });
  assert.equal((await poolMap(c.admin))['shop/004/daegu'].free, 10_000);
});

test('SIGTERM makes varelayd exit 0 and print "stopped cleanly"', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const relay = await startRelay({ dataDir });
  t.after(() => relay.kill());
  assert.equal((await api(relay.url, null).get('/healthz')).status, 200);
  const { code, signal } = await relay.stop();
  assert.equal(code, 0);
  assert.equal(signal, null);
  assert.match(relay.stdout() + relay.stderr(), /varelayd: stopped cleanly/);
});
