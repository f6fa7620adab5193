// Proves the whole division-account flow in a real browser against a real varelayd and a real
// simulated bank: a master enrols (holder inquiry and consent at the bank), signs in on the master
// pages, issues a division account and sets its limits there; a merchant creates a payment; the
// dependant pays on the payment page and is sent back to the shop with a signed result; the master
// sees the spending against the limit and the statement. Skipped, saying so, while the build has
// no division routes (they come from branch div-api).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, test } from 'node:test';
import { killAllBanksims, startBanksim } from '../e2e/banksim.mjs';
import { ADMIN_KEY, api, binaryPath, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from '../e2e/relay.mjs';
import { assertBuilt, FAILED_LOAD, launch, openPage, screenshot, WEB_ROOT } from './browser.mjs';

const MASTER_ACCOUNT = '11112222333';
const MOTHER = '004100000000001';
const LOGIN = 'parent@example.com';
const MASTER_PASSWORD = 'correct horse 1';
const CHILD_PASSWORD = '482915';

after(async () => {
  await killAllBanksims();
  await killAll();
});

/** A shop's return page on loopback: records each request's query and answers a small page. */
async function startShop() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(new URL(req.url, 'http://127.0.0.1'));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>shop</title><p>Thank you</p>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

/** Relay, telegram bank 004 served by the simulator (the master's account and the shop's mother account), merchant shop. */
async function setup(t) {
  const dataDir = makeTempDir('varelay-flow-');
  const relay = await startRelay({ dataDir, args: ['--web-root', WEB_ROOT, '--bank-timeout-ms', '2000'] });
  t.after(async () => {
    await relay.kill();
    removeDir(dataDir);
  });
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram' }), 201, 'bank');
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: '데모상점' }), 201, 'merchant');
  expectStatus(await admin.post('/v1/merchants/shop/contracts', { bank: '004', mother_account: MOTHER, holder_name: 'Demo Shop Co.' }), 201);
  const shopKey = expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'shop' }), 201).key;
  const bankKey = expectStatus(await admin.post('/v1/api-keys', { role: 'bank', bank: '004', label: 'bank' }), 201).key;
  const sim = await startBanksim({ relayUrl: relay.url, apiKey: bankKey,
    args: ['--telegram-serve', '127.0.0.1:0', '--customer', `${MASTER_ACCOUNT}=500000:Kim Minji`] });
  t.after(() => sim.kill());
  const line = await waitFor(() => /telegram server on 127\.0\.0\.1:(\d+)/.exec(sim.stdout()), { what: 'the telegram server line' });
  expectStatus(await admin.patch('/v1/banks/004', { endpoint: `127.0.0.1:${line[1]}` }), 200, 'endpoint');
  expectStatus(await sim.client.post('/accounts', { number: MOTHER, holder_name: 'Demo Shop Co.', kind: 'mother', prefix: '9004', balance: 0 }), 201);
  return { relay, admin, shop: api(relay.url, shopKey), sim };
}

test('a master issues an account with limits, a dependant pays with it on the payment page, the master sees the statement', async (t) => {
  assertBuilt();
  const routes = execFileSync(binaryPath(), ['--print-routes'], { encoding: 'utf8' });
  if (!routes.includes('POST /v1/master/sessions') || !routes.includes('POST /v1/division-payments/{payment_id}/authorize')) {
    t.skip('this varelayd has no division routes yet (POST /v1/master/sessions, .../authorize: branch div-api)');
    return;
  }

  const c = await setup(t);
  const shopSite = await startShop();
  t.after(() => shopSite.close());
  // Enrolment is not one of the pages: an app (or this test) calls the public route.
  expectStatus(await api(c.relay.url, null).post('/v1/masters', {
    bank_code: '004', account: MASTER_ACCOUNT, holder_name: 'Kim Minji', birth_date: '1980-03-15',
    login: LOGIN, password: MASTER_PASSWORD,
  }), 201, 'enrol the master');

  const browser = await launch();
  t.after(() => browser.close());
  const master = await openPage(browser, { locale: 'ko-KR', allowConsole: [FAILED_LOAD] });
  await master.goto(`${c.relay.url}/master/`);
  await master.getByTestId('login').fill(LOGIN);
  await master.getByTestId('password').fill(MASTER_PASSWORD);
  await master.getByTestId('signin').click();
  await master.getByTestId('accounts-empty').waitFor();

  await master.getByRole('link', { name: '계좌 발급' }).click();
  await master.getByTestId('name').fill('지호');
  await master.getByTestId('relation').selectOption('child');
  await master.getByTestId('initial-password').fill(CHILD_PASSWORD);
  await master.getByTestId('limit-day').fill('30000');
  await master.getByTestId('issue').click();
  const number = (await master.getByTestId('issued-number').textContent()).replaceAll(' ', '');
  assert.match(number, /^94\d{14}$/);
  await screenshot(master, 'flow-issued-ko');

  await master.getByRole('link', { name: '지호' }).click();
  await master.getByTestId('limit-month').fill('200000');
  await master.getByTestId('save').click();
  await master.getByText('저장되었습니다.').waitFor();

  const created = expectStatus(await c.shop.post('/v1/division-payments',
    { order_id: 'order-2001', amount: 12000, return_url: `${shopSite.url}/done` },
    { headers: { 'Idempotency-Key': randomUUID() } }), 201, 'create the payment');
  const payer = await openPage(browser, { locale: 'ko-KR' });
  await payer.goto(new URL(created.payment_page_url, c.relay.url).href);
  assert.equal(await payer.getByTestId('amount').textContent(), '12,000원');
  await payer.getByTestId('number').pressSequentially(number);
  await payer.getByTestId('password').fill(CHILD_PASSWORD);
  await screenshot(payer, 'flow-pay-ko');
  await payer.getByTestId('submit').click();
  await payer.getByTestId('outcome').waitFor();
  await screenshot(payer, 'flow-approved-ko');
  await payer.waitForURL(`${shopSite.url}/done?**`, { timeout: 30_000 });
  const back = shopSite.seen.at(-1).searchParams;
  const { id } = created;
  assert.equal(back.get('payment'), id);
  assert.equal(back.get('status'), 'approved');
  const expected = createHmac('sha256', created.result_key).update(`${id}.approved.12000.${back.get('ts')}`).digest('hex');
  assert.equal(back.get('sig'), expected, 'the result is signed with the payment\'s result key');
  payer.assertClean();

  await master.getByRole('link', { name: '계좌 목록' }).click();
  await master.getByText('12,000원 / 30,000원').waitFor();
  await master.getByRole('link', { name: '지호' }).click();
  await master.getByTestId('statement-show').click();
  assert.equal(await master.getByTestId('statement-total').textContent(), '12,000원');
  await screenshot(master, 'flow-statement-ko');
  master.assertClean();
});
