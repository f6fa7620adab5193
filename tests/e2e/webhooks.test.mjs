// Proves merchant webhooks keep the contract of docs/webhooks.md against a real varelayd and a receiver verifying with the npm standardwebhooks package: every event type, signatures and secret rotation, the endpoint API, per-number order and exactly-once-after-dedupe through an outage and a SIGKILL, 410, exhausted retries and resend, per-merchant isolation, HTTPS trust, and the replay cursor.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebhookVerificationError } from 'standardwebhooks';

import {
  ADMIN_KEY, BANKS, REGIONS, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, removeDir, seedDemo,
  startRelay, waitFor,
} from './relay.mjs';
import { assertVerified, closeAllReceivers, randomSecret, startReceiver, verifiesWith, verifyDelivery } from './receiver.mjs';

after(async () => {
  await killAll();
  await closeAllReceivers();
});

const EVENT_ID = /^evt_[0-9a-z]{20}$/;
const ENDPOINT_ID = /^whe_[0-9a-z]{20}$/;
const SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
const SIGNATURE = /^v1,[A-Za-z0-9+/]{43}=$/;  // base64 of an HMAC-SHA256
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const EVENT_TYPES = [
  'assignment.created', 'deposit.matched', 'deposit.partial', 'deposit.unmatched', 'deposit.late', 'deposit.cancelled',
  'assignment.expired', 'assignment.cancelled',
];
const ASSIGNMENT_MEMBERS = ['id', 'order_id', 'amount', 'currency', 'amount_paid', 'status', 'due_at', 'closed_at'];
const DEPOSIT_MEMBERS = ['id', 'transaction_id', 'amount', 'currency', 'payer_name', 'outcome', 'parked_amount', 'deposited_at', 'received_at', 'status', 'cancelled_at'];

// Plain HTTP and loopback targets are refused by default; the receivers listen on http(s)://127.0.0.1:<port>.
// Receivers listen on loopback on a port the system picks: allow plain http there, the loopback range and any port.
const ALLOW_LOCAL = ['--webhook-allow-http', '127.0.0.1,localhost', '--webhook-allow-network', '127.0.0.0/8',
  '--webhook-allowed-ports', '1024-65535'];
// 25 attempts over about 11.5 s: short enough for an outage of a second or two, long enough never to run out during one.
const OUTAGE_SCHEDULE = ['--webhook-retry-schedule', ['100ms', '200ms', '300ms', '400ms', ...Array(20).fill('500ms')].join(',')];

// Where docs/webhooks.md names no code, the relay's general rules apply (docs/openapi.yaml, Conventions):
// an unknown member is 400 unknown_field, a bad value (body or query) 400 invalid_field.
const UNKNOWN_FIELD = [400, 'unknown_field'];
const BAD_VALUE = [400, 'invalid_field'];

const POLL = { intervalMs: 50 };

// A fresh data dir, a running relay with `args` and the demo set-up; everything is torn down after the test.
async function setup(t, { args = ALLOW_LOCAL, perPool = 3 } = {}) {
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
    relay, dataDir, relays, args, ...seed,
    clients(url) {
      return {
        admin: api(url, ADMIN_KEY),
        shop: api(url, seed.keys.shop),
        rival: api(url, seed.keys.rival),
        bank004: api(url, seed.keys.bank004),
        bank088: api(url, seed.keys.bank088),
      };
    },
  };
  Object.assign(ctx, ctx.clients(relay.url));
  return ctx;
}

const idem = () => ({ 'Idempotency-Key': randomUUID() });

async function issueOk(client, body) {
  return expectStatus(await client.post('/v1/assignments', body, { headers: idem() }), 201, `issue ${body.order_id}`);
}

async function cancelOk(client, assignment) {
  return expectStatus(await client.post(`/v1/assignments/${assignment.id}/cancel`, {}, { headers: idem() }), 200, `cancel ${assignment.order_id}`);
}

async function payOk(bankClient, number, amount, transactionId) {
  const res = await bankClient.post('/v1/bank/deposits', {
    transaction_id: transactionId, number, amount, currency: 'KRW', payer_name: 'Kim Minji', deposited_at: nowRfc3339(),
  });
  const receipt = expectStatus(res, 200, `deposit ${transactionId}`);
  assert.equal(receipt.duplicate, false);
  return receipt.deposit;
}

/** Starts a receiver, registers it as an endpoint of `client`'s merchant and gives the receiver its secret. */
async function addEndpoint(t, client, { https, event_types, description } = {}) {
  const receiver = await startReceiver({ https });
  t.after(() => receiver.close());
  const body = { url: receiver.url };
  if (event_types) body.event_types = event_types;
  if (description) body.description = description;
  const endpoint = expectStatus(await client.post('/v1/webhook-endpoints', body, { headers: idem() }), 201, 'POST /v1/webhook-endpoints');
  receiver.setSecret(endpoint.secret);
  return { receiver, endpoint, secret: endpoint.secret };
}

/** Every event visible to `client`, oldest first, paging with `after`. */
async function allEvents(client, query = '') {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const params = new URLSearchParams(query);
    params.set('limit', '500');
    if (cursor) params.set('after', cursor);
    const body = expectStatus(await client.get(`/v1/events?${params}`), 200, `GET /v1/events?${params}`);
    items.push(...body.items);
    if (body.next_after === null) return items;
    cursor = body.next_after;
  }
  throw new Error('too many event pages');
}

const deliveryTo = (event, endpointId) => event.deliveries.find((d) => d.endpoint_id === endpointId);

/** Polls GET /v1/events/{id} until `predicate(delivery to endpointId, event)` holds; returns the event. */
async function waitForEventDelivery(client, eventId, endpointId, predicate, { timeoutMs = 10_000, what = 'delivery state' } = {}) {
  return waitFor(async () => {
    const event = expectStatus(await client.get(`/v1/events/${eventId}`), 200, `GET /v1/events/${eventId}`);
    return predicate(deliveryTo(event, endpointId), event) ? event : false;
  }, { ...POLL, timeoutMs, what: `${what} of ${eventId} at ${endpointId}` });
}

/** Polls /v1/events until there are `count` events and each is delivered to `endpointId`; returns them. */
async function waitAllDelivered(client, endpointId, count, { timeoutMs = 10_000 } = {}) {
  return waitFor(async () => {
    const events = await allEvents(client);
    return events.length === count && events.every((e) => deliveryTo(e, endpointId)?.status === 'delivered') ? events : false;
  }, { ...POLL, timeoutMs, what: `${count} events delivered to ${endpointId}` });
}

/** Asserts that, per (bank, number), the deliveries carry sequence 1, 2, 3, ... in order of arrival. */
function assertSequenceOrder(deliveries, what) {
  const byNumber = new Map();
  for (const d of deliveries) {
    const key = `${d.body.data.bank}/${d.body.data.number}`;
    if (!byNumber.has(key)) byNumber.set(key, []);
    byNumber.get(key).push(d.body.data.sequence);
  }
  for (const [key, seqs] of byNumber) {
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${what}: number ${key} got its events in sequence order without gaps`);
  }
  return byNumber;
}

const pick = (obj, keys) => Object.fromEntries(keys.map((k) => [k, obj[k]]));

test('a full payment sends assignment.created then deposit.matched, each verified by standardwebhooks and sequenced 1, 2; /v1/events lists both as delivered with the delivered body as payload', async (t) => {
  const c = await setup(t);
  const { receiver, endpoint, secret } = await addEndpoint(t, c.shop);
  const a = await issueOk(c.shop, { order_id: 'WH-1', amount: 39000, bank: '004', region: 'seoul' });
  const deposit = await payOk(c.bank004, a.number, 39000, 'WH-1-PAY');
  const [created, matched] = await receiver.waitForDeliveries(2);

  for (const d of [created, matched]) {
    assertVerified(d);
    assert.deepEqual(verifyDelivery(d, secret), d.body, 'standardwebhooks accepts the message and returns its body');
    assert.equal(d.method, 'POST');
    assert.equal(d.path, receiver.path, 'posted to the path of the endpoint URL');
    assert.match(d.headers['content-type'], /^application\/json\b/);
    assert.match(d.headers['user-agent'], /^varelay-webhooks\//);
    assert.match(d.id, EVENT_ID);
    assert.ok(Number.isInteger(d.timestamp) && Math.abs(d.timestamp - Date.now() / 1000) < 60, `webhook-timestamp ${d.timestamp} is the Unix time of the attempt`);
    assert.equal(d.signatures.length, 1, 'one signature outside a rotation');
    assert.match(d.signatures[0], SIGNATURE);
    assert.deepEqual(Object.keys(d.body).sort(), ['data', 'timestamp', 'type']);
    assert.match(d.body.timestamp, TIMESTAMP);
    assert.equal(d.body.data.event_id, d.id, 'data.event_id equals webhook-id');
    assert.equal(d.body.data.merchant, 'shop');
    assert.equal(d.body.data.bank, '004');
    assert.equal(d.body.data.number, a.number);
    assert.equal(d.body.data.generation, a.generation);
    assert.equal(d.body.data.order_id, 'WH-1');
  }
  assert.notEqual(created.id, matched.id);

  assert.equal(created.body.type, 'assignment.created');
  assert.equal(created.body.data.sequence, 1);
  assert.deepEqual(pick(created.body.data.assignment, ASSIGNMENT_MEMBERS), pick(a, ASSIGNMENT_MEMBERS), 'the assignment as issued');
  assert.ok(created.body.data.deposit == null, 'an assignment event carries no deposit');

  const order = expectStatus(await c.shop.get('/v1/orders/WH-1'), 200, 'order');
  assert.equal(matched.body.type, 'deposit.matched');
  assert.equal(matched.body.data.sequence, 2);
  assert.deepEqual(pick(matched.body.data.assignment, ASSIGNMENT_MEMBERS), pick(order, ASSIGNMENT_MEMBERS), 'the assignment right after the deposit: paid');
  assert.equal(matched.body.data.assignment.amount_paid, 39000);
  assert.equal(matched.body.data.assignment.status, 'paid');
  assert.deepEqual(pick(matched.body.data.deposit, DEPOSIT_MEMBERS), pick(deposit, DEPOSIT_MEMBERS), 'the deposit as booked');
  assert.equal(matched.body.data.deposit.outcome, 'matched');
  assert.equal(matched.body.data.deposit.to_merchant_amount, 39000);

  const events = await waitAllDelivered(c.shop, endpoint.id, 2);
  assert.deepEqual(events.map((e) => [e.id, e.type]), [[created.id, 'assignment.created'], [matched.id, 'deposit.matched']], 'oldest first');
  for (const [e, d] of [[events[0], created], [events[1], matched]]) {
    assert.deepEqual(pick(e, ['merchant', 'bank', 'number', 'sequence', 'generation', 'order_id']),
      pick(d.body.data, ['merchant', 'bank', 'number', 'sequence', 'generation', 'order_id']));
    assert.match(e.created_at, TIMESTAMP);
    assert.deepEqual(e.payload, d.body, 'payload is the exact message body that was delivered');
    assert.equal(e.deliveries.length, 1, 'one delivery: one endpoint');
    const del = e.deliveries[0];
    assert.equal(del.endpoint_id, endpoint.id);
    assert.equal(del.status, 'delivered');
    assert.equal(del.attempts, 1);
    assert.equal(del.last_status, 204, 'the status the receiver answered');
    assert.equal(del.last_error, null);
    assert.match(del.last_attempt_at, TIMESTAMP);
    assert.match(del.delivered_at, TIMESTAMP);
    assert.deepEqual(expectStatus(await c.shop.get(`/v1/events/${e.id}`), 200, `GET /v1/events/${e.id}`), e, 'GET /v1/events/{id} answers the listed event');
  }
  assertProblem(await c.shop.get('/v1/events/evt_aaaaaaaaaaaaaaaaaaaa'), 404, 'not_found', 'no such event');
  assert.equal(receiver.deliveries.length, 2, 'a healthy receiver gets each event once');
});

test('every event type is sent: deposit.partial/matched (accumulate), deposit.unmatched (amount_mismatch; not_assigned with order_id null), deposit.late, deposit.cancelled, assignment.expired on its own at the due time, assignment.cancelled', async (t) => {
  const c = await setup(t);
  const { receiver, endpoint } = await addEndpoint(t, c.shop);
  const expectedOrder = [];

  // Expiry first and alone: no request reaches the relay while we wait, so the relay sends it by itself.
  const exp = await issueOk(c.shop, { order_id: 'EV-EXP', amount: 1000, bank: '004', region: 'busan', expires_in_s: 1 });
  const expired = await receiver.waitForType('assignment.expired', { timeoutMs: 10_000 });
  const dueMs = Date.parse(exp.due_at);
  assert.equal(dueMs - Date.parse(exp.created_at), 1000, 'expires_in_s: 1 sets the due time one second ahead');
  assert.ok(expired.receivedAt >= dueMs - 1000 && expired.receivedAt <= dueMs + 3000,
    `assignment.expired sent at the due time (due ${exp.due_at}, received ${new Date(expired.receivedAt).toISOString()})`);
  assert.equal(expired.body.data.order_id, 'EV-EXP');
  assert.equal(expired.body.data.assignment.status, 'expired');
  assert.equal(expired.body.data.assignment.closed_at, exp.due_at, 'an expired assignment closes at its due time');
  expectedOrder.push(['EV-EXP', 'assignment.created'], ['EV-EXP', 'assignment.expired']);

  // deposit.partial, then deposit.matched when the total is reached.
  const acc = await issueOk(c.shop, { order_id: 'EV-ACC', amount: 10000, bank: '004', region: 'seoul', amount_rule: { type: 'accumulate' } });
  const part1 = await payOk(c.bank004, acc.number, 4000, 'EV-ACC-1');
  assert.equal(part1.outcome, 'partial');
  const part2 = await payOk(c.bank004, acc.number, 6000, 'EV-ACC-2');
  assert.equal(part2.outcome, 'matched');
  expectedOrder.push(['EV-ACC', 'assignment.created'], ['EV-ACC', 'deposit.partial'], ['EV-ACC', 'deposit.matched']);

  // deposit.unmatched: a wrong amount on an exact order...
  const mm = await issueOk(c.shop, { order_id: 'EV-MM', amount: 5000, bank: '004', region: 'seoul' });
  assert.equal((await payOk(c.bank004, mm.number, 4999, 'EV-MM-1')).outcome, 'amount_mismatch');
  expectedOrder.push(['EV-MM', 'assignment.created'], ['EV-MM', 'deposit.unmatched']);
  // ... and money on a pooled number that is on no order (088/busan is never issued from in this test).
  const free = c.numbers['088'].busan[2];
  assert.equal((await payOk(c.bank088, free, 77, 'EV-FREE-1')).outcome, 'not_assigned');
  expectedOrder.push([null, 'deposit.unmatched']);

  // deposit.late: a second payment after the order was paid.
  const late = await issueOk(c.shop, { order_id: 'EV-LATE', amount: 3000, bank: '088', region: 'seoul' });
  await payOk(c.bank088, late.number, 3000, 'EV-LATE-1');
  assert.equal((await payOk(c.bank088, late.number, 3000, 'EV-LATE-2')).outcome, 'late');
  expectedOrder.push(['EV-LATE', 'assignment.created'], ['EV-LATE', 'deposit.matched'], ['EV-LATE', 'deposit.late']);

  // deposit.cancelled: the bank cancels the second part of the accumulate order.
  expectStatus(await c.bank004.post('/v1/bank/cancellations', { transaction_id: 'EV-ACC-2-C', original_transaction_id: 'EV-ACC-2', cancelled_at: nowRfc3339() }), 200, 'cancellation');
  expectedOrder.push(['EV-ACC', 'deposit.cancelled']);

  // assignment.cancelled: the merchant cancels an unpaid order.
  const can = await issueOk(c.shop, { order_id: 'EV-CAN', amount: 2000, bank: '004', region: 'busan' });
  await cancelOk(c.shop, can);
  expectedOrder.push(['EV-CAN', 'assignment.created'], ['EV-CAN', 'assignment.cancelled']);

  const got = await receiver.waitForUnique(expectedOrder.length);
  for (const d of got) assertVerified(d, d.body?.type);
  assert.deepEqual([...new Set(got.map((d) => d.body.type))].sort(), [...EVENT_TYPES].sort(), 'all eight event types were sent');
  assert.equal(receiver.deliveries.length, expectedOrder.length, 'a healthy receiver gets each event once');
  assertSequenceOrder(got, 'healthy receiver');
  const one = (orderId, type) => {
    const found = got.filter((d) => d.body.data.order_id === orderId && d.body.type === type);
    assert.equal(found.length, 1, `one ${type} for ${orderId}`);
    return found[0].body.data;
  };

  const partial = one('EV-ACC', 'deposit.partial');
  assert.equal(partial.sequence, 2);
  assert.deepEqual(pick(partial.deposit, DEPOSIT_MEMBERS), pick(part1, DEPOSIT_MEMBERS));
  assert.equal(partial.deposit.to_merchant_amount, 4000);
  assert.deepEqual(pick(partial.assignment, ['amount_paid', 'status']), { amount_paid: 4000, status: 'open' });
  const accMatched = one('EV-ACC', 'deposit.matched');
  assert.equal(accMatched.sequence, 3);
  assert.equal(accMatched.deposit.outcome, 'matched');
  assert.deepEqual(pick(accMatched.assignment, ['amount_paid', 'status']), { amount_paid: 10000, status: 'paid' });

  const mismatch = one('EV-MM', 'deposit.unmatched');
  assert.equal(mismatch.deposit.outcome, 'amount_mismatch');
  assert.equal(mismatch.deposit.parked_amount, 4999);
  assert.equal(mismatch.deposit.to_merchant_amount, 0);
  assert.equal(mismatch.assignment.id, mm.id);
  assert.deepEqual(pick(mismatch.assignment, ['amount_paid', 'status']), { amount_paid: 0, status: 'open' }, 'the order stays open');

  const notAssigned = one(null, 'deposit.unmatched');
  assert.equal(notAssigned.deposit.outcome, 'not_assigned');
  assert.equal(notAssigned.merchant, 'shop', "the pool's owner is told");
  assert.deepEqual(pick(notAssigned, ['bank', 'number', 'generation', 'order_id', 'assignment', 'sequence']),
    { bank: '088', number: free, generation: 0, order_id: null, assignment: null, sequence: 1 }, 'a number never assigned: generation 0, no order');
  assert.equal(notAssigned.deposit.parked_amount, 77);

  const lateData = one('EV-LATE', 'deposit.late');
  assert.equal(lateData.sequence, 3);
  assert.equal(lateData.generation, late.generation, 'attributed to the order the number last served');
  assert.equal(lateData.deposit.outcome, 'late');
  assert.equal(lateData.deposit.parked_amount, 3000);
  assert.equal(lateData.assignment.id, late.id);
  assert.equal(lateData.assignment.amount_paid, 3000, 'late money is not credited');

  const cancelled = one('EV-ACC', 'deposit.cancelled');
  assert.equal(cancelled.sequence, 4);
  assert.equal(cancelled.deposit.id, part2.id);
  assert.equal(cancelled.deposit.status, 'cancelled');
  assert.match(cancelled.deposit.cancelled_at, TIMESTAMP);
  const accNow = expectStatus(await c.shop.get('/v1/orders/EV-ACC'), 200, 'EV-ACC');
  assert.equal(accNow.amount_paid, 4000, 'the cancelled part no longer counts');
  assert.deepEqual(pick(cancelled.assignment, ASSIGNMENT_MEMBERS), pick(accNow, ASSIGNMENT_MEMBERS), 'the assignment right after the cancellation');

  const asgCancelled = one('EV-CAN', 'assignment.cancelled');
  assert.equal(asgCancelled.sequence, 2);
  assert.equal(asgCancelled.assignment.status, 'cancelled');
  assert.match(asgCancelled.assignment.closed_at, TIMESTAMP);
  assert.ok(asgCancelled.deposit == null);

  const events = await waitAllDelivered(c.shop, endpoint.id, expectedOrder.length);
  assert.deepEqual(events.map((e) => [e.order_id, e.type]), expectedOrder, '/v1/events lists the events in the order they were written');
  const byId = new Map(got.map((d) => [d.id, d.body]));
  for (const e of events) assert.deepEqual(e.payload, byId.get(e.id), `payload of ${e.type} ${e.id} is the delivered body`);
});

test('webhook endpoints: create (201, secret shown once, Idempotency-Key required), list, get, patch (event_types filter honoured, disable stops deliveries, enable), delete; 404 for another merchant; refused URLs, event types and fields', async (t) => {
  const c = await setup(t);
  const control = await addEndpoint(t, c.shop, { description: 'control' });
  const rf = await startReceiver();
  t.after(() => rf.close());

  assertProblem(await c.shop.post('/v1/webhook-endpoints', { url: rf.url }), 400, 'idempotency_key_missing', 'create without an Idempotency-Key');
  const ep = expectStatus(await c.shop.post('/v1/webhook-endpoints', { url: rf.url, description: 'orders' }, { headers: idem() }), 201, 'create');
  assert.match(ep.id, ENDPOINT_ID);
  assert.equal(ep.url, rf.url);
  assert.deepEqual(ep.event_types, ['*'], 'all event types by default');
  assert.equal(ep.enabled, true);
  assert.equal(ep.disabled_reason, null);
  assert.equal(ep.description, 'orders');
  assert.match(ep.created_at, TIMESTAMP);
  assert.equal(ep.previous_secret_expires_at, null);
  assert.match(ep.secret, SECRET);
  assert.ok(Buffer.from(ep.secret.slice('whsec_'.length), 'base64').length >= 24, 'the secret holds at least 24 random bytes');
  assert.notEqual(ep.secret, control.secret, 'each endpoint has its own secret');
  rf.setSecret(ep.secret);
  const { secret: _shownOnce, ...shown } = ep;

  const got = expectStatus(await c.shop.get(`/v1/webhook-endpoints/${ep.id}`), 200, 'get');
  assert.deepEqual(got, shown, 'GET answers the endpoint without its secret');
  const list = expectStatus(await c.shop.get('/v1/webhook-endpoints'), 200, 'list');
  assert.deepEqual(list.items.map((e) => e.id).sort(), [control.endpoint.id, ep.id].sort());
  for (const item of list.items) assert.ok(!('secret' in item), 'the list shows no secret');
  assert.deepEqual(list.items.find((e) => e.id === ep.id), shown);

  // Another merchant: 404, exactly as if it did not exist.
  assertProblem(await c.rival.get(`/v1/webhook-endpoints/${ep.id}`), 404, 'not_found', "rival GETs shop's endpoint");
  assertProblem(await c.rival.patch(`/v1/webhook-endpoints/${ep.id}`, { enabled: false }), 404, 'not_found', "rival PATCHes shop's endpoint");
  assertProblem(await c.rival.del(`/v1/webhook-endpoints/${ep.id}`), 404, 'not_found', "rival DELETEs shop's endpoint");
  assertProblem(await c.rival.post(`/v1/webhook-endpoints/${ep.id}/rotate-secret`, {}, { headers: idem() }), 404, 'not_found', "rival rotates shop's secret");
  assert.deepEqual(expectStatus(await c.rival.get('/v1/webhook-endpoints'), 200, "rival's list").items, [], "rival sees none of shop's endpoints");
  assert.deepEqual(expectStatus(await c.shop.get(`/v1/webhook-endpoints/${ep.id}`), 200, 'after the rival').enabled, true, 'untouched');

  // event_types: subscribed to deposit.matched only.
  const patched = expectStatus(await c.shop.patch(`/v1/webhook-endpoints/${ep.id}`, { event_types: ['deposit.matched'] }), 200, 'patch event_types');
  assert.deepEqual(patched, { ...shown, event_types: ['deposit.matched'] });
  const a = await issueOk(c.shop, { order_id: 'EP-1', amount: 1000, bank: '004', region: 'seoul' });
  await payOk(c.bank004, a.number, 1000, 'EP-1-PAY');
  const m = await rf.waitForType('deposit.matched');
  assertVerified(m);
  await control.receiver.waitForType('deposit.matched');
  // Per endpoint and number the order is kept, so an assignment.created would have arrived before this deposit.matched.
  assert.deepEqual(rf.deliveries.map((d) => d.body.type), ['deposit.matched'], 'the filtered endpoint got no assignment.created');
  const createdEvent = (await allEvents(c.shop, 'type=assignment.created')).find((e) => e.order_id === 'EP-1');
  assert.equal(deliveryTo(createdEvent, ep.id), undefined, 'no delivery of assignment.created to the filtered endpoint');
  assert.equal(deliveryTo(createdEvent, control.endpoint.id)?.status, 'delivered');

  // Disabled by the merchant: no deliveries, disabled_reason stays null.
  const off = expectStatus(await c.shop.patch(`/v1/webhook-endpoints/${ep.id}`, { enabled: false, event_types: ['*'] }), 200, 'disable');
  assert.deepEqual(off, { ...shown, enabled: false, disabled_reason: null });
  const b = await issueOk(c.shop, { order_id: 'EP-2', amount: 1000, bank: '004', region: 'seoul' });
  await payOk(c.bank004, b.number, 1000, 'EP-2-PAY');
  const ctl = await control.receiver.waitForMatch((d) => d.body?.type === 'deposit.matched' && d.body.data.order_id === 'EP-2');
  const disabledEvent = expectStatus(await c.shop.get(`/v1/events/${ctl.id}`), 200, 'EP-2 deposit.matched');
  assert.equal(deliveryTo(disabledEvent, ep.id), undefined, 'a disabled endpoint is not sent new events');
  assert.equal(rf.deliveries.length, 1, 'the disabled endpoint received nothing more');

  // Enabled again, description changed; a URL that would be refused at creation is refused here too.
  const on = expectStatus(await c.shop.patch(`/v1/webhook-endpoints/${ep.id}`, { enabled: true, description: 'orders again' }), 200, 'enable');
  assert.deepEqual(on, { ...shown, description: 'orders again' });
  assertProblem(await c.shop.patch(`/v1/webhook-endpoints/${ep.id}`, { url: 'ftp://127.0.0.1/hooks' }), 422, 'webhook_url_refused', 'PATCH to a refused url');
  assertProblem(await c.shop.patch(`/v1/webhook-endpoints/${ep.id}`, { colour: 'red' }), ...UNKNOWN_FIELD, 'PATCH with an unknown field');
  assert.deepEqual(expectStatus(await c.shop.get(`/v1/webhook-endpoints/${ep.id}`), 200, 'after refused patches'), on, 'refused patches change nothing');

  // Delete.
  const del = await c.shop.del(`/v1/webhook-endpoints/${ep.id}`);
  assert.ok(del.status === 200 || del.status === 204, `DELETE answered ${del.status}: ${del.text}`);
  assertProblem(await c.shop.get(`/v1/webhook-endpoints/${ep.id}`), 404, 'not_found', 'GET after DELETE');
  assertProblem(await c.shop.del(`/v1/webhook-endpoints/${ep.id}`), 404, 'not_found', 'DELETE again');
  assert.deepEqual(expectStatus(await c.shop.get('/v1/webhook-endpoints'), 200, 'list after delete').items.map((e) => e.id), [control.endpoint.id]);

  // Refused at creation; nothing is created.
  const refused = [
    ['ftp://127.0.0.1/hooks', 'not http(s)'],
    ['http://example.com/hooks', 'plain http to a host not in --webhook-allow-http'],
    ['https://10.0.0.1/hooks', 'a private literal address'],
    ['https://169.254.169.254/latest', 'a link-local literal address'],
    ['https://100.64.0.1/hooks', 'a shared (100.64/10) literal address'],
    ['https://0.0.0.0/hooks', 'the unspecified address'],
    ['https://224.0.0.1/hooks', 'a multicast address'],
    ['https://[::1]/hooks', 'IPv6 loopback, not in --webhook-allow-network'],
    ['https://[2001::a00:1]/hooks', 'a Teredo address (2001::/32)'],
    ['https://hooks.example.com:22/hooks', 'a port neither 443, 80 nor in --webhook-allowed-ports'],
    ['https://user:pass@hooks.example.com/hooks', 'user information'],
    ['https://hooks.example.com/hooks#frag', 'a fragment'],
    ['hooks.example.com/hooks', 'not absolute'],
  ];
  for (const [url, why] of refused) {
    assertProblem(await c.shop.post('/v1/webhook-endpoints', { url }, { headers: idem() }), 422, 'webhook_url_refused', `${url} (${why})`);
  }
  assertProblem(await c.shop.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com/a', event_types: ['deposit.matched', 'deposit.bounced'] }, { headers: idem() }),
    ...BAD_VALUE, 'an unknown event type');
  assertProblem(await c.shop.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com/a', secret: randomSecret() }, { headers: idem() }),
    ...UNKNOWN_FIELD, 'a secret chosen by the client');
  assertProblem(await c.shop.post('/v1/webhook-endpoints', { description: 'no url' }, { headers: idem() }), 400, 'missing_field', 'no url');
  assert.deepEqual(expectStatus(await c.shop.get('/v1/webhook-endpoints'), 200, 'list after refusals').items.map((e) => e.id), [control.endpoint.id], 'nothing was created');

  // A public https host name is accepted: it is resolved (and checked) at each attempt, not at creation.
  const pub = expectStatus(await c.shop.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com/varelay', event_types: ['assignment.expired'] }, { headers: idem() }), 201, 'https host name');
  assert.deepEqual(pub.event_types, ['assignment.expired']);
});

test('after an outage every event arrives exactly once per webhook-id, each number in sequence order without gaps, later events held back until earlier ones are delivered; deliveries end delivered after retries', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, ...OUTAGE_SCHEDULE] });
  const { receiver, endpoint } = await addEndpoint(t, c.shop);
  await receiver.down();

  const n1 = await issueOk(c.shop, { order_id: 'OUT-1', amount: 10000, bank: '004', region: 'seoul', amount_rule: { type: 'accumulate' } });
  await payOk(c.bank004, n1.number, 4000, 'OUT-1-A');
  await payOk(c.bank004, n1.number, 6000, 'OUT-1-B');
  const n2 = await issueOk(c.shop, { order_id: 'OUT-2', amount: 2000, bank: '088', region: 'seoul' });
  await payOk(c.bank088, n2.number, 2000, 'OUT-2-A');
  await payOk(c.bank088, n2.number, 2000, 'OUT-2-B');
  const n3 = await issueOk(c.shop, { order_id: 'OUT-3', amount: 3000, bank: '004', region: 'busan' });
  await cancelOk(c.shop, n3);
  const written = await allEvents(c.shop);
  assert.equal(written.length, 8, `8 events written: ${written.map((e) => e.type)}`);

  // The relay found the receiver down: each number's first event failed at least twice, the later ones wait.
  const during = await waitFor(async () => {
    const events = await allEvents(c.shop);
    const firsts = events.filter((e) => e.sequence === 1);
    return firsts.length === 3 && firsts.every((e) => deliveryTo(e, endpoint.id)?.attempts >= 2) ? events : false;
  }, { ...POLL, timeoutMs: 10_000, what: 'two failed attempts of each first event' });
  for (const e of during) {
    const d = deliveryTo(e, endpoint.id);
    assert.equal(d.status, 'pending', `${e.order_id} ${e.type} is pending during the outage`);
    if (e.sequence === 1) {
      assert.equal(d.last_status, null, 'a refused connection has no HTTP status');
      assert.ok(d.last_error, 'the refused connection is reported in last_error');
    } else {
      assert.equal(d.attempts, 0, `${e.order_id} ${e.type} is not attempted before the earlier events of its number`);
    }
  }
  assert.equal(receiver.deliveries.length, 0);

  await receiver.up();
  const unique = await receiver.waitForUnique(8, { timeoutMs: 15_000 });
  for (const d of receiver.deliveries) assertVerified(d, d.body?.type);
  assert.deepEqual(unique.map((d) => d.id).sort(), written.map((e) => e.id).sort(), 'every written event arrived, and nothing else');
  assertSequenceOrder(unique, 'after the outage');

  const events = await waitAllDelivered(c.shop, endpoint.id, 8, { timeoutMs: 15_000 });
  for (const e of events) {
    const d = deliveryTo(e, endpoint.id);
    assert.equal(d.last_status, 204);
    assert.match(d.delivered_at, TIMESTAMP);
    if (e.sequence === 1) assert.ok(d.attempts > 2, `${e.order_id}'s first event took ${d.attempts} attempts`);
  }
});

test('with --webhook-max-queued 3 an outage leaves newer deliveries in the store only: once the receiver is back every event still arrives exactly once, each number in sequence order', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, ...OUTAGE_SCHEDULE, '--webhook-max-queued', '3'] });
  const { receiver } = await addEndpoint(t, c.shop);
  await receiver.down();
  const orders = [['CAP-1', '004', 'seoul'], ['CAP-2', '088', 'seoul'], ['CAP-3', '004', 'busan'], ['CAP-4', '088', 'busan']];
  for (const [orderId, bank, region] of orders) {
    const a = await issueOk(c.shop, { order_id: orderId, amount: 1500, bank, region });
    await payOk(bank === '004' ? c.bank004 : c.bank088, a.number, 1500, `${orderId}-PAY`);
  }
  const written = await allEvents(c.shop);
  assert.equal(written.length, 8);
  const queued = await waitFor(async () => {
    const m = /^varelay_webhook_queued (\d+)$/m.exec((await api(c.relay.url, ADMIN_KEY).get('/metrics')).text);
    return m && Number(m[1]) > 0 ? Number(m[1]) : false;
  }, { ...POLL, what: 'deliveries queued' });
  assert.ok(queued <= 3, `at most 3 deliveries held in memory, saw ${queued}`);
  await receiver.up();
  const unique = await receiver.waitForUnique(8, { timeoutMs: 20_000 });
  assert.deepEqual(unique.map((d) => d.id).sort(), written.map((e) => e.id).sort(), 'every event arrived, nothing else');
  assertSequenceOrder(unique, 'with a bounded queue');
});

test('SIGKILL during an outage loses no event: the restarted relay (same data dir) delivers every pending event once the receiver is back', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, ...OUTAGE_SCHEDULE] });
  const { receiver, endpoint } = await addEndpoint(t, c.shop);
  await receiver.down();
  const orders = [['KILL-1', '004', 'seoul'], ['KILL-2', '088', 'seoul'], ['KILL-3', '004', 'busan']];
  for (const [orderId, bank, region] of orders) {
    const a = await issueOk(c.shop, { order_id: orderId, amount: 1500, bank, region });
    await payOk(bank === '004' ? c.bank004 : c.bank088, a.number, 1500, `${orderId}-PAY`);
  }
  const before = await allEvents(c.shop);
  assert.equal(before.length, 6);
  await waitFor(async () => (await allEvents(c.shop)).some((e) => deliveryTo(e, endpoint.id)?.attempts >= 1),
    { ...POLL, what: 'a failed attempt before the crash' });

  const { signal } = await c.relay.kill();
  assert.equal(signal, 'SIGKILL');
  const relay2 = await startRelay({ dataDir: c.dataDir, args: c.args });
  c.relays.push(relay2);
  await receiver.up();

  const unique = await receiver.waitForUnique(6, { timeoutMs: 15_000 });
  for (const d of receiver.deliveries) assertVerified(d, d.body?.type);
  assert.deepEqual(unique.map((d) => d.id).sort(), before.map((e) => e.id).sort(), 'every event written before the crash arrived');
  assertSequenceOrder(unique, 'after the restart');
  const k = c.clients(relay2.url);
  const afterRestart = await waitAllDelivered(k.shop, endpoint.id, 6, { timeoutMs: 15_000 });
  assert.deepEqual(afterRestart.map((e) => [e.id, e.payload]), before.map((e) => [e.id, e.payload]), 'the same events, same payloads, after the restart');
  for (const d of unique) assert.deepEqual(d.body, before.find((e) => e.id === d.id).payload);
});

test('410 Gone disables the endpoint (enabled false, disabled_reason "gone"), fails its pending deliveries and stops later ones; enabling clears the reason', async (t) => {
  const c = await setup(t);
  const gone = await addEndpoint(t, c.shop);
  const control = await addEndpoint(t, c.shop);
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  gone.receiver.respondWith(() => held.then(() => 410));

  const a = await issueOk(c.shop, { order_id: 'GONE-1', amount: 1000, bank: '004', region: 'seoul' });
  const [first] = await gone.receiver.waitForDeliveries(1);
  assertVerified(first);
  // While the first answer is held back, the deposit's event waits behind it for this endpoint.
  await payOk(c.bank004, a.number, 1000, 'GONE-1-PAY');
  const matched = await control.receiver.waitForType('deposit.matched', { orderId: 'GONE-1' });
  release();

  const ep = await waitFor(async () => {
    const e = expectStatus(await c.shop.get(`/v1/webhook-endpoints/${gone.endpoint.id}`), 200, 'gone endpoint');
    return e.enabled === false ? e : false;
  }, { ...POLL, what: 'the endpoint to be disabled by the 410' });
  assert.equal(ep.disabled_reason, 'gone');
  const createdEvent = await waitForEventDelivery(c.shop, first.id, gone.endpoint.id, (d) => d?.status === 'failed', { what: 'failed' });
  const d1 = deliveryTo(createdEvent, gone.endpoint.id);
  assert.equal(d1.last_status, 410);
  assert.equal(d1.attempts, 1, 'a 410 is not retried');
  const pendingOne = await waitForEventDelivery(c.shop, matched.id, gone.endpoint.id, (d) => d === undefined || d.status === 'failed', { what: 'failed or absent' });
  assert.notEqual(deliveryTo(pendingOne, gone.endpoint.id)?.status, 'delivered');

  await issueOk(c.shop, { order_id: 'GONE-2', amount: 1000, bank: '004', region: 'seoul' });
  const later = await control.receiver.waitForType('assignment.created', { orderId: 'GONE-2' });
  const laterEvent = expectStatus(await c.shop.get(`/v1/events/${later.id}`), 200, 'GONE-2 assignment.created');
  assert.ok(!laterEvent.deliveries.some((d) => d.endpoint_id === gone.endpoint.id && d.status !== 'failed'), 'nothing is queued for the disabled endpoint');
  assert.deepEqual(gone.receiver.deliveries.map((d) => d.id), [first.id], 'the gone receiver was sent nothing after the 410');

  const on = expectStatus(await c.shop.patch(`/v1/webhook-endpoints/${gone.endpoint.id}`, { enabled: true }), 200, 'enable again');
  assert.equal(on.enabled, true);
  assert.equal(on.disabled_reason, null, 'enabling clears disabled_reason');
});

test('retries exhausted: three attempts (schedule 100ms,200ms) answered 500 make the delivery failed with last_status 500; a resend after the fix delivers the same webhook-id and body', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, '--webhook-retry-schedule', '100ms,200ms'] });
  const { receiver, endpoint } = await addEndpoint(t, c.shop);
  receiver.respondWith(500);
  const a = await issueOk(c.shop, { order_id: 'RETRY-1', amount: 1000, bank: '004', region: 'seoul' });
  const [first] = await receiver.waitForDeliveries(1);
  const event = await waitForEventDelivery(c.shop, first.id, endpoint.id, (d) => d?.status === 'failed', { what: 'failed' });
  const d = deliveryTo(event, endpoint.id);
  assert.equal(d.attempts, 3, 'attempts = schedule length + 1');
  assert.equal(d.last_status, 500);
  assert.equal(d.delivered_at, null);
  assert.equal(d.next_attempt_at, null, 'nothing more is scheduled');
  assert.match(d.last_attempt_at, TIMESTAMP);
  const attempts = receiver.attemptsOf(first.id);
  assert.equal(attempts.length, 3);
  assert.equal(receiver.deliveries.length, 3);
  for (const at of attempts) {
    assertVerified(at);
    assert.equal(at.raw, first.raw, 'the body bytes are identical on every attempt');
  }
  assert.ok(attempts[1].receivedAt - attempts[0].receivedAt >= 80, `the second attempt waited about 100 ms (${attempts[1].receivedAt - attempts[0].receivedAt})`);
  assert.ok(attempts[2].receivedAt - attempts[1].receivedAt >= 170, `the third attempt waited about 200 ms (${attempts[2].receivedAt - attempts[1].receivedAt})`);

  assertProblem(await c.shop.post(`/v1/events/${first.id}/resend`, {}), 400, 'idempotency_key_missing', 'resend without an Idempotency-Key');
  assertProblem(await c.rival.post(`/v1/events/${first.id}/resend`, {}, { headers: idem() }), 404, 'not_found', "rival resends shop's event");
  assertProblem(await c.rival.get(`/v1/events/${first.id}`), 404, 'not_found', "rival reads shop's event");

  receiver.respondWith(200);
  const resent = await c.shop.post(`/v1/events/${first.id}/resend`, { endpoint_id: endpoint.id }, { headers: idem() });
  assert.ok(resent.status >= 200 && resent.status < 300, `resend answered ${resent.status}: ${resent.text}`);
  const [, , , fourth] = await receiver.waitForDeliveries(4);
  assertVerified(fourth);
  assert.equal(fourth.id, first.id, 'a resend carries the same webhook-id');
  assert.equal(fourth.raw, first.raw, 'and the same body bytes');
  await waitForEventDelivery(c.shop, first.id, endpoint.id, (x) => x?.status === 'delivered', { what: 'delivered' });

  // The failed event no longer holds back its number: the payment's event is delivered.
  await payOk(c.bank004, a.number, 1000, 'RETRY-1-PAY');
  const matched = await receiver.waitForType('deposit.matched');
  assertVerified(matched);
  assert.equal(matched.body.data.sequence, 2);

  const del = await c.shop.del(`/v1/webhook-endpoints/${endpoint.id}`);
  assert.ok(del.status === 200 || del.status === 204, `DELETE answered ${del.status}: ${del.text}`);
  assertProblem(await c.shop.request('POST', `/v1/events/${first.id}/resend`, { headers: idem() }), 409, 'no_endpoint', 'resend with no endpoint left');
});

test('Retry-After on a failed attempt postpones the next attempt to at least that time, beyond a shorter schedule delay', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, '--webhook-retry-schedule', '100ms,100ms'] });
  const { receiver, endpoint } = await addEndpoint(t, c.shop);
  receiver.respondWith((d) => (receiver.attemptsOf(d.id).length === 1 ? { status: 503, headers: { 'retry-after': '1' } } : 204));
  await issueOk(c.shop, { order_id: 'RA-1', amount: 1000, bank: '004' });
  const [first, second] = await receiver.waitForDeliveries(2, { timeoutMs: 5000 });
  assert.equal(first.answered, 503);
  assert.equal(second.id, first.id);
  assertVerified(second);
  const gap = second.receivedAt - first.answeredAt;
  assert.ok(gap >= 900, `the retry waited for Retry-After: 1 s, not the 100 ms of the schedule (waited ${gap} ms)`);
  const event = await waitForEventDelivery(c.shop, first.id, endpoint.id, (d) => d?.status === 'delivered', { what: 'delivered' });
  assert.equal(deliveryTo(event, endpoint.id).attempts, 2);
});

test('sequence counts per number across its generations: a number reused after quarantine continues 3, 4 with generation 2', async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, '--quarantine', '0'] });
  const { receiver } = await addEndpoint(t, c.shop);
  const only = '9004555000001';
  expectStatus(await c.admin.post('/v1/pools/shop/004/jeju/numbers', { numbers: [only] }), 200, 'load a one-number pool');
  const first = await issueOk(c.shop, { order_id: 'GEN-1', amount: 1000, bank: '004', region: 'jeju' });
  await cancelOk(c.shop, first);
  await waitFor(async () => {
    const pools = expectStatus(await c.admin.get('/v1/pools'), 200, 'pools').items;
    return pools.find((p) => p.merchant === 'shop' && p.region === 'jeju')?.free === 1;
  }, { ...POLL, what: 'the number to be free again' });
  const second = await issueOk(c.shop, { order_id: 'GEN-2', amount: 2000, bank: '004', region: 'jeju' });
  assert.equal(second.number, only);
  assert.equal(second.generation, 2);
  await payOk(c.bank004, only, 2000, 'GEN-2-PAY');

  const got = await receiver.waitForUnique(4);
  for (const d of got) assertVerified(d, d.body?.type);
  assert.deepEqual(got.map((d) => [d.body.type, d.body.data.order_id, d.body.data.generation, d.body.data.sequence]), [
    ['assignment.created', 'GEN-1', 1, 1],
    ['assignment.cancelled', 'GEN-1', 1, 2],
    ['assignment.created', 'GEN-2', 2, 3],
    ['deposit.matched', 'GEN-2', 2, 4],
  ]);
});

test('a delivery verifies only with its own endpoint secret: another endpoint\'s or a random whsec secret, a changed body or a changed id fail; a receiver with the wrong secret answers 400 and the relay retries', async (t) => {
  const c = await setup(t);
  const one = await addEndpoint(t, c.shop);
  const two = await addEndpoint(t, c.shop);
  const wrong = await startReceiver({ secret: randomSecret() });
  t.after(() => wrong.close());
  const third = expectStatus(await c.shop.post('/v1/webhook-endpoints', { url: wrong.url }, { headers: idem() }), 201, 'endpoint whose receiver has the wrong secret');

  await issueOk(c.shop, { order_id: 'SIG-1', amount: 1000, bank: '004' });
  const [d1] = await one.receiver.waitForDeliveries(1);
  const [d2] = await two.receiver.waitForDeliveries(1);
  assertVerified(d1);
  assertVerified(d2);
  assert.equal(d1.id, d2.id, 'one event, one webhook-id at every endpoint');
  assert.equal(d1.raw, d2.raw, 'the same body bytes at every endpoint');
  assert.notEqual(d1.headers['webhook-signature'], d2.headers['webhook-signature'], 'signed with different secrets');

  assert.throws(() => verifyDelivery(d1, two.secret), WebhookVerificationError, "another endpoint's secret");
  assert.throws(() => verifyDelivery(d1, randomSecret()), WebhookVerificationError, 'a random secret');
  assert.throws(() => verifyDelivery({ ...d1, raw: d1.raw.replace('SIG-1', 'SIG-2') }, one.secret), WebhookVerificationError, 'a changed body');
  assert.throws(() => verifyDelivery({ ...d1, headers: { ...d1.headers, 'webhook-id': 'evt_aaaaaaaaaaaaaaaaaaaa' } }, one.secret), WebhookVerificationError, 'a changed id');
  assert.ok(verifiesWith(d1, one.secret) && verifiesWith(d2, two.secret));

  const [d3] = await wrong.waitForDeliveries(1);
  assert.equal(d3.verified, false);
  assert.equal(d3.answered, 400);
  assert.ok(verifiesWith(d3, third.secret), 'it does verify with its own endpoint secret');
  await waitForEventDelivery(c.shop, d3.id, third.id, (d) => d?.last_status === 400, { what: 'last_status 400' });
  assert.equal(deliveryTo(expectStatus(await c.shop.get(`/v1/events/${d3.id}`), 200, 'event'), third.id).status, 'pending', 'a 400 is retried');
});

test('rotate-secret: the next delivery carries two v1 signatures that verify with the old and the new secret; with expire_previous_in_s 0 only the new secret verifies', async (t) => {
  const c = await setup(t);
  const { receiver, endpoint, secret: s1 } = await addEndpoint(t, c.shop);
  const rotatePath = `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`;

  await issueOk(c.shop, { order_id: 'ROT-1', amount: 1000, bank: '004' });
  const d1 = await receiver.waitForType('assignment.created', { orderId: 'ROT-1' });
  assertVerified(d1);
  assert.equal(d1.signatures.length, 1);

  assertProblem(await c.shop.post(rotatePath, {}), 400, 'idempotency_key_missing', 'rotate without an Idempotency-Key');
  const r1res = await c.shop.post(rotatePath, {}, { headers: idem() });
  assert.ok(r1res.status === 200 || r1res.status === 201, `rotate answered ${r1res.status}: ${r1res.text}`);
  const r1 = r1res.body;
  const s2 = r1.secret;
  assert.match(s2, SECRET);
  assert.notEqual(s2, s1);
  assert.equal(r1.id, endpoint.id);
  const overlapEnd = Date.parse(r1.previous_secret_expires_at);
  assert.ok(Math.abs(overlapEnd - (Date.now() + 86_400_000)) < 60_000, `the old secret signs for 86400 s by default (${r1.previous_secret_expires_at})`);
  const afterRotate = expectStatus(await c.shop.get(`/v1/webhook-endpoints/${endpoint.id}`), 200, 'endpoint after rotation');
  assert.ok(!('secret' in afterRotate));
  assert.equal(afterRotate.previous_secret_expires_at, r1.previous_secret_expires_at);
  receiver.setSecret(s2);

  await issueOk(c.shop, { order_id: 'ROT-2', amount: 1000, bank: '004' });
  const d2 = await receiver.waitForType('assignment.created', { orderId: 'ROT-2' });
  assertVerified(d2);
  assert.equal(d2.signatures.length, 2, `two signatures during the overlap: ${d2.headers['webhook-signature']}`);
  for (const s of d2.signatures) assert.match(s, SIGNATURE);
  assert.ok(verifiesWith(d2, s1), 'verifies with the old secret');
  assert.ok(verifiesWith(d2, s2), 'verifies with the new secret');

  for (const bad of [-1, 604801, 'soon']) {
    assertProblem(await c.shop.post(rotatePath, { expire_previous_in_s: bad }, { headers: idem() }), ...BAD_VALUE, `expire_previous_in_s ${bad}`);
  }
  const r2res = await c.shop.post(rotatePath, { expire_previous_in_s: 0 }, { headers: idem() });
  assert.ok(r2res.status === 200 || r2res.status === 201, `rotate answered ${r2res.status}: ${r2res.text}`);
  const s3 = r2res.body.secret;
  assert.match(s3, SECRET);
  assert.ok(s3 !== s1 && s3 !== s2);
  assert.equal(r2res.body.previous_secret_expires_at, null, 'no overlap');
  receiver.setSecret(s3);

  await issueOk(c.shop, { order_id: 'ROT-3', amount: 1000, bank: '004' });
  const d3 = await receiver.waitForType('assignment.created', { orderId: 'ROT-3' });
  assertVerified(d3);
  assert.equal(d3.signatures.length, 1, 'one signature once the previous secret ended');
  assert.ok(verifiesWith(d3, s3), 'verifies with the newest secret');
  assert.ok(!verifiesWith(d3, s2), 'not with the one it replaced');
  assert.ok(!verifiesWith(d3, s1), 'nor with the first');
});

test("a merchant whose receiver hangs delays only itself: with --webhook-timeout-ms 2000 and 10 hanging deliveries, another merchant's event arrives while they all still hang; the timeout is retried", async (t) => {
  const c = await setup(t, { args: [...ALLOW_LOCAL, '--webhook-timeout-ms', '2000'] });
  const slow = await addEndpoint(t, c.shop);
  slow.receiver.hang();
  const fast = await addEndpoint(t, c.rival);

  // Ten numbers, more than the 8 deliveries one merchant may have in flight.
  for (let i = 0; i < 10; i++) {
    await issueOk(c.shop, { order_id: `HANG-${i}`, amount: 1000, bank: BANKS[i % 2], region: REGIONS[Math.floor(i / 2) % 2] });
  }
  await waitFor(() => slow.receiver.pending().length >= 8, { intervalMs: 10, timeoutMs: 1500, what: "the shop's 8 in-flight deliveries to hang" });

  const rivalOrder = await issueOk(c.rival, { order_id: 'NOT-STUCK', amount: 500, bank: '004' });
  const got = await fast.receiver.waitForType('assignment.created', { timeoutMs: 1500 });
  assertVerified(got);
  assert.equal(got.body.data.assignment.id, rivalOrder.id);
  const hanging = slow.receiver.deliveries;
  assert.ok(hanging.length <= 8, `at most 8 deliveries in flight for one merchant (saw ${hanging.length})`);
  assert.ok(hanging.every((d) => d.answered === null && (d.closedAt === null || d.closedAt > got.receivedAt)),
    "the rival's event arrived while every shop delivery was still hanging");

  // The 2 s attempt timeout ends the hung attempts; they are pending, to be retried.
  const timedOut = await waitForEventDelivery(c.shop, hanging[0].id, slow.endpoint.id, (d) => d?.attempts >= 1 && d.last_error, { timeoutMs: 8000, what: 'a timed-out attempt' });
  const d = deliveryTo(timedOut, slow.endpoint.id);
  assert.equal(d.status, 'pending');
  assert.equal(d.last_status, null, 'no HTTP status: the receiver never answered');
  assert.ok(hanging[0].closedAt !== null, 'the relay closed the hung connection');
  assert.ok(hanging[0].closedAt - hanging[0].receivedAt >= 1500, `closed after about 2 s (${hanging[0].closedAt - hanging[0].receivedAt} ms)`);
});

test('HTTPS: a relay given --webhook-ca-file delivers to a receiver with a self-signed certificate for 127.0.0.1; a relay without it does not, and reports the certificate in last_error', async (t) => {
  const dir = makeTempDir('varelay-tls-');
  t.after(() => removeDir(dir));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'pipe' });
  const tls = { key: readFileSync(keyPath), cert: readFileSync(certPath) };

  const [trusting, plain] = await Promise.all([
    setup(t, { args: [...ALLOW_LOCAL, '--webhook-ca-file', certPath] }),
    setup(t, { args: ALLOW_LOCAL }),
  ]);
  const good = await addEndpoint(t, trusting.shop, { https: tls });
  const bad = await addEndpoint(t, plain.shop, { https: tls });
  assert.match(good.endpoint.url, /^https:\/\/127\.0\.0\.1:\d+\//);

  await issueOk(trusting.shop, { order_id: 'TLS-1', amount: 1000, bank: '004' });
  await issueOk(plain.shop, { order_id: 'TLS-1', amount: 1000, bank: '004' });

  const [d] = await good.receiver.waitForDeliveries(1);
  assertVerified(d);
  assert.equal(d.body.type, 'assignment.created');
  await waitForEventDelivery(trusting.shop, d.id, good.endpoint.id, (x) => x?.status === 'delivered', { what: 'delivered over https' });

  const [event] = await allEvents(plain.shop);
  const refused = await waitForEventDelivery(plain.shop, event.id, bad.endpoint.id, (x) => x?.attempts >= 1 && x.last_error, { what: 'a failed TLS attempt' });
  const x = deliveryTo(refused, bad.endpoint.id);
  assert.ok(x.status === 'pending' || x.status === 'failed', `status ${x.status}`);
  assert.equal(x.last_status, null, 'no HTTP exchange happened');
  assert.match(x.last_error, /certificate/i, 'last_error names the certificate');
  assert.equal(bad.receiver.deliveries.length, 0, 'no request reached the receiver');
});

test('replay: GET /v1/events pages oldest first with after/limit to next_after null, filters by type, shows another merchant none of them, shows an admin all with a merchant filter, refuses bad after and limit', async (t) => {
  const c = await setup(t);
  // No endpoint at all: events are still written and kept for replay.
  const expected = [];
  for (let i = 0; i < 3; i++) {
    const a = await issueOk(c.shop, { order_id: `REPLAY-${i}`, amount: 1000 + i, bank: '004', region: 'seoul' });
    await payOk(c.bank004, a.number, 1000 + i, `REPLAY-${i}-PAY`);
    expected.push([`REPLAY-${i}`, 'assignment.created'], [`REPLAY-${i}`, 'deposit.matched']);
  }
  const open = await issueOk(c.shop, { order_id: 'REPLAY-3', amount: 7, bank: '088' });
  await cancelOk(c.shop, open);
  expected.push(['REPLAY-3', 'assignment.created'], ['REPLAY-3', 'assignment.cancelled']);
  await issueOk(c.rival, { order_id: 'RIVAL-REPLAY', amount: 9, bank: '004' });

  const all = expectStatus(await c.shop.get('/v1/events?limit=500'), 200, 'all events');
  assert.equal(all.next_after, null);
  assert.deepEqual(all.items.map((e) => [e.order_id, e.type]), expected, 'oldest first, in the order written');
  for (const e of all.items) {
    assert.match(e.id, EVENT_ID);
    assert.equal(e.merchant, 'shop');
    assert.deepEqual(e.deliveries, [], 'no endpoint, no delivery');
    assert.equal(e.payload.data.event_id, e.id);
    assert.equal(e.payload.type, e.type);
  }

  const pages = [];
  let cursor = null;
  for (;;) {
    const body = expectStatus(await c.shop.get(`/v1/events?limit=2${cursor ? `&after=${cursor}` : ''}`), 200, `page after ${cursor}`);
    assert.ok(body.items.length > 0 && body.items.length <= 2, `a page of 1 or 2 (got ${body.items.length})`);
    pages.push(body.items);
    if (body.next_after === null) break;
    assert.equal(body.next_after, body.items.at(-1).id, 'next_after is the id of the last event on the page');
    cursor = body.next_after;
  }
  assert.equal(pages.length, 4, '8 events in pages of 2');
  assert.deepEqual(pages.flat(), all.items, 'the pages together are the whole list');
  const lastPage = expectStatus(await c.shop.get(`/v1/events?limit=1&after=${all.items.at(-2).id}`), 200, 'the last event alone');
  assert.deepEqual(lastPage, { items: [all.items.at(-1)], next_after: null }, 'the page holding the last event has next_after null');

  const matched = expectStatus(await c.shop.get('/v1/events?type=deposit.matched'), 200, 'type filter');
  assert.deepEqual(matched.items.map((e) => e.order_id), ['REPLAY-0', 'REPLAY-1', 'REPLAY-2']);
  assert.ok(matched.items.every((e) => e.type === 'deposit.matched'));

  const rivals = await allEvents(c.rival);
  assert.deepEqual(rivals.map((e) => [e.merchant, e.order_id, e.type]), [['rival', 'RIVAL-REPLAY', 'assignment.created']], 'rival sees only its own');
  assertProblem(await c.rival.get(`/v1/events/${all.items[0].id}`), 404, 'not_found', "rival reads shop's event");

  const everything = await allEvents(c.admin);
  assert.equal(everything.length, 9, 'an admin sees every merchant\'s events');
  assert.deepEqual(await allEvents(c.admin, 'merchant=shop'), all.items);
  assert.deepEqual((await allEvents(c.admin, 'merchant=rival')).map((e) => e.id), rivals.map((e) => e.id));

  for (const q of ['limit=0', 'limit=501', 'limit=ten', 'after=not-an-event-id']) {
    assertProblem(await c.shop.get(`/v1/events?${q}`), ...BAD_VALUE, `GET /v1/events?${q}`);
  }
});
