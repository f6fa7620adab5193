// Proves a bank is held to the channel it is configured with: a telegram bank's JSON deposit notice
// and camt.054 get 403 channel_not_allowed and book nothing; once an admin allows JSON as a second
// channel, the same credit sent by telegram and by JSON (under the bank's reference, the telegram
// id without its "tg:" prefix) is booked once, in either order, the second answered as a duplicate.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

import {
  ADMIN_KEY, REPO_ROOT, allDeposits, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, removeDir, startRelay,
} from './relay.mjs';
import { connectTelegrams, depositTelegram, kstStamp, responseCode } from './telegram_frames.mjs';

after(killAll);

const NUMBERS = ['90040000000001', '90040000000002'];

async function setup(t) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--telegram-listen', '127.0.0.1:0', '--telegram-bank', '004=127.0.0.0/8'] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const port = Number(/varelayd telegrams on 127\.0\.0\.1:(\d+)/.exec(relay.stdout())[1]);
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram' }), 201);
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201);
  expectStatus(await admin.post('/v1/merchants/shop/contracts', { bank: '004', mother_account: '004100000000001', holder_name: 'Example Shop Co.' }), 201);
  expectStatus(await admin.post('/v1/pools/shop/004/seoul/numbers', { numbers: NUMBERS }), 200);
  const key = async (body) => expectStatus(await admin.post('/v1/api-keys', body), 201).key;
  const shop = api(relay.url, await key({ role: 'merchant', merchant: 'shop', label: 'shop' }));
  const bank = api(relay.url, await key({ role: 'bank', bank: '004', label: 'bank' }));
  const telegrams = await connectTelegrams(port);
  t.after(() => telegrams.close());
  return { relay, admin, shop, bank, telegrams };
}

async function issue(c, order) {
  return expectStatus(await c.shop.post('/v1/assignments', { order_id: order, amount: 5000, bank: '004', region: 'seoul' },
    { headers: { 'Idempotency-Key': randomUUID() } }), 201).number;
}

const jsonNotice = (transactionId, number) => ({
  transaction_id: transactionId, number, amount: 5000, currency: 'KRW', payer_name: 'Kim Minji', deposited_at: nowRfc3339(),
});

test('a telegram bank is refused on the JSON and camt routes; with JSON allowed, one credit on both channels is booked once', async (t) => {
  const c = await setup(t);
  const { ymd } = kstStamp();
  const first = await issue(c, 'CH-1');
  const reference = `${ymd}:000004:${first}`;

  assertProblem(await c.bank.post('/v1/bank/deposits', jsonNotice(reference, first)), 403, 'channel_not_allowed');
  const camt = readFileSync(path.join(REPO_ROOT, 'src/banks/iso20022/testdata/krw_deposit.camt054.xml'), 'utf8');
  assertProblem(await c.bank.request('POST', '/v1/bank/camt054', { raw: camt, headers: { 'Content-Type': 'application/xml' } }),
    403, 'channel_not_allowed');
  assert.equal((await allDeposits(c.admin)).length, 0, 'nothing was booked');

  c.telegrams.send(depositTelegram({ sequence: 4, number: first, amount: 5000 }));
  assert.equal(responseCode(await c.telegrams.next()), '0000');
  assert.equal(expectStatus(await c.shop.get('/v1/orders/CH-1'), 200).status, 'paid');

  const allowed = expectStatus(await c.admin.patch('/v1/banks/004', { extra_channels: ['json'] }), 200);
  assert.deepEqual(allowed.extra_channels, ['json']);
  const again = expectStatus(await c.bank.post('/v1/bank/deposits', jsonNotice(reference, first)), 200);
  assert.equal(again.duplicate, true, 'the telegram already booked this credit');
  let deposits = await allDeposits(c.admin);
  assert.equal(deposits.length, 1);
  assert.equal(again.deposit.id, deposits[0].id);

  // The other order: JSON first, then the telegram of the same credit.
  const second = await issue(c, 'CH-2');
  const booked = expectStatus(await c.bank.post('/v1/bank/deposits', jsonNotice(`${ymd}:000005:${second}`, second)), 200);
  assert.equal(booked.duplicate, false);
  c.telegrams.send(depositTelegram({ sequence: 5, number: second, amount: 5000 }));
  assert.equal(responseCode(await c.telegrams.next()), '0000', 'acknowledged, as a duplicate');
  deposits = await allDeposits(c.admin);
  assert.equal(deposits.length, 2, 'each credit once');
  const ledger = expectStatus(await c.admin.get('/v1/ledger/verify'), 200);
  assert.equal(ledger.ok, true);
});
