// Proves a virtual-account payment works end to end over HTTP against a real varelayd: idempotent issue, pre-check, matching, duplicates, pools, quarantine reuse, late/unknown deposits, cancellations, metrics, restart durability and a clean SIGTERM.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import {
  ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, poolMap, removeDir,
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

  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 1, first_bad_seq: null, reason: null });
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
  assertProblem(await c.shop.post(`/v1/assignments/${a.id}/cancel`, {}, { headers: { 'Idempotency-Key': randomUUID() } }),
    409, 'assignment_not_cancellable', 'second cancel');
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

test('a deposit to an unknown number (or another bank\'s number) is booked as unknown_number with the whole amount parked', async (t) => {
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
  assert.deepEqual(await verifyLedger(c.admin), { ok: true, entries: 2, first_bad_seq: null, reason: null });
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

test('/healthz answers 200 without a key and /metrics exposes deposit outcomes and pool gauges', async (t) => {
  const c = await setup(t, { perPool: 3 });
  const health = await c.anon.get('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });
  const a = await issueOk(c.shop, { order_id: 'MET-1', amount: 100, bank: '004', region: 'seoul' });
  expectStatus(await c.bank004.post('/v1/bank/deposits', notice({ transaction_id: 'MET-PAY', number: a.number, amount: 100 })), 200, 'payment');
  const metrics = await c.anon.get('/metrics');
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
