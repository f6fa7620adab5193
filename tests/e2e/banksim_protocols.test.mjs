// Proves varelay-banksim speaks the relay's two other bank protocols as a separate process: over telegrams (TCP, EUC-KR) and over ISO 20022 camt.054 (pre-check over JSON) a refused pre-check moves no money, a right amount pays the order, a cancellation cancels the deposit in the relay, and with answers dropped the re-sent notices are booked once; over telegrams the relay's request for a skipped sequence number is answered and the notice sent; each run ends with every acknowledged notice in the relay exactly once and the ledger verifying.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';

import { ADMIN_KEY, allDeposits, api, expectStatus, killAll, makeTempDir, removeDir, seedDemo, startRelay } from './relay.mjs';
import { checkInvariant, killAllBanksims, runBanksim, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const MOTHER_SHOP = '004100000000001';
const KIM = '11112222333';
const KIM_OPENING = 1_000_000;

/**
 * A relay (with its telegram listener trusting bank 004 from loopback) and the demo set-up, and a
 * simulator for bank 004 speaking `protocol` to it.
 */
async function setup(t, protocol, simArgs = [], relayArgs = [], { beforeSim } = {}) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--telegram-listen', '127.0.0.1:0', '--telegram-bank', '004=127.0.0.0/8', ...relayArgs] });
  let sim;
  t.after(async () => {
    if (sim) await sim.kill();
    await relay.kill();
    removeDir(dataDir);
  });
  const telegramPort = Number(/varelayd telegrams on 127\.0\.0\.1:(\d+)/.exec(relay.stdout())[1]);
  const seed = await seedDemo(relay, { perPool: 4, rivalPerPool: 0, protocol });
  if (beforeSim) simArgs = [...simArgs, ...await beforeSim(api(relay.url, ADMIN_KEY))];
  sim = await startBanksim({
    relayUrl: relay.url,
    apiKey: seed.keys.bank004,
    args: [
      '--protocol', protocol, '--relay-telegram', `127.0.0.1:${telegramPort}`,
      '--mother', `9004=${MOTHER_SHOP}:Example Shop Co.`, '--customer', `${KIM}=${KIM_OPENING}:Kim Minji`,
      '--resend-interval-ms', '100', '--max-sends', '50', ...simArgs,
    ],
  });
  const c = {
    relay, seed, sim,
    admin: api(relay.url, ADMIN_KEY),
    shop: api(relay.url, seed.keys.shop),
    bank004: api(relay.url, seed.keys.bank004),
  };
  c.invariant = () => checkInvariant(sim, { admin: c.admin, bankClient: c.bank004 });
  return c;
}

async function issue(c, orderId, amount, region = 'seoul') {
  const res = await c.shop.post('/v1/assignments', { order_id: orderId, amount, bank: '004', region },
    { headers: { 'Idempotency-Key': randomUUID() } });
  return expectStatus(res, 201, `issue ${orderId}`);
}

async function pay(c, number, amount) {
  return expectStatus(await c.sim.client.post('/payments', { from_account: KIM, to_number: number, amount, payer_name: 'Kim Minji' }),
    200, `pay ${amount} into ${number}`);
}

async function balance(c, account) {
  return expectStatus(await c.sim.client.get(`/accounts/${account}`), 200, `account ${account}`).balance;
}

async function orderStatus(c, orderId) {
  return expectStatus(await c.shop.get(`/v1/orders/${orderId}`), 200, `order ${orderId}`).status;
}

/** The relay's transaction id of a deposit notice: tg:<KST send date>:<sequence>:<number> or the simulator's own. */
function expectedRelayId(protocol, notice) {
  if (protocol !== 'telegram') return notice.transaction_id;
  const date = new Date(Date.parse(notice.telegram_sent_at) + 9 * 3600_000).toISOString().slice(0, 10).replaceAll('-', '');
  return `tg:${date}:${String(notice.telegram_sequence).padStart(6, '0')}:${notice.number}`;
}

for (const protocol of ['telegram', 'iso20022']) {
  test(`${protocol}: a refused pre-check moves no money, a right amount pays the order, a cancellation cancels the deposit in the relay`, async (t) => {
    const c = await setup(t, protocol);
    assert.match(c.sim.stdout(), new RegExp(`relay ${protocol === 'telegram' ? 'telegram 127\\.0\\.0\\.1:\\d+ \\(bank 004\\)' : 'iso20022 http://127\\.0\\.0\\.1:\\d+ camt\\.054 \\(unsigned\\), pre-check over json'}`));
    const a = await issue(c, `BP-${protocol}`, 39000);

    const refused = await pay(c, a.number, 39001);
    assert.deepEqual([refused.status, refused.reason, refused.transaction_id], ['refused', 'amount_mismatch', null]);
    assert.equal((await pay(c, '90049999999999', 1000)).reason, 'unknown_number');
    assert.equal(await balance(c, KIM), KIM_OPENING);
    assert.equal(await balance(c, MOTHER_SHOP), 0);
    assert.deepEqual(expectStatus(await c.sim.client.get('/notices'), 200, 'notices').items, []);
    assert.equal((await allDeposits(c.bank004)).length, 0, 'the relay has no deposit');
    assert.equal(await orderStatus(c, `BP-${protocol}`), 'open');

    const paid = await pay(c, a.number, 39000);
    assert.equal(paid.status, 'accepted', JSON.stringify(paid));
    assert.equal(paid.holder_name, 'Example Shop Co.', 'the holder name comes from the relay pre-check');
    assert.equal(await balance(c, MOTHER_SHOP), 39000);
    let { notices, deposits } = await c.invariant();
    assert.equal(notices.length, 1);
    assert.equal(notices[0].send_count, 1);
    assert.equal(notices[0].relay_transaction_id, expectedRelayId(protocol, notices[0]));
    assert.equal(notices[0].last_status, protocol === 'telegram' ? 'telegram 0000' : '200');
    assert.equal(deposits.length, 1);
    assert.deepEqual([deposits[0].order_id, deposits[0].outcome, deposits[0].payer_name], [`BP-${protocol}`, 'matched', 'Kim Minji']);
    if (protocol === 'iso20022') assert.equal(notices[0].relay_deposit_id, deposits[0].id);
    assert.equal(await orderStatus(c, `BP-${protocol}`), 'paid');

    const cancelled = expectStatus(await c.sim.client.post(`/payments/${paid.transaction_id}/cancel`), 200, 'cancel');
    assert.equal(cancelled.original_transaction_id, paid.transaction_id);
    ({ notices, deposits } = await c.invariant());
    assert.deepEqual(notices.map((n) => n.kind), ['deposit', 'cancellation']);
    assert.equal(deposits.length, 1);
    assert.equal(deposits[0].status, 'cancelled', 'the relay cancelled the deposit');
    if (protocol === 'telegram') {
      assert.equal(notices[1].telegram_sequence, notices[0].telegram_sequence + 1, 'the next sequence of the day');
      assert.equal(notices[1].relay_transaction_id, expectedRelayId(protocol, notices[1]));
    }
    assert.equal(await balance(c, KIM), KIM_OPENING, 'the payer has the money back');
    assert.equal(await balance(c, MOTHER_SHOP), 0);
    await c.sim.stop();
  });

  test(`${protocol}: with answers dropped (--fault-drop-answer 0.5) notices are re-sent with the same key and booked once`, async (t) => {
    const c = await setup(t, protocol, ['--fault-drop-answer', '0.5', '--fault-seed', '7']);
    for (const [i, amount] of [1100, 1200, 1300, 1400].entries()) {
      const a = await issue(c, `BD-${protocol}-${i}`, amount, i % 2 ? 'busan' : 'seoul');
      assert.equal((await pay(c, a.number, amount)).status, 'accepted');
    }
    const { notices, deposits } = await c.invariant();
    assert.equal(deposits.length, 4);
    const resent = notices.filter((n) => n.send_count >= 2);
    assert.ok(resent.length > 0, `some answers were dropped: ${JSON.stringify(notices.map((n) => n.send_count))}`);
    for (const n of notices) assert.equal(n.relay_transaction_id, expectedRelayId(protocol, n), 'a re-send keeps the key');
    if (protocol === 'iso20022') {
      for (const n of resent) assert.equal(n.relay_duplicate, true, 'the answer after a dropped one says duplicate');
    } else {
      // A telegram answer cannot say "duplicate": the relay answers 0000 again and books once.
      for (const n of resent) assert.equal(n.last_status, 'telegram 0000');
    }
    for (let i = 0; i < 4; i++) assert.equal(await orderStatus(c, `BD-${protocol}-${i}`), 'paid');
  });
}

test('telegram: a notice held back leaves a hole in the sequence; the relay asks for it (0600/200), the simulator answers 0610 and sends it at once, booked once', async (t) => {
  const c = await setup(t, 'telegram', ['--fault-late-s', '2'], ['--telegram-request-missing']);
  // Each payment takes two numbers: its pre-check inquiry, then its notice (held 2 s).
  for (const [i, amount] of [2100, 2200].entries()) {
    const a = await issue(c, `BG-${i}`, amount);
    assert.equal((await pay(c, a.number, amount)).status, 'accepted');
  }
  const { notices, deposits } = await c.invariant();
  assert.deepEqual(notices.map((n) => n.telegram_sequence), [2, 4]);
  assert.match(c.sim.stdout(), /the relay asked for telegrams 2\.\.2 of \d{4}-\d{2}-\d{2}; 1 pending notice\(s\) sent now/);
  const waited = notices.map((n) => Date.parse(n.answered_at) - Date.parse(n.queued_at));
  assert.ok(waited[0] < 2000, `the asked-for notice went out before its hold ended (${waited[0]} ms)`);
  assert.ok(waited[1] >= 2000, `the last notice, which left no hole, waited its hold (${waited[1]} ms)`);
  assert.equal(deposits.length, 2);
  for (const i of [0, 1]) assert.equal(await orderStatus(c, `BG-${i}`), 'paid');
});

test('--help documents the three protocols; a telegram bank without the relay\'s telegram address does not start', async () => {
  const help = await runBanksim(['--help']);
  assert.equal(help.code, 0);
  for (const needle of ['--protocol', 'json,telegram,iso20022', '--relay-telegram', '0900/100', '0200/300', 'kind 51', '0600/200',
    'camt.054.001.08', '/v1/bank/camt054', 'no receivability', 'POST /v1/bank/precheck', 'telegram_sequence']) {
    assert.ok(help.stdout.includes(needle), `--help mentions ${needle}`);
  }
  const missing = await runBanksim(['--listen', '127.0.0.1:0', '--protocol', 'telegram']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--protocol telegram needs --relay-telegram HOST:PORT/);
  const unknown = await runBanksim(['--listen', '127.0.0.1:0', '--protocol', 'xml', '--api-key', 'k']);
  assert.notEqual(unknown.code, 0);
});

test('iso20022 signed: with the bank\'s signing secret the camt.054 notices and the JSON pre-check are signed and pay the order', async (t) => {
  let secret;
  const c = await setup(t, 'iso20022', [], [], {
    beforeSim: async (admin) => {
      secret = expectStatus(await admin.post('/v1/banks/004/signing-secret'), 201, 'signing secret').signing_secret;
      return ['--signing-secret', secret];
    },
  });
  assert.match(c.sim.stdout(), /camt\.054 \(signed\)/);
  const a = await issue(c, 'BS-SIGNED', 12000);
  assert.equal((await pay(c, a.number, 12000)).status, 'accepted');
  // Bank requests must be signed now, the look-ups of the invariant too.
  const signed = (method, target) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', secret).update(`${ts}.${method}.${target}.`).digest('hex');
    return c.bank004.request(method, target, { headers: { 'Varelay-Timestamp': ts, 'Varelay-Signature': `v1=${signature}` } });
  };
  const { deposits } = await checkInvariant(c.sim, { admin: c.admin, bankClient: { get: (p) => signed('GET', p) } });
  assert.equal(deposits.length, 1);
  assert.equal(await orderStatus(c, 'BS-SIGNED'), 'paid');
});
