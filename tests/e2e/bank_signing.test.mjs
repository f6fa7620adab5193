// Proves the JSON bank protocol's request signing: once a bank has a signing secret, unsigned,
// stale, or wrongly signed requests are refused with 401 and change nothing, signed ones pass,
// and banks without a secret are unaffected.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import {
  ADMIN_KEY, allDeposits, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, removeDir, seedDemo,
  startRelay,
} from './relay.mjs';

after(killAll);

/** A bank's signed request, as docs/openapi.yaml describes it; `tamper` alters what is signed. */
function signed(url, key, secret, { method = 'POST', path, body, timestamp, tamper = (s) => s }) {
  const ts = String(timestamp ?? Math.floor(Date.now() / 1000));
  const text = body === undefined ? '' : JSON.stringify(body);
  const signature = createHmac('sha256', secret).update(tamper(`${ts}.${method}.${path}.${text}`)).digest('hex');
  return api(url, key).request(method, path, {
    raw: body === undefined ? undefined : text,
    headers: { 'Varelay-Timestamp': ts, 'Varelay-Signature': `v1=${signature}` },
  });
}

test('a bank with a signing secret must sign: missing, stale and wrong signatures get 401 and book nothing; signed requests pass', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 2 });
  const admin = api(relay.url, ADMIN_KEY);
  const shop = api(relay.url, seed.keys.shop);
  const bank = api(relay.url, seed.keys.bank004);

  const issued = expectStatus(await shop.post('/v1/assignments', { order_id: 'SIG-1', amount: 5000, bank: '004' },
    { headers: { 'Idempotency-Key': 'sig-1' } }), 201, 'issue');
  const created = expectStatus(await admin.post('/v1/banks/004/signing-secret'), 201, 'signing secret');
  assert.match(created.signing_secret, /^bsk_[a-z2-7]{40}$/);
  const banks = expectStatus(await admin.get('/v1/banks'), 200, 'banks').items;
  assert.deepEqual(banks.map((b) => [b.code, b.protocol, b.signed_requests]), [['004', 'json', true], ['088', 'json', false]]);
  assertProblem(await api(relay.url, seed.keys.shop).post('/v1/banks/004/signing-secret'), 403, 'forbidden');
  assertProblem(await admin.post('/v1/banks/999/signing-secret'), 404, 'not_found');

  const secret = created.signing_secret;
  const notice = { transaction_id: 'SIG-TX-1', number: issued.number, amount: 5000, payer_name: 'Kim', deposited_at: nowRfc3339() };
  const path = '/v1/bank/deposits';
  assertProblem(await bank.post(path, notice), 401, 'signature_missing', 'unsigned');
  assertProblem(await signed(relay.url, seed.keys.bank004, secret, { path, body: notice, timestamp: Math.floor(Date.now() / 1000) - 400 }),
    401, 'signature_stale', 'stale');
  assertProblem(await signed(relay.url, seed.keys.bank004, 'bsk_wrong', { path, body: notice }), 401, 'signature_invalid', 'wrong key');
  assertProblem(await signed(relay.url, seed.keys.bank004, secret, { path, body: notice, tamper: (s) => s.replace('5000', '500') }),
    401, 'signature_invalid', 'signed another body');
  assertProblem(await signed(relay.url, seed.keys.bank004, secret, { path, body: notice, timestamp: 'yesterday' }),
    401, 'signature_invalid', 'not a number');
  assert.equal((await allDeposits(admin)).length, 0, 'no refused notice was booked');

  const ok = expectStatus(await signed(relay.url, seed.keys.bank004, secret, { path, body: notice }), 200, 'signed notice');
  assert.equal(ok.deposit.outcome, 'matched');
  const lookup = expectStatus(await signed(relay.url, seed.keys.bank004, secret, { method: 'GET', path: '/v1/deposits?order_id=SIG-1' }),
    200, 'signed GET with a query');
  assert.equal(lookup.items.length, 1);

  // Bank 088 has no secret: unsigned requests still pass.
  const pre = expectStatus(await api(relay.url, seed.keys.bank088).post('/v1/bank/precheck',
    { number: seed.numbers['088'].seoul[0], amount: 1000 }), 200, 'unsigned 088 precheck');
  assert.equal(pre.accept, false);

  // A new secret replaces the old one at once, and survives a restart.
  const rotated = expectStatus(await admin.post('/v1/banks/004/signing-secret'), 201, 'rotate').signing_secret;
  assert.notEqual(rotated, secret);
  await relay.kill();
  const again = await startRelay({ dataDir });
  t.after(() => again.kill());
  const precheck = { number: issued.number, amount: 5000 };
  assertProblem(await signed(again.url, seed.keys.bank004, secret, { path: '/v1/bank/precheck', body: precheck }), 401, 'signature_invalid');
  expectStatus(await signed(again.url, seed.keys.bank004, rotated, { path: '/v1/bank/precheck', body: precheck }), 200, 'new secret');
});
