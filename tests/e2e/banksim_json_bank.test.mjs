// Proves transfers to a JSON (Open Banking-style) bank end to end, varelayd and varelay-banksim as
// separate processes: with --json-bank 088=<the simulator>, POST /v1/transfers is sent as
// POST /v2.0/transfer/withdraw and completes, crediting a recipient account at the same bank (a
// refund to a master); a dropped answer (the bank booked, never answered) is resolved by
// /v2.0/transfer/result with exactly one debit; a debit answered after the relay gave up, likewise;
// a SIGKILL of varelayd with the withdrawal in doubt, likewise after the restart; insufficient funds
// is refused with the bank's code 201; a JSON bank without a URL keeps the transfer pending with
// last_error saying so; a malformed --json-bank stops varelayd at start. At the bank's endpoint
// instead, the requests carry the bank's signature, which the simulator checks.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';

import { ADMIN_KEY, api, binaryPath, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';
import { killAllBanksims, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const MOTHER = '088100000000001';
const MASTER = '33334444555';
const MOTHER_OPENING = 100_000;
const MASTER_OPENING = 5_000;

/**
 * A simulator serving bank 088 (its own relay link unused: this test only has the relay ask it),
 * and a relay given its URL with --json-bank, with json banks 088 and 004 (no URL), merchant shop
 * with a contract at each and a pay-out key. With `signed`, the relay is started first, issues bank
 * 088 a signing secret, the simulator is given `simSecret` (by default that one) and the relay
 * learns its URL as bank 088's endpoint instead.
 */
async function setup(t, { simArgs = [], timeoutMs = 700, signed = false, simSecret } = {}) {
  const dataDir = makeTempDir();
  const c = { dataDir };
  const startSim = (args) => startBanksim({ relayUrl: 'http://127.0.0.1:9', apiKey: 'unused', args: ['--bank', '088', ...args, ...simArgs] });
  if (!signed) c.sim = await startSim([]);
  c.relayArgv = ['--bank-timeout-ms', String(timeoutMs), '--transfer-retry-max-s', '1'];
  if (!signed) c.relayArgv.push('--json-bank', `088=${c.sim.url}`);
  c.relay = await startRelay({ dataDir, args: c.relayArgv });
  t.after(async () => {
    if (c.sim) await c.sim.kill();
    await c.relay.kill();
    removeDir(dataDir);
  });
  c.admin = api(c.relay.url, ADMIN_KEY);
  for (const code of ['088', '004']) {
    expectStatus(await c.admin.post('/v1/banks', { code, name: `Bank ${code}` }), 201, `bank ${code}`);
  }
  if (signed) {
    const secret = expectStatus(await c.admin.post('/v1/banks/088/signing-secret'), 201, 'signing secret').signing_secret;
    c.sim = await startSim(['--signing-secret', simSecret ?? secret]);
    expectStatus(await c.admin.patch('/v1/banks/088', { endpoint: c.sim.url }), 200, 'endpoint');
  }
  expectStatus(await c.admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201, 'merchant');
  for (const bank of ['088', '004']) {
    expectStatus(await c.admin.post('/v1/merchants/shop/contracts', {
      bank, mother_account: bank === '088' ? MOTHER : '004100000000001', holder_name: 'Example Shop Co.',
    }), 201, `contract ${bank}`);
  }
  c.shopKey = expectStatus(await c.admin.post('/v1/api-keys', { role: 'merchant_payouts', merchant: 'shop', label: 'payouts' }), 201).key;
  c.shop = api(c.relay.url, c.shopKey);
  expectStatus(await c.sim.client.post('/accounts', {
    number: MOTHER, holder_name: 'Example Shop Co.', kind: 'mother', prefix: '9088', balance: MOTHER_OPENING,
  }), 201, 'mother account');
  expectStatus(await c.sim.client.post('/sim/accounts', {
    bank: '088', account: MASTER, holder_name: 'Kim Minji', holder_id: '900101', balance: MASTER_OPENING,
  }), 201, 'master account');
  return c;
}

async function createTransfer(c, amount, { bank = '088', recipient = { bank_code: '088', account: MASTER, name: 'Kim Minji' } } = {}) {
  return expectStatus(await c.shop.post('/v1/transfers', { bank, amount, recipient, memo: 'REFUND' },
    { headers: { 'Idempotency-Key': randomUUID() } }), 202, 'create transfer');
}

async function settled(c, id, timeoutMs = 15_000) {
  return waitFor(async () => {
    const t = expectStatus(await c.shop.get(`/v1/transfers/${id}`), 200, 'get transfer');
    return t.status === 'pending' ? null : t;
  }, { timeoutMs, what: `transfer ${id} to be settled` });
}

async function simAccount(c, account) {
  return expectStatus(await c.sim.client.get(`/sim/accounts/088/${account}`), 200, `account ${account}`);
}

test('a transfer to a JSON bank completes and credits a recipient at the same bank; insufficient funds is refused 201', async (t) => {
  const c = await setup(t);
  const done = await settled(c, (await createTransfer(c, 30_000)).id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 1);
  assert.equal(done.response_code, '000');
  const mother = await simAccount(c, MOTHER);
  assert.equal(mother.balance, MOTHER_OPENING - 30_000);
  assert.equal(mother.debits.length, 1);
  assert.match(mother.debits[0].reference, /^ob:\d{8}:VR00000001U\d{9}$/, 'bank_tran_id = institution code + U + 9 digits');
  assert.equal((await simAccount(c, MASTER)).balance, MASTER_OPENING + 30_000, 'the refund landed on the master');

  const refused = await settled(c, (await createTransfer(c, 500_000)).id);
  assert.equal(refused.status, 'refused');
  assert.equal(refused.response_code, '201');
  assert.equal((await simAccount(c, MOTHER)).balance, MOTHER_OPENING - 30_000);
});

test('a dropped answer: the JSON bank booked and never answered; the result inquiry settles it, debited once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-drop-transfer-answer', '1'] });
  const done = await settled(c, (await createTransfer(c, 12_000)).id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 1, 'the withdrawal went out once; the outcome came from transfer/result');
  const mother = await simAccount(c, MOTHER);
  assert.equal(mother.debits.length, 1, 'exactly one debit');
  assert.equal(mother.balance, MOTHER_OPENING - 12_000);
});

test('a debit answered after the relay gave up is resolved by the result inquiry, debited once', async (t) => {
  const c = await setup(t, { simArgs: ['--fault-debit-delay-ms', '2000'] });
  const done = await settled(c, (await createTransfer(c, 7_000)).id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 1);
  const mother = await simAccount(c, MOTHER);
  assert.equal(mother.debits.length, 1);
  assert.equal(mother.balance, MOTHER_OPENING - 7_000);
});

test('SIGKILL with a JSON withdrawal in doubt: after the restart the relay asks transfer/result first, debited once', async (t) => {
  // The bank books at once and answers 4 s later: the relay is killed while it waits.
  const c = await setup(t, { simArgs: ['--fault-debit-delay-ms', '4000'], timeoutMs: 5000 });
  const created = await createTransfer(c, 9_000);
  await waitFor(async () => {
    const x = expectStatus(await c.shop.get(`/v1/transfers/${created.id}`), 200);
    return x.in_doubt ? x : null;
  }, { what: 'the withdrawal to be sent (in doubt)' });
  await waitFor(async () => ((await simAccount(c, MOTHER)).debits.length === 1 ? true : null), { what: 'the bank to debit' });
  await c.relay.kill();
  c.relay = await startRelay({ dataDir: c.dataDir, args: c.relayArgv });
  c.shop = api(c.relay.url, c.shopKey);
  const done = await settled(c, created.id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 1, 'never sent twice');
  const mother = await simAccount(c, MOTHER);
  assert.equal(mother.debits.length, 1);
  assert.equal(mother.balance, MOTHER_OPENING - 9_000);
});

test('at the bank\'s endpoint, signed with its secret: the bank checks the signature; a wrong secret moves nothing', async (t) => {
  const c = await setup(t, { signed: true });
  const done = await settled(c, (await createTransfer(c, 4_000)).id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal((await simAccount(c, MOTHER)).balance, MOTHER_OPENING - 4_000);

  const w = await setup(t, { signed: true, simSecret: 'bsk_not_the_relays' });
  const created = await createTransfer(w, 4_000);
  const waiting = await waitFor(async () => {
    const tr = expectStatus(await w.shop.get(`/v1/transfers/${created.id}`), 200);
    return tr.last_error ? tr : null;
  }, { what: 'the refused signature to be recorded' });
  assert.equal(waiting.status, 'pending');
  assert.match(waiting.last_error, /401/);
  assert.equal((await simAccount(w, MOTHER)).debits.length, 0);
});

test('a JSON bank without a URL: the transfer is taken and stays pending, last_error naming --json-bank', async (t) => {
  const c = await setup(t);
  const created = await createTransfer(c, 1_000, { bank: '004' });
  const waiting = await waitFor(async () => {
    const tr = expectStatus(await c.shop.get(`/v1/transfers/${created.id}`), 200);
    return tr.last_error ? tr : null;
  }, { what: 'the transfer to record why it waits' });
  assert.equal(waiting.status, 'pending');
  assert.equal(waiting.attempts, 0, 'nothing was sent');
  assert.match(waiting.last_error, /--json-bank 004=URL/);
});

test('a malformed --json-bank stops varelayd at start with exit 2, naming the flag', () => {
  const dataDir = makeTempDir();
  try {
    const run = spawnSync(binaryPath(), ['--listen', '127.0.0.1:0', '--data', dataDir, '--json-bank', '88=ftp://bank'], {
      env: { ...process.env, VARELAY_ADMIN_KEY: ADMIN_KEY }, encoding: 'utf8', timeout: 15_000,
    });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /--json-bank must be CODE=http\(s\):\/\/HOST/);
  } finally {
    removeDir(dataDir);
  }
});
