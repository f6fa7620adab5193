// Proves real-time issuance: on a contract in `realtime` mode the relay asks the bank for a fresh
// number at checkout (signed when the bank has a secret), registers and assigns it; when the bank
// fails or is slow it falls back to the pool, or answers 502 bank_unavailable without writing
// anything, a number the bank issues that is already in use is refused, and a bank that keeps
// failing is not called while its circuit is open.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, poolMap, removeDir, seedDemo, startRelay, waitFor } from './relay.mjs';

after(killAll);

/** The bank's issuing endpoint: answers with the next number from `numbers`, or as `mode` says. */
async function startIssuer() {
  const issuer = { numbers: [], requests: [], mode: 'ok', secret: null };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const ts = req.headers['varelay-timestamp'];
      const verified = issuer.secret
        ? req.headers['varelay-signature'] === `v1=${createHmac('sha256', issuer.secret).update(`${ts}.POST.${req.url}.${body}`).digest('hex')}`
        : undefined;
      issuer.requests.push({ body: JSON.parse(body), verified });
      if (issuer.mode === 'down') { res.writeHead(503); res.end(); return; }
      if (issuer.mode === 'slow') { setTimeout(() => { res.writeHead(200); res.end('{"number":"77799999999999"}'); }, 1500); return; }
      if (issuer.mode === 'garbage') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"num":1}'); return; }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ number: issuer.numbers.shift() }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${server.address().port}/virtual-accounts`;
  issuer.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return issuer;
}

test('real-time issuance: a fresh number from the bank, fallback to the pool, 502 without fallback, numbers in use refused', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--bank-breaker-failures', '6'] });
  const issuer = await startIssuer();
  t.after(async () => { await relay.kill(); await issuer.close(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1 });
  const admin = api(relay.url, ADMIN_KEY);
  const keys = {};
  for (const [merchant, fallback] of [['rt-a', true], ['rt-b', false]]) {
    expectStatus(await admin.post('/v1/merchants', { id: merchant, name: merchant }), 201);
    const contract = expectStatus(await admin.post(`/v1/merchants/${merchant}/contracts`, {
      bank: '004', mother_account: '100200300400', holder_name: merchant, issuance: 'realtime',
      realtime_url: issuer.url, realtime_timeout_ms: 500, fallback_to_pool: fallback,
    }), 201, 'realtime contract');
    assert.equal(contract.issuance, 'realtime');
    keys[merchant] = expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant }), 201).key;
  }
  assertProblem(await admin.post('/v1/merchants/rt-a/contracts', { bank: '088', mother_account: '100200300400',
    holder_name: 'x', issuance: 'realtime' }), 400, 'missing_field');
  const a = api(relay.url, keys['rt-a']);
  const b = api(relay.url, keys['rt-b']);
  const issue = (client, order) => client.post('/v1/assignments', { order_id: order, amount: 1000, bank: '004' },
    { headers: { 'Idempotency-Key': order } });
  issuer.secret = expectStatus(await admin.post('/v1/banks/004/signing-secret'), 201).signing_secret;

  issuer.numbers.push('77700000000001');
  const fresh = expectStatus(await issue(a, 'RT-1'), 201, 'real-time issue');
  assert.equal(fresh.number, '77700000000001');
  assert.equal(fresh.region, 'realtime');
  assert.deepEqual(issuer.requests.at(-1).body, {
    merchant: 'rt-a', bank: '004', mother_account: '100200300400', order_id: 'RT-1', amount: 1000, currency: 'KRW',
    due_at: fresh.due_at,
  });
  assert.equal(issuer.requests.at(-1).verified, true, 'the request is signed with the bank secret');
  assert.equal((await poolMap(admin))['rt-a/004/realtime'].assigned, 1);
  // The number works like any other: the bank pre-checks it.
  const pre = expectStatus(await api(relay.url, seed.keys.bank004).request('POST', '/v1/bank/precheck', { body: { number: fresh.number, amount: 1000 } }), 401);
  assert.equal(pre.code, 'signature_missing', 'the bank must sign now');

  // The bank is down: rt-a falls back to its pool (empty: 409), then to a pooled number.
  issuer.mode = 'down';
  assertProblem(await issue(a, 'RT-2'), 409, 'pool_exhausted');
  expectStatus(await admin.post('/v1/pools/rt-a/004/seoul/numbers', { numbers: ['77711111111111'] }), 200);
  assert.equal(expectStatus(await issue(a, 'RT-2'), 201, 'fallback').number, '77711111111111');

  // rt-b has no fallback: 502, nothing written, and the same Idempotency-Key issues once the bank is back.
  assertProblem(await issue(b, 'RT-3'), 502, 'bank_unavailable');
  assertProblem(await b.get('/v1/orders/RT-3'), 404, 'not_found');
  issuer.mode = 'garbage';
  assertProblem(await issue(b, 'RT-3'), 502, 'bank_unavailable');
  issuer.mode = 'slow';
  const started = Date.now();
  assertProblem(await issue(b, 'RT-3'), 502, 'bank_unavailable');
  assert.ok(Date.now() - started < 1400, 'the contract timeout cut the wait');
  issuer.mode = 'ok';
  issuer.numbers.push('77700000000002');
  assert.equal(expectStatus(await issue(b, 'RT-3'), 201, 'after recovery').number, '77700000000002');

  // The bank hands out a number that serves an open order: refused, nothing assigned.
  issuer.numbers.push('77700000000001');
  assertProblem(await issue(b, 'RT-4'), 502, 'bank_number_in_use');
  assertProblem(await b.get('/v1/orders/RT-4'), 404, 'not_found');

  // Six failures in a row (--bank-breaker-failures 6) open bank 004's circuit: the next checkout
  // does not call the bank at all.
  issuer.mode = 'down';
  for (let i = 0; i < 6; i++) assertProblem(await issue(b, `RT-CB-${i}`), 502, 'bank_unavailable');
  const calls = issuer.requests.length;
  const refused = await issue(b, 'RT-CB-6');
  assertProblem(refused, 502, 'bank_unavailable');
  assert.match(refused.body.detail, /circuit is open/);
  assert.equal(issuer.requests.length, calls, 'the bank was not called');
  const metrics = (await api(relay.url, ADMIN_KEY).get('/metrics')).text;
  assert.match(metrics, /varelay_bank_up\{bank="004",state="open"\} 0/);
  assert.match(metrics, /varelay_bank_calls_total\{bank="004",result="refused_open_circuit"\} 1/);
});

test('real-time issuance against the simulated bank: varelay-banksim issues the number, a customer pays it through the bank, the order is paid', async (t) => {
  const { startBanksim, killAllBanksims } = await import('./banksim.mjs');
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => { await killAllBanksims(); await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1 });
  const admin = api(relay.url, ADMIN_KEY);
  const bank = await startBanksim({
    relayUrl: relay.url, apiKey: seed.keys.bank004,
    args: ['--mother', '3330=333000111222:RT Shop', '--customer', '110123456789=100000:Kim Minji', '--resend-interval-ms', '50'],
  });
  expectStatus(await admin.post('/v1/merchants', { id: 'rt-sim', name: 'RT Shop' }), 201);
  expectStatus(await admin.post('/v1/merchants/rt-sim/contracts', {
    bank: '004', mother_account: '333000111222', holder_name: 'RT Shop', issuance: 'realtime',
    realtime_url: `${bank.url}/virtual-accounts`, fallback_to_pool: false,
  }), 201);
  const shop = api(relay.url, expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'rt-sim' }), 201).key);
  const order = expectStatus(await shop.post('/v1/assignments', { order_id: 'SIM-1', amount: 25000, bank: '004' },
    { headers: { 'Idempotency-Key': 'sim-1' } }), 201, 'issue through the simulated bank');
  assert.match(order.number, /^3330/);
  const paid = expectStatus(await bank.client.post('/payments', { from_account: '110123456789', to_number: order.number, amount: 25000 }),
    200, 'pay through the bank');
  assert.equal(paid.status, 'accepted');
  await waitFor(async () => (await shop.get('/v1/orders/SIM-1')).body?.status === 'paid', { what: 'the order paid' });
});
