// Proves account-holder inquiries are guarded and kept: a merchant without a contract with the
// bank is refused 422 no_contract (the bank is not asked); a merchant asking more often than
// --holder-inquiries-per-minute gets 429 rate_limited with Retry-After; every inquiry made is
// recorded (merchant, key, bank, account masked, outcome, times) and listed, newest first and
// paginated, to an admin key only.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';
import { killAllBanksims, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const KIM = '11112222333';

async function setup(t) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--holder-inquiries-per-minute', '3', '--bank-timeout-ms', '2000'] });
  const c = { relay, admin: api(relay.url, ADMIN_KEY) };
  t.after(async () => {
    if (c.sim) await c.sim.kill();
    await relay.kill();
    removeDir(dataDir);
  });
  expectStatus(await c.admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram' }), 201);
  for (const id of ['shop', 'rival']) expectStatus(await c.admin.post('/v1/merchants', { id, name: id }), 201);
  expectStatus(await c.admin.post('/v1/merchants/shop/contracts', { bank: '004', mother_account: '004100000000001', holder_name: 'Example Shop Co.' }), 201);
  const key = async (body) => expectStatus(await c.admin.post('/v1/api-keys', body), 201);
  const shopKey = await key({ role: 'merchant_payouts', merchant: 'shop', label: 'shop payouts' });
  c.shopKeyId = shopKey.id;
  c.shop = api(relay.url, shopKey.key);
  c.rival = api(relay.url, (await key({ role: 'merchant', merchant: 'rival', label: 'rival' })).key);
  const bankKey = (await key({ role: 'bank', bank: '004', label: 'bank' })).key;
  c.sim = await startBanksim({ relayUrl: relay.url, apiKey: bankKey, args: ['--telegram-serve', '127.0.0.1:0', '--customer', `${KIM}=5000:Kim Minji`] });
  const line = await waitFor(() => /telegram server on 127\.0\.0\.1:(\d+)/.exec(c.sim.stdout()), { what: 'the telegram server line' });
  expectStatus(await c.admin.patch('/v1/banks/004', { endpoint: `127.0.0.1:${line[1]}` }), 200);
  return c;
}

const ask = (client, account = KIM) => client.post('/v1/account-holder-inquiries', { bank_code: '004', account });

test('no contract, no inquiry; too many, 429 with Retry-After; each recorded for admins', async (t) => {
  const c = await setup(t);
  assertProblem(await ask(c.rival), 422, 'no_contract');

  assert.equal(expectStatus(await ask(c.shop), 200).holder_name, 'Kim Minji');
  assertProblem(await ask(c.shop, '99999999'), 404, 'not_found');
  expectStatus(await ask(c.shop), 200);
  const limited = await ask(c.shop);
  assertProblem(limited, 429, 'rate_limited');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 20, `Retry-After ${retryAfter} s, one inquiry every 20 s`);

  assertProblem(await c.shop.get('/v1/account-holder-inquiries'), 403, 'forbidden');
  const page = expectStatus(await c.admin.get('/v1/account-holder-inquiries?merchant=shop&limit=2'), 200);
  assert.equal(page.items.length, 2);
  assert.ok(page.next_before);
  const rest = expectStatus(await c.admin.get(`/v1/account-holder-inquiries?merchant=shop&before=${page.next_before}`), 200);
  assert.equal(rest.next_before, null);
  const all = [...page.items, ...rest.items];
  assert.deepEqual(all.map((x) => [x.outcome, x.account_masked]),
    [['found', '*******2333'], ['not_found', '****9999'], ['found', '*******2333']], 'newest first; refusals are not inquiries');
  for (const x of all) {
    assert.deepEqual([x.merchant, x.key_id, x.bank_code], ['shop', c.shopKeyId, '004']);
    assert.ok(x.asked_at && x.answered_at);
  }
  assert.ok(!JSON.stringify(all).includes(KIM), 'no whole account number is kept');
  assert.deepEqual(expectStatus(await c.admin.get('/v1/account-holder-inquiries?merchant=rival'), 200).items, []);
});
