// Proves the relay's own requests to a telegram bank against varelay-banksim as a separate process
// (its --telegram-serve): an account-holder inquiry (0600/400) names the holder; a transfer
// (0100/100) from the merchant's mother account completes or is refused on the bank's word, with its
// webhook event; when the bank's answer is lost, or the relay is SIGKILLed with the withdrawal
// in doubt, or the bank is out for a while, the relay asks with a result inquiry (0600/101) before
// it sends anything again, and the bank debits exactly once; bad requests change nothing.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';
import { killAllBanksims, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const MOTHER = '004100000000001';
const KIM = '11112222333';
const MOTHER_OPENING = 100_000;

async function startSim(relayUrl, bankKey, args = []) {
  const sim = await startBanksim({
    relayUrl, apiKey: bankKey,
    args: ['--telegram-serve', '127.0.0.1:0', '--customer', `${KIM}=5000:Kim Minji`, ...args],
  });
  const line = await waitFor(() => /telegram server on 127\.0\.0\.1:(\d+)/.exec(sim.stdout()), { what: 'the telegram server line' });
  sim.telegramPort = Number(line[1]);
  return sim;
}

/**
 * A relay with telegram bank 004 (its endpoint the simulator's telegram server), json bank 088
 * without one, merchant shop with a contract at each, and a simulator whose mother account holds
 * MOTHER_OPENING won (opened with that balance through the simulator's own API).
 */
async function setup(t, { simArgs = [], relayArgs = [] } = {}) {
  const dataDir = makeTempDir();
  const relayArgv = [...relayArgs];
  if (!relayArgv.includes('--bank-timeout-ms')) relayArgv.push('--bank-timeout-ms', '700');
  relayArgv.push('--transfer-retry-max-s', '1');
  const c = { dataDir, relayArgv };
  c.relay = await startRelay({ dataDir, args: relayArgv });
  t.after(async () => {
    if (c.sim) await c.sim.kill();
    await c.relay.kill();
    removeDir(dataDir);
  });
  c.admin = api(c.relay.url, ADMIN_KEY);
  expectStatus(await c.admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram' }), 201, 'bank 004');
  expectStatus(await c.admin.post('/v1/banks', { code: '088', name: 'Shinhan Bank' }), 201, 'bank 088');
  expectStatus(await c.admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201, 'merchant');
  for (const bank of ['004', '088']) {
    expectStatus(await c.admin.post('/v1/merchants/shop/contracts', {
      bank, mother_account: bank === '004' ? MOTHER : '088100000000001', holder_name: 'Example Shop Co.',
    }), 201, `contract ${bank}`);
  }
  // Pay-outs take a merchant_payouts key; the checkout key reads the events.
  const shopKey = expectStatus(await c.admin.post('/v1/api-keys', { role: 'merchant_payouts', merchant: 'shop', label: 'shop payouts' }), 201).key;
  c.checkout = api(c.relay.url, expectStatus(await c.admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'shop' }), 201).key);
  const bankKey = expectStatus(await c.admin.post('/v1/api-keys', { role: 'bank', bank: '004', label: 'bank' }), 201).key;
  c.shopKey = shopKey;
  c.shop = api(c.relay.url, shopKey);
  c.sim = await startSim(c.relay.url, bankKey, simArgs);
  const bank = expectStatus(await c.admin.patch('/v1/banks/004', { endpoint: `127.0.0.1:${c.sim.telegramPort}` }), 200, 'endpoint');
  assert.equal(bank.endpoint, `127.0.0.1:${c.sim.telegramPort}`);
  expectStatus(await c.sim.client.post('/accounts', {
    number: MOTHER, holder_name: 'Example Shop Co.', kind: 'mother', prefix: '9004', balance: MOTHER_OPENING,
  }), 201, 'mother account');
  return c;
}

async function motherBalance(c) {
  return expectStatus(await c.sim.client.get(`/accounts/${MOTHER}`), 200, 'mother account').balance;
}

function transferBody(amount, extra = {}) {
  return { bank: '004', amount, recipient: { bank_code: '088', account: '88001234567', name: 'Kim Minji' }, memo: 'REFUND', ...extra };
}

async function createTransfer(c, amount, key = randomUUID()) {
  return expectStatus(await c.shop.post('/v1/transfers', transferBody(amount), { headers: { 'Idempotency-Key': key } }), 202, 'create transfer');
}

async function settled(c, id, timeoutMs = 15_000) {
  return waitFor(async () => {
    const t = expectStatus(await c.shop.get(`/v1/transfers/${id}`), 200, 'get transfer');
    return t.status === 'pending' ? null : t;
  }, { timeoutMs, what: `transfer ${id} to be settled` });
}

/** The simulator's record of the transfer's withdrawal, under the telegram's date and sequence. */
async function bankWithdrawal(c, transfer) {
  const { date, sequence } = transfer.bank_request;
  const reference = `tg:${date.replaceAll('-', '')}:${String(sequence).padStart(6, '0')}`;
  return expectStatus(await c.sim.client.get(`/withdrawals/${reference}`), 200, `withdrawal ${reference}`);
}

test('holder inquiry: the bank names the holder of an account; an unknown account is 404; a bank the relay cannot reach is 502', async (t) => {
  const c = await setup(t);
  const found = expectStatus(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: KIM }), 200, 'inquiry');
  assert.deepEqual(found, { bank_code: '004', account: KIM, holder_name: 'Kim Minji' });
  const mother = expectStatus(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: MOTHER, holder_id: '1234567890' }), 200);
  assert.equal(mother.holder_name, 'Example Shop Co.');
  assertProblem(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: '99999999' }), 404, 'not_found', 'unknown account');
  assertProblem(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '088', account: KIM }), 502, 'bank_unavailable', 'no endpoint');
  assertProblem(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: '12', extra: 1 }), 400, 'invalid_field', 'bad input');
  // The bank gone: a clear 502, not a hang.
  await c.sim.kill();
  c.sim = null;
  assertProblem(await c.shop.post('/v1/account-holder-inquiries', { bank_code: '004', account: KIM }), 502, 'bank_unavailable', 'bank down');
});

test('transfer: completed debits the mother account once and writes transfer.completed; over the balance it is refused (0201) with transfer.refused', async (t) => {
  const c = await setup(t);
  const key = randomUUID();
  const created = await createTransfer(c, 30_000, key);
  assert.equal(created.status, 'pending');
  assert.equal(created.debit_account, MOTHER);
  assert.deepEqual(created.recipient, { bank_code: '088', account: '88001234567', name: 'Kim Minji' });
  const replay = await c.shop.post('/v1/transfers', transferBody(30_000), { headers: { 'Idempotency-Key': key } });
  assert.equal(replay.status, 202);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.body.id, created.id, 'the same key is the same transfer');

  const done = await settled(c, created.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.response_code, '0000');
  assert.equal(done.attempts, 1);
  assert.equal(done.in_doubt, false);
  assert.ok(done.bank_reference, 'the bank names its transaction');
  assert.equal(done.bank_request.sequence, 1, 'the day\'s first transfer to this bank');
  assert.equal(await motherBalance(c), MOTHER_OPENING - 30_000);
  const atBank = await bankWithdrawal(c, done);
  assert.equal(atBank.status, 'completed');
  assert.equal(atBank.amount, 30_000);

  const refused = await settled(c, (await createTransfer(c, 500_000)).id);
  assert.equal(refused.status, 'refused');
  assert.equal(refused.response_code, '0201');
  assert.match(refused.last_error, /insufficient funds/);
  assert.equal(await motherBalance(c), MOTHER_OPENING - 30_000, 'a refusal moves nothing');

  assert.equal(refused.bank_request.sequence, 2);
  const events = expectStatus(await c.checkout.get('/v1/events'), 200).items;
  assert.deepEqual(events.map((e) => e.type), ['transfer.completed', 'transfer.refused']);
  assert.equal(events[0].payload.data.transfer.id, created.id);
  assert.equal(events[0].payload.data.transfer.status, 'completed');
  assert.equal(events[1].payload.data.transfer.response_code, '0201');
  const list = expectStatus(await c.shop.get('/v1/transfers?status=completed'), 200);
  assert.deepEqual(list.items.map((x) => x.id), [created.id]);
});

test('a lost answer: the relay asks (result inquiry) instead of sending again, and the bank debited once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-drop-transfer-answer', '1'] });
  const created = await createTransfer(c, 12_000);
  const done = await settled(c, created.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.attempts, 1, 'the withdrawal went out once; the outcome came from the result inquiry');
  assert.equal(await motherBalance(c), MOTHER_OPENING - 12_000);
  assert.equal((await bankWithdrawal(c, done)).status, 'completed');
});

test('SIGKILL with a withdrawal in doubt: after the restart the relay asks first, and the bank debited once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-drop-transfer-answer', '1'], relayArgs: ['--bank-timeout-ms', '5000'] });
  const created = await createTransfer(c, 7_000);
  await waitFor(async () => {
    const x = expectStatus(await c.shop.get(`/v1/transfers/${created.id}`), 200);
    return x.in_doubt ? x : null;
  }, { what: 'the withdrawal to be sent (in doubt)' });
  await waitFor(async () => (await motherBalance(c)) === MOTHER_OPENING - 7_000 ? true : null, { what: 'the bank to debit' });
  await c.relay.kill();
  c.relay = await startRelay({ dataDir: c.dataDir, args: c.relayArgv });
  c.shop = api(c.relay.url, c.shopKey);
  const done = await settled(c, created.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.attempts, 1, 'never sent twice');
  assert.equal(await motherBalance(c), MOTHER_OPENING - 7_000);
});

test('a bank outage: attempts fail without an answer, then the result inquiry finds nothing and the same withdrawal is sent; debited once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-transfer-outage', '0:3'] });
  const created = await createTransfer(c, 9_000);
  const done = await settled(c, created.id, 20_000);
  assert.equal(done.status, 'completed');
  assert.ok(done.attempts >= 2, `re-sent after the outage (attempts ${done.attempts})`);
  assert.equal(await motherBalance(c), MOTHER_OPENING - 9_000);
});

test('bad transfer requests are refused with problem+json and change nothing', async (t) => {
  const c = await setup(t);
  const post = (body, headers = { 'Idempotency-Key': randomUUID() }) => c.shop.post('/v1/transfers', body, { headers });
  assertProblem(await post(transferBody(1000), {}), 400, 'idempotency_key_missing');
  assertProblem(await post(transferBody('1000')), 400, 'invalid_amount');
  assertProblem(await post(transferBody(0)), 400, 'invalid_amount');
  assertProblem(await post(transferBody(1000, { recipient: { bank_code: '88', account: 'x', name: '' } })), 400, 'invalid_field');
  assertProblem(await post(transferBody(1000, { recipient: undefined })), 400, 'missing_field');
  assertProblem(await post(transferBody(1000, { surprise: true })), 400, 'unknown_field');
  assertProblem(await post(transferBody(1000, { currency: 'USD' })), 400, 'unknown_currency');
  assertProblem(await post(transferBody(1000, { bank: '011' })), 422, 'unknown_bank');
  assertProblem(await c.admin.post('/v1/transfers', transferBody(1000), { headers: { 'Idempotency-Key': randomUUID() } }), 403, 'forbidden');
  assertProblem(await c.admin.patch('/v1/banks/004', { endpoint: 'https://bank.example/api' }), 400, 'invalid_field', 'a URL for a telegram bank');
  assertProblem(await c.shop.get('/v1/transfers/trf_nope'), 404, 'not_found');
  assert.deepEqual(expectStatus(await c.shop.get('/v1/transfers'), 200).items, []);
  assert.equal(await motherBalance(c), MOTHER_OPENING);

  // Text the telegram's EUC-KR cannot carry is replaced there, never a failure: Hangul passes, an
  // emoji becomes '?', and the transfer completes.
  const res = await post(transferBody(2000, { recipient: { bank_code: '088', account: '88001234567', name: '김민지 🙂' }, memo: '환불 🙂' }));
  const done = await settled(c, expectStatus(res, 202).id);
  assert.equal(done.status, 'completed');
  assert.equal(done.recipient.name, '김민지 🙂', 'the relay keeps what the merchant sent');
  assert.equal(await motherBalance(c), MOTHER_OPENING - 2000);
});
