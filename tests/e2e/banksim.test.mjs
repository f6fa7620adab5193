// Proves varelay-banksim works as a bank in its own process against a real varelayd: a payment through the simulator pays the order with exactly one deposit, a refused pre-check moves no money, signed requests, block and real-time issuance, withdrawals and inquiries, a restart with --state, and under each fault flag every notice the simulator considers acknowledged is in the relay exactly once and the ledger verifies.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import {
  ADMIN_KEY, REPO_ROOT, allDeposits, api, expectStatus, killAll, makeTempDir, removeDir, seedDemo, startRelay, waitFor,
} from './relay.mjs';
import { checkInvariant as checkSimInvariant, killAllBanksims, runBanksim, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const MOTHER_SHOP = '004100000000001';
const MOTHER_RIVAL = '004200000000001';
const KIM = '11112222333';
const LEE = '22223333444';
const KIM_OPENING = 1_000_000;

// Mother accounts in front of the demo pools' prefixes (shop 9004..., rival 8004...) and two payers.
function bankArgs({ resendMs = 100, maxSends = 50 } = {}) {
  return [
    '--mother', `9004=${MOTHER_SHOP}:Example Shop Co.`, '--mother', `8004=${MOTHER_RIVAL}:Rival Shop Co.`,
    '--customer', `${KIM}=${KIM_OPENING}:Kim Minji`, '--customer', `${LEE}=10000:Lee Jiwoo`,
    '--resend-interval-ms', String(resendMs), '--max-sends', String(maxSends),
  ];
}

// A relay with the demo set-up and (unless simArgs is null) a simulator for bank 004 pointed at it.
async function setup(t, { simArgs = [], resendMs, maxSends } = {}) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  const sims = [];
  t.after(async () => {
    for (const s of sims) await s.kill();
    await relay.kill();
    removeDir(dataDir);
  });
  const seed = await seedDemo(relay, { perPool: 4 });
  const c = {
    relay, seed, sims, dataDir,
    admin: api(relay.url, ADMIN_KEY),
    shop: api(relay.url, seed.keys.shop),
    rival: api(relay.url, seed.keys.rival),
    bank004: api(relay.url, seed.keys.bank004),
    async startSim(args = [], { key = seed.keys.bank004, base = bankArgs({ resendMs, maxSends }) } = {}) {
      const sim = await startBanksim({ relayUrl: relay.url, apiKey: key, args: [...base, ...args] });
      sims.push(sim);
      return sim;
    },
  };
  if (simArgs !== null) c.sim = await c.startSim(simArgs);
  return c;
}

async function issue(client, orderId, amount, extra = {}) {
  const res = await client.post('/v1/assignments', { order_id: orderId, amount, bank: '004', ...extra },
    { headers: { 'Idempotency-Key': randomUUID() } });
  return expectStatus(res, 201, `issue ${orderId}`);
}

async function pay(sim, number, amount, { from = KIM, payer = 'Kim Minji' } = {}) {
  return expectStatus(await sim.client.post('/payments', { from_account: from, to_number: number, amount, payer_name: payer }),
    200, `pay ${amount} into ${number}`);
}

async function balance(sim, account) {
  return expectStatus(await sim.client.get(`/accounts/${account}`), 200, `account ${account}`).balance;
}

async function orderStatus(c, orderId, client = c.shop) {
  return expectStatus(await client.get(`/v1/orders/${orderId}`), 200, `order ${orderId}`);
}

/** The Korean business date of an RFC 3339 instant, as the simulator's statements use it. */
function businessDate(rfc3339) {
  return new Date(Date.parse(rfc3339) + 9 * 3600_000).toISOString().slice(0, 10);
}

/** A bank client that signs its requests as docs/openapi.yaml describes. */
function signedApi(url, key, secret) {
  const request = (method, target, body) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const text = body === undefined ? '' : JSON.stringify(body);
    const signature = createHmac('sha256', secret).update(`${ts}.${method}.${target}.${text}`).digest('hex');
    return api(url, key).request(method, target, {
      raw: body === undefined ? undefined : text,
      headers: { 'Varelay-Timestamp': ts, 'Varelay-Signature': `v1=${signature}` },
    });
  };
  return { request, get: (p) => request('GET', p), post: (p, b) => request('POST', p, b) };
}

/** The invariant of banksim.mjs (every acknowledged notice in the relay exactly once; ledger verify ok). */
async function checkInvariant(c, sim, { bankClient = c.bank004, timeoutMs = 10_000 } = {}) {
  return checkSimInvariant(sim, { admin: c.admin, bankClient, timeoutMs });
}

test('a payment through the simulator: pre-check, booking, one notice, the order paid with exactly one deposit; statements, holder inquiry, the pay command and --help', async (t) => {
  const c = await setup(t);
  const a = await issue(c.shop, 'BS-1', 39000, { region: 'seoul' });
  const paid = await pay(c.sim, a.number, 39000);
  assert.equal(paid.status, 'accepted');
  assert.match(paid.transaction_id, /^004[A-Z2-7]{4}\d{8}$/);
  assert.equal(paid.holder_name, 'Example Shop Co.', 'the holder name comes from the relay pre-check');
  assert.equal(paid.mother_account, MOTHER_SHOP);
  assert.equal(paid.due_at, a.due_at);
  assert.equal(await balance(c.sim, KIM), KIM_OPENING - 39000);
  assert.equal(await balance(c.sim, MOTHER_SHOP), 39000);

  const { notices, deposits } = await checkInvariant(c, c.sim);
  assert.equal(notices.length, 1);
  assert.equal(notices[0].send_count, 1);
  assert.equal(notices[0].relay_outcome, 'matched');
  assert.equal(deposits.length, 1);
  assert.equal(deposits[0].order_id, 'BS-1');
  assert.equal(deposits[0].payer_name, 'Kim Minji');
  const order = await orderStatus(c, 'BS-1');
  assert.equal(order.status, 'paid');
  assert.equal(order.amount_paid, 39000);

  // Holder inquiry and the transaction look-up.
  const holder = expectStatus(await c.sim.client.post('/holder-inquiries', { account: a.number }), 200, 'holder inquiry');
  assert.deepEqual(holder, { account: a.number, holder_name: 'Example Shop Co.', kind: 'virtual', mother_account: MOTHER_SHOP });
  const booking = expectStatus(await c.sim.client.get(`/payments/${paid.transaction_id}`), 200, 'payment look-up');
  assert.equal(booking.kind, 'deposit');
  assert.equal(booking.credit_account, MOTHER_SHOP);

  // End-of-day statements: camt.053 with OPBD/CLBD and the entry, and the fixed-width summary.
  const date = businessDate(paid.booked_at);
  const xml = await c.sim.client.get(`/statements/${date}.xml`);
  assert.equal(xml.status, 200);
  assert.match(xml.headers.get('content-type'), /^application\/xml/);
  assert.match(xml.text, /camt\.053\.001\.08/);
  assert.match(xml.text, /<Cd>OPBD<\/Cd><\/CdOrPrtry><\/Tp><Amt Ccy="KRW">0<\/Amt>/);
  assert.match(xml.text, /<Cd>CLBD<\/Cd><\/CdOrPrtry><\/Tp><Amt Ccy="KRW">39000<\/Amt>/);
  assert.ok(xml.text.includes(`<AcctSvcrRef>${paid.transaction_id}</AcctSvcrRef>`));
  assert.ok(xml.text.includes(`<CdtrAcct><Id><Othr><Id>${a.number}</Id></Othr></Id></CdtrAcct>`));
  const xsd = path.resolve(REPO_ROOT, '..', 'shared', 'testdata', 'iso20022', 'camt.053.001.08.xsd');
  if (existsSync(xsd) && spawnSync('xmllint', ['--version']).status === 0) {
    const lint = spawnSync('xmllint', ['--noout', '--schema', xsd, '-'], { input: xml.text, encoding: 'utf8' });
    assert.equal(lint.status, 0, `the statement validates against camt.053.001.08.xsd: ${lint.stderr}`);
  }
  const txt = await c.sim.client.get(`/statements/${date}.txt`);
  const records = txt.text.split('\n').filter((l) => l.length > 0);
  // Both mother accounts, by number: shop (header, one booking, trailer), then rival (no bookings).
  assert.deepEqual(records.map((r) => r[0]), ['H', 'D', 'T', 'H', 'T']);
  for (const r of records) assert.equal(Buffer.byteLength(r), 150, `record is 150 bytes: ${r}`);
  assert.ok(records[0].includes(MOTHER_SHOP) && records[3].includes(MOTHER_RIVAL));
  assert.ok(records[1].includes(paid.transaction_id) && records[1].includes(a.number));
  assert.ok(records[2].includes('+00000000000039000'), `the trailer closes at 39000: ${records[2]}`);

  // The pay command: one line per payment, exit 0 accepted, 1 refused.
  const b = await issue(c.shop, 'BS-2', 5000, { region: 'busan' });
  const wrong = await runBanksim(['pay', '--sim', c.sim.url, '--from', KIM, '--to', b.number, '--amount', '5001']);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stdout, /^refused amount_mismatch: /);
  const ok = await runBanksim(['pay', '--sim', c.sim.url, '--from', KIM, '--to', b.number, '--amount', '5000', '--payer', 'Kim Minji']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^accepted 004[A-Z2-7]{4}\\d{8}: 5000 KRW from ${KIM} to ${b.number} \\(Example Shop Co\\.\\)\\n$`));
  await checkInvariant(c, c.sim);
  assert.equal((await orderStatus(c, 'BS-2')).status, 'paid');

  const help = await runBanksim(['--help']);
  assert.equal(help.code, 0);
  for (const needle of ['--listen', '--relay', '--api-key', '--signing-secret', '--state', '--fault-duplicate', '--fault-reorder',
    '--fault-delay-ms', '--fault-drop-answer', '--fault-outage', '--fault-amount-off', '--fault-late-s', '--fault-cancel-after',
    '--resend-interval-ms', '--max-sends', 'POST /payments', 'GET  /notices', 'POST /withdrawals', 'camt.053', 'Varelay-Signature',
    '/v1/bank/precheck']) {
    assert.ok(help.stdout.includes(needle), `--help mentions ${needle}`);
  }
  await c.sim.stop();
});

test('a refused pre-check moves no money: wrong amount, unknown number; the bank refuses a payer without funds before asking', async (t) => {
  const c = await setup(t);
  const a = await issue(c.shop, 'BS-WRONG', 39000);
  const refused = await pay(c.sim, a.number, 39001);
  assert.deepEqual([refused.status, refused.reason, refused.transaction_id], ['refused', 'amount_mismatch', null]);
  const unknown = await pay(c.sim, '90049999999999', 1000);
  assert.equal(unknown.reason, 'unknown_number', 'the relay does not know the number');
  const poor = await pay(c.sim, a.number, 39000, { from: LEE, payer: 'Lee Jiwoo' });
  assert.equal(poor.reason, 'insufficient_funds');
  const stranger = await pay(c.sim, '12345678', 1000);
  assert.equal(stranger.reason, 'unknown_number', 'a number in front of no mother account of this bank');

  assert.equal(await balance(c.sim, KIM), KIM_OPENING);
  assert.equal(await balance(c.sim, LEE), 10000);
  assert.equal(await balance(c.sim, MOTHER_SHOP), 0);
  assert.deepEqual(expectStatus(await c.sim.client.get('/notices'), 200, 'notices').items, []);
  assert.equal((await allDeposits(c.bank004)).length, 0, 'the relay has no deposit');
  assert.equal((await orderStatus(c, 'BS-WRONG')).status, 'open');
  await checkInvariant(c, c.sim);
});

test('with the relay signing secret set, an unsigned simulator is refused at pre-check and moves nothing; a signing one pays', async (t) => {
  const c = await setup(t, { simArgs: null });
  const secret = expectStatus(await c.admin.post('/v1/banks/004/signing-secret'), 201, 'signing secret').signing_secret;
  const a = await issue(c.shop, 'BS-SIG', 12000);

  const unsigned = await c.startSim();
  const refused = await pay(unsigned, a.number, 12000);
  assert.equal(refused.reason, 'precheck_failed');
  assert.match(refused.detail, /401 signature_missing/);
  assert.equal(await balance(unsigned, KIM), KIM_OPENING);

  const signed = await c.startSim(['--signing-secret', secret]);
  assert.match(signed.stdout(), /\(signed\)/);
  const paid = await pay(signed, a.number, 12000);
  assert.equal(paid.status, 'accepted', JSON.stringify(paid));
  const bankClient = signedApi(c.relay.url, c.seed.keys.bank004, secret);
  const { deposits } = await checkInvariant(c, signed, { bankClient });
  assert.equal(deposits.length, 1);
  assert.equal((await orderStatus(c, 'BS-SIG')).status, 'paid');
});

test('numbers issued by the simulator in a block (batch) and one at a time (real-time), once loaded into relay pools, are paid into', async (t) => {
  const c = await setup(t);
  const block = expectStatus(await c.sim.client.post('/virtual-accounts/blocks', { count: 3, prefix: '77004', mother_account: MOTHER_SHOP }),
    201, 'issue a block');
  assert.deepEqual(block.numbers, ['77004000000001', '77004000000002', '77004000000003']);
  assert.equal(block.mode, 'batch');
  const loaded = expectStatus(await c.admin.post('/v1/pools/shop/004/sim/numbers', { numbers: block.numbers }), 200, 'load block');
  assert.equal(loaded.loaded, 3);
  const a = await issue(c.shop, 'BS-BLOCK', 7000, { region: 'sim' });
  assert.ok(block.numbers.includes(a.number));

  const one = expectStatus(await c.sim.client.post('/virtual-accounts', { mother_account: MOTHER_RIVAL, prefix: '66004' }),
    201, 'issue one');
  assert.equal(one.mode, 'realtime');
  assert.equal(one.holder_name, 'Rival Shop Co.');
  assert.equal(one.number, '66004000000001');
  assert.equal(expectStatus(await c.sim.client.get(`/virtual-accounts/${one.number}`), 200, 'look-up').mode, 'realtime');
  assert.equal(expectStatus(await c.admin.post('/v1/pools/rival/004/rt/numbers', { numbers: [one.number] }), 200, 'load one').loaded, 1);
  const r = await issue(c.rival, 'BS-RT', 8000, { region: 'rt' });
  assert.equal(r.number, one.number);

  assert.equal((await pay(c.sim, a.number, 7000)).status, 'accepted');
  assert.equal((await pay(c.sim, r.number, 8000)).status, 'accepted');
  await checkInvariant(c, c.sim);
  assert.equal((await orderStatus(c, 'BS-BLOCK')).status, 'paid');
  assert.equal((await orderStatus(c, 'BS-RT', c.rival)).status, 'paid');
  assert.equal(await balance(c.sim, MOTHER_SHOP), 7000);
  assert.equal(await balance(c.sim, MOTHER_RIVAL), 8000);
});

test('accounts, withdrawals with balance checks and result inquiries, holder inquiries; an unreachable relay moves no money', async (t) => {
  // No relay at all: port 9 on loopback refuses connections.
  const sim = await startBanksim({ relayUrl: 'http://127.0.0.1:9', apiKey: 'vrk_unused', args: bankArgs() });
  t.after(() => sim.kill());
  const s = sim.client;
  const opened = expectStatus(await s.post('/accounts', { number: '33334444555', holder_name: 'Park Seojun', balance: 20000, kind: 'customer' }), 201, 'open');
  assert.equal(opened.balance, 20000);
  assert.equal((await s.post('/accounts', { number: '33334444555', holder_name: 'Park', balance: 1 })).body.code, 'account_exists');
  assert.equal((await s.post('/accounts', { number: '1', holder_name: 'x' })).status, 400);

  const done = expectStatus(await s.post('/withdrawals', { account: '33334444555', amount: 15000, reference: 'WD-1' }), 200, 'withdraw');
  assert.deepEqual([done.status, done.balance, done.replayed], ['completed', 5000, false]);
  const refused = expectStatus(await s.post('/withdrawals', { account: '33334444555', amount: 5001, reference: 'WD-2' }), 200, 'withdraw too much');
  assert.deepEqual([refused.status, refused.reason, refused.balance], ['refused', 'insufficient_funds', 5000]);
  assert.equal(await balance(sim, '33334444555'), 5000);
  assert.equal(expectStatus(await s.get('/withdrawals/WD-1'), 200, 'result inquiry').status, 'completed');
  assert.equal(expectStatus(await s.get('/withdrawals/WD-2'), 200, 'result inquiry').status, 'refused');
  assert.equal((await s.get('/withdrawals/WD-3')).status, 404, 'a withdrawal never executed is not found');
  const replay = expectStatus(await s.post('/withdrawals', { account: '33334444555', amount: 15000, reference: 'WD-1' }), 200, 'replay');
  assert.equal(replay.replayed, true);
  assert.equal(await balance(sim, '33334444555'), 5000, 'a replay debits nothing');
  assert.equal((await s.post('/withdrawals', { account: '33334444555', amount: 1, reference: 'WD-1' })).body.code, 'reference_conflict');
  assert.equal((await s.post('/withdrawals', { account: '99999999', amount: 1, reference: 'WD-4' })).status, 404);

  assert.equal(expectStatus(await s.post('/holder-inquiries', { account: KIM }), 200, 'holder').holder_name, 'Kim Minji');
  assert.equal((await s.post('/holder-inquiries', { account: '5555555' })).status, 404);

  const unreachable = await pay(sim, '90040000000000', 1000);
  assert.equal(unreachable.reason, 'precheck_failed');
  assert.match(unreachable.detail, /^no answer/);
  assert.equal(await balance(sim, KIM), KIM_OPENING);
  assert.equal(expectStatus(await s.get('/healthz'), 200, 'healthz').status, 'ok');
  await sim.stop();
});

test('--state keeps accounts and queued notices across a SIGKILL: the held notice is sent after the restart, once', async (t) => {
  const c = await setup(t, { simArgs: null });
  const stateFile = path.join(c.dataDir, 'banksim.jsonl');
  const a = await issue(c.shop, 'BS-STATE', 21000);
  const first = await c.startSim(['--state', stateFile, '--fault-late-s', '30']);
  const paid = await pay(first, a.number, 21000);
  assert.equal(paid.status, 'accepted');
  const pending = expectStatus(await first.client.get('/notices'), 200, 'notices');
  assert.deepEqual([pending.pending, pending.items[0].send_count], [1, 0], 'the notice is held');
  await first.kill();
  assert.equal((await allDeposits(c.bank004)).length, 0);

  const second = await c.startSim(['--state', stateFile]);
  assert.equal(await balance(second, KIM), KIM_OPENING - 21000, 'balances survive');
  assert.equal(await balance(second, MOTHER_SHOP), 21000);
  const { notices } = await checkInvariant(c, second);
  assert.equal(notices.length, 1);
  assert.equal(notices[0].transaction_id, paid.transaction_id);
  assert.equal(notices[0].send_count, 1);
  assert.equal((await orderStatus(c, 'BS-STATE')).status, 'paid');
  const b = await issue(c.shop, 'BS-STATE-2', 1000);
  const next = await pay(second, b.number, 1000);
  assert.equal(next.transaction_id.slice(0, 7), paid.transaction_id.slice(0, 7), 'the same run id after the restart');
  assert.equal(Number(next.transaction_id.slice(7)), Number(paid.transaction_id.slice(7)) + 1, 'the sequence continues');
  await checkInvariant(c, second);
});

test('fault --fault-duplicate 1: every answered notice is sent once more; the relay answers duplicate and books it once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-duplicate', '1'] });
  const a = await issue(c.shop, 'BS-DUP-1', 3000);
  const b = await issue(c.shop, 'BS-DUP-2', 4000);
  await pay(c.sim, a.number, 3000);
  await pay(c.sim, b.number, 4000);
  const { notices, deposits } = await checkInvariant(c, c.sim);
  // The extra copy goes out right after the answer; wait until both were recorded.
  const settled = await waitFor(async () => {
    const items = expectStatus(await c.sim.client.get('/notices'), 200, 'notices').items;
    return items.every((n) => n.duplicates_sent === 1) ? items : null;
  }, { what: 'both duplicates to be sent' });
  for (const n of settled) {
    assert.equal(n.send_count, 2);
    assert.equal(n.last_status, 'duplicate sent: 200 duplicate');
  }
  assert.equal(notices.length, 2);
  assert.equal(deposits.length, 2);
});

test('fault --fault-reorder: notices released together go out newest first, a cancellation may overtake its deposit; nothing is lost or doubled', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-reorder'], resendMs: 1000 });
  const paid = [];
  for (const [i, amount] of [1000, 2000, 3000].entries()) {
    const a = await issue(c.shop, `BS-RE-${i}`, amount);
    paid.push(await pay(c.sim, a.number, amount));
  }
  const cancelled = expectStatus(await c.sim.client.post(`/payments/${paid[0].transaction_id}/cancel`), 200, 'cancel');
  assert.equal(cancelled.original_transaction_id, paid[0].transaction_id);
  const { deposits } = await checkInvariant(c, c.sim);
  const simOrder = paid.map((p) => p.transaction_id);
  const relayOrder = deposits.map((d) => d.transaction_id);
  assert.deepEqual([...relayOrder].sort(), [...simOrder].sort());
  assert.notDeepEqual(relayOrder, simOrder, 'the relay received the deposits out of order');
  assert.equal(await balance(c.sim, MOTHER_SHOP), 5000);
  assert.equal(await balance(c.sim, KIM), KIM_OPENING - 5000);
});

test('fault --fault-delay-ms 300: the pre-check and every notice wait; the payment still lands once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-delay-ms', '300'] });
  const a = await issue(c.shop, 'BS-DELAY', 6000);
  const started = Date.now();
  assert.equal((await pay(c.sim, a.number, 6000)).status, 'accepted');
  assert.ok(Date.now() - started >= 300, 'the pre-check was delayed');
  const { notices } = await checkInvariant(c, c.sim);
  assert.ok(Date.parse(notices[0].answered_at) - Date.parse(notices[0].queued_at) >= 300, 'the notice was delayed');
  assert.equal((await orderStatus(c, 'BS-DELAY')).status, 'paid');
});

test('fault --fault-drop-answer 0.5: answers treated as lost are re-sent with a rising send_count; the relay dedupes', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-drop-answer', '0.5', '--fault-seed', '7'] });
  for (const [i, amount] of [1100, 1200, 1300, 1400].entries()) {
    const a = await issue(c.shop, `BS-DROP-${i}`, amount, { region: i % 2 ? 'busan' : 'seoul' });
    assert.equal((await pay(c.sim, a.number, amount)).status, 'accepted');
  }
  const { notices, deposits } = await checkInvariant(c, c.sim);
  assert.equal(deposits.length, 4);
  const resent = notices.filter((n) => n.send_count >= 2);
  assert.ok(resent.length > 0, `some answers were dropped: ${JSON.stringify(notices.map((n) => n.send_count))}`);
  for (const n of resent) assert.equal(n.relay_duplicate, true, 'the answer after a dropped one says duplicate');
  for (const n of notices.filter((x) => x.send_count === 1)) assert.equal(n.relay_duplicate, false);
});

test('fault --fault-outage 0:2: notices queue through the window with a rising send_count, nothing reaches the relay, then each lands once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-outage', '0:2'], resendMs: 150 });
  const a = await issue(c.shop, 'BS-OUT', 9000);
  assert.equal((await pay(c.sim, a.number, 9000)).status, 'accepted', 'pre-checks pass during the outage');
  const during = await waitFor(async () => {
    const n = expectStatus(await c.sim.client.get('/notices'), 200, 'notices').items[0];
    return n.state === 'pending' && n.last_status === 'outage' && n.send_count >= 2 ? n : null;
  }, { what: 'a notice re-sent during the outage' });
  assert.equal(during.answered, false);
  assert.equal((await allDeposits(c.bank004)).length, 0, 'nothing reached the relay during the outage');
  const { notices } = await checkInvariant(c, c.sim);
  assert.ok(notices[0].send_count > during.send_count, `send_count rose to ${notices[0].send_count}`);
  assert.equal(notices[0].relay_duplicate, false, 'the first delivered attempt books it');
  assert.equal((await orderStatus(c, 'BS-OUT')).status, 'paid');
});

test('fault --fault-amount-off 7: the notice claims 7 won more than was booked; the relay parks it as amount_mismatch, once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-amount-off', '7'] });
  const a = await issue(c.shop, 'BS-OFF', 39000);
  const paid = await pay(c.sim, a.number, 39000);
  assert.equal(paid.status, 'accepted', 'the pre-check saw the right amount');
  const { notices, deposits } = await checkInvariant(c, c.sim);
  assert.deepEqual([notices[0].amount, notices[0].booked_amount], [39007, 39000]);
  assert.deepEqual([deposits[0].amount, deposits[0].outcome, deposits[0].parked_amount], [39007, 'amount_mismatch', 39007]);
  assert.equal(await balance(c.sim, MOTHER_SHOP), 39000, 'the bank booked the true amount');
  assert.equal((await orderStatus(c, 'BS-OFF')).status, 'open');
});

test('fault --fault-late-s 2: a deposit pre-checked in time but notified after the due time is booked late, once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-late-s', '2'] });
  const a = await issue(c.shop, 'BS-LATE', 8000, { expires_in_s: 1 });
  assert.equal((await pay(c.sim, a.number, 8000)).status, 'accepted');
  const { notices, deposits } = await checkInvariant(c, c.sim);
  assert.equal(notices[0].relay_outcome, 'late');
  assert.equal(deposits[0].outcome, 'late');
  assert.ok(Date.parse(deposits[0].received_at) > Date.parse(a.due_at), 'received after the due time');
  assert.equal((await orderStatus(c, 'BS-LATE')).status, 'expired');
});

test('fault --fault-cancel-after 1: each deposit is cancelled once its notice was answered; the relay reverses it once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-cancel-after', '1'] });
  const a = await issue(c.shop, 'BS-CANCEL', 15000);
  const paid = await pay(c.sim, a.number, 15000);
  const notices = await waitFor(async () => {
    const body = expectStatus(await c.sim.client.get('/notices'), 200, 'notices');
    return body.items.length === 2 && body.pending === 0 ? body.items : null;
  }, { what: 'the deposit and its cancellation to be answered' });
  assert.deepEqual(notices.map((n) => n.kind), ['deposit', 'cancellation']);
  assert.equal(notices[1].original_transaction_id, paid.transaction_id);
  const { deposits } = await checkInvariant(c, c.sim);
  assert.equal(deposits.length, 1);
  assert.equal(deposits[0].status, 'cancelled');
  assert.equal(await balance(c.sim, KIM), KIM_OPENING, 'the payer has the money back');
  assert.equal(await balance(c.sim, MOTHER_SHOP), 0);
  const again = await c.sim.client.post(`/payments/${paid.transaction_id}/cancel`);
  assert.equal(again.body.code, 'already_cancelled');
});
