// Proves division accounts end to end with real processes (varelayd and the simulated bank over
// loopback telegrams): enrolment (the holder's name checked at the bank, a mismatch and a refused
// consent storing nothing), sign-in (one answer for an unknown login and a wrong password), two
// accounts issued and their limits set, a merchant's payment authorised on the page with number
// and password, five wrong passwords locking an account, a decline over the daily limit, a
// co-approval approved, statements as JSON and CSV, another master's account and another
// merchant's payment answering 404; and one debit at the bank (the master's sealed account opened
// by the transfer executor), the balance lowered, a refund giving the limit back.
// Every answer is checked against docs/openapi.yaml (api() in relay.mjs).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';
import { killAllBanksims, startBanksim } from './banksim.mjs';

after(async () => {
  await killAllBanksims();
  await killAll();
});

const BANK = '004';
const MINJI = { account: '11112222333', holder_name: 'Kim Minji', holder_id: '840309', birth_date: '1984-03-09' };
const JUNHO = { account: '11113333444', holder_name: 'Lee Junho', holder_id: '790101', birth_date: '1979-01-01' };
const NEW_DEPENDANT = { dependant: { name: 'Kim Jiho', phone: '01055557777' }, label: 'Jiho', password: '480213' };

async function setup(t) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--password-hash-strength', 'testing-only', '--bank-timeout-ms', '3000'] });
  const c = { relay, admin: api(relay.url, ADMIN_KEY), public: api(relay.url, null) };
  t.after(async () => {
    if (c.sim) await c.sim.kill();
    await relay.kill();
    removeDir(dataDir);
  });
  expectStatus(await c.admin.post('/v1/banks', { code: BANK, name: 'KB Kookmin Bank', protocol: 'telegram' }), 201);
  for (const id of ['shop', 'rival']) {
    expectStatus(await c.admin.post('/v1/merchants', { id, name: `${id} store` }), 201);
    expectStatus(await c.admin.post(`/v1/merchants/${id}/contracts`, { bank: BANK, mother_account: `00410000000000${id === 'shop' ? 1 : 2}`, holder_name: id }), 201);
  }
  const key = async (body) => expectStatus(await c.admin.post('/v1/api-keys', body), 201).key;
  c.shop = api(relay.url, await key({ role: 'merchant', merchant: 'shop', label: 'shop' }));
  c.rival = api(relay.url, await key({ role: 'merchant', merchant: 'rival', label: 'rival' }));
  const bankKey = await key({ role: 'bank', bank: BANK, label: 'bank' });
  c.sim = await startBanksim({ relayUrl: relay.url, apiKey: bankKey, args: ['--bank', BANK, '--telegram-serve', '127.0.0.1:0'] });
  const line = await waitFor(() => /telegram server on 127\.0\.0\.1:(\d+)/.exec(c.sim.stdout()), { what: 'the telegram server line' });
  expectStatus(await c.admin.patch(`/v1/banks/${BANK}`, { endpoint: `127.0.0.1:${line[1]}` }), 200);
  // The shop's mother account, which a debit credits and a refund is paid from.
  expectStatus(await c.sim.client.post('/accounts', { number: '004100000000001', holder_name: 'shop store', kind: 'mother', prefix: '9004', balance: 1_000_000 }), 201);
  for (const who of [MINJI, JUNHO]) {
    const opened = await c.sim.client.post('/sim/accounts', { bank: BANK, account: who.account, holder_name: who.holder_name, holder_id: who.holder_id, balance: 1_000_000 });
    assert.ok(opened.status === 200 || opened.status === 201, `sim account: ${opened.status} ${opened.text}`);
  }
  return c;
}

const enrolBody = (who, login, over = {}) => ({ bank_code: BANK, account: who.account, holder_name: who.holder_name, birth_date: who.birth_date, login, password: 'blue heron 42', ...over });

async function signIn(c, login) {
  const session = expectStatus(await c.public.post('/v1/master/sessions', { login, password: 'blue heron 42' }), 201);
  assert.match(session.token, /^vms_/);
  return api(c.relay.url, session.token);
}

async function pay(c, amount, orderId) {
  const p = expectStatus(await c.shop.post('/v1/division-payments', { order_id: orderId, amount, return_url: 'https://shop.example/back' }, { headers: { 'Idempotency-Key': orderId } }), 201);
  const token = /#t=(.+)$/.exec(p.payment_page_url)[1];
  p.page = api(c.relay.url, null);
  p.authorize = (number, password) => p.page.post(`/v1/division-payments/${p.id}/authorize`, { number, password }, { headers: { Authorization: `Page ${token}` } });
  return p;
}

async function settled(c, id) {
  return waitFor(async () => {
    const p = expectStatus(await c.shop.get(`/v1/division-payments/${id}`), 200);
    return ['approved', 'declined'].includes(p.status) ? p : null;
  }, { what: `payment ${id} to settle` });
}

// Enrols Minji (after a mismatch and a refused consent) and signs her in.
async function enrolMinji(c) {
  assertProblem(await c.public.post('/v1/masters', enrolBody(MINJI, 'minji@example.com', { holder_name: 'Park Minji' })), 422, 'holder_mismatch');
  assertProblem(await c.public.post('/v1/masters', enrolBody(MINJI, 'minji@example.com', { birth_date: '1990-01-01' })), 422, 'consent_refused');
  assertProblem(await c.public.post('/v1/master/sessions', { login: 'minji@example.com', password: 'blue heron 42' }), 401, 'invalid_credentials');
  const master = expectStatus(await c.public.post('/v1/masters', enrolBody(MINJI, 'Minji@Example.com')), 201);
  assert.deepEqual([master.holder_name, master.login, master.account], ['Kim Minji', 'minji@example.com', MINJI.account]);
  assertProblem(await c.public.post('/v1/masters', enrolBody(MINJI, 'minji@example.com')), 409, 'login_taken');
  assertProblem(await c.public.post('/v1/master/sessions', { login: 'minji@example.com', password: 'wrong password 1' }), 401, 'invalid_credentials');
  assertProblem(await c.public.post('/v1/master/sessions', { login: 'nobody@example.com', password: 'blue heron 42' }), 401, 'invalid_credentials');
  const minji = await signIn(c, 'minji@example.com');
  assert.equal(expectStatus(await minji.get('/v1/master'), 200).id, master.id);
  return minji;
}

test('enrol, sign in, issue, limits, authorise, lock-out, co-approval, statements, ownership', async (t) => {
  const c = await setup(t);
  const minji = await enrolMinji(c);

  const jiho = expectStatus(await minji.post('/v1/master/division-accounts', { ...NEW_DEPENDANT, limits: { per_day: 15000 } }), 201);
  const seoa = expectStatus(await minji.post('/v1/master/division-accounts', { dependant: { name: 'Kim Seoa' }, password: '730419', approval: { threshold: 1000 } }), 201);
  assert.match(jiho.number, /^94\d{14}$/);
  assert.notEqual(jiho.number, seoa.number);
  assert.deepEqual(jiho.dependant, { name: 'Kim Jiho', phone: '01055557777' });
  const changed = expectStatus(await minji.patch(`/v1/master/division-accounts/${jiho.id}`, { limits: { per_payment: 13000 } }), 200);
  assert.deepEqual(changed.limits, { per_payment: 13000, per_day: 15000, per_month: null });
  assert.equal(expectStatus(await minji.get('/v1/master/division-accounts'), 200).items.length, 2);
  assertProblem(await minji.post('/v1/master/division-accounts', { dependant: { name: 'X', phone: '01048021399' }, password: '480213' }), 422, 'weak_password');

  // Number and password on the page: the checks pass and the master's bank is asked.
  const first = await pay(c, 12000, 'ORD-1');
  const page = expectStatus(await first.authorize(jiho.number, '480213'), 200);
  assert.ok(['debiting', 'approved', 'declined'].includes(page.status), page.status);
  assert.notEqual(page.decline_reason, 'wrong_password');
  assertProblem(await first.authorize(jiho.number, '480213'), 409, 'payment_not_authorizable');

  // Over the daily limit (15000) and over the payment limit (13000).
  const second = await pay(c, 16000, 'ORD-2');
  const over = expectStatus(await second.authorize(jiho.number, '480213'), 200);
  assert.deepEqual([over.status, over.decline_reason], ['declined', 'over_payment_limit']);
  assert.match(over.redirect_url, /^https:\/\/shop\.example\/back\?payment=dvp_.*&status=declined&ts=\d+&sig=[0-9a-f]{64}$/);
  expectStatus(await minji.patch(`/v1/master/division-accounts/${jiho.id}`, { limits: { per_payment: null } }), 200);
  const third = await pay(c, 16000, 'ORD-3');
  const daily = expectStatus(await third.authorize(jiho.number, '480213'), 200);
  assert.deepEqual([daily.status, daily.decline_reason], ['declined', 'over_daily_limit']);

  // Co-approval: above 1000 won the payment waits for the master, who approves it once.
  const fourth = await pay(c, 3000, 'ORD-4');
  assert.equal(expectStatus(await fourth.authorize(seoa.number, '730419'), 200).status, 'awaiting_approval');
  const approvals = expectStatus(await minji.get('/v1/master/approvals'), 200).items;
  assert.deepEqual(approvals.map((a) => [a.payment_id, a.status]), [[fourth.id, 'pending']]);
  assert.equal(expectStatus(await minji.post(`/v1/master/approvals/${approvals[0].id}/approve`), 200).status, 'approved');
  assertProblem(await minji.post(`/v1/master/approvals/${approvals[0].id}/decline`), 409, 'approval_not_pending');

  // Five wrong passwords in a row lock the account and decline the payment; the master unlocks.
  const fifth = await pay(c, 1000, 'ORD-5');
  const left = [];
  for (let i = 0; i < 4; i++) {
    const wrong = await fifth.authorize(jiho.number, '999111');
    assertProblem(wrong, 422, 'wrong_password');
    left.push(wrong.body.attempts_left);
  }
  assert.deepEqual(left, [4, 3, 2, 1], 'each wrong password says how many the account still takes');
  const locked = expectStatus(await fifth.authorize(jiho.number, '999111'), 200);
  assert.deepEqual([locked.status, locked.decline_reason], ['declined', 'account_locked']);
  assert.equal(expectStatus(await minji.get(`/v1/master/division-accounts/${jiho.id}`), 200).locked, true);
  assert.equal(expectStatus(await minji.post(`/v1/master/division-accounts/${jiho.id}/unlock`), 200).locked, false);
  assertProblem(await minji.post(`/v1/master/division-accounts/${jiho.id}/password`, { password: '123456' }), 422, 'weak_password');
  expectStatus(await minji.post(`/v1/master/division-accounts/${jiho.id}/password`, { password: '730419' }), 200);

  // Frozen, the account declines; closed, it changes no more. An app token acts as the master.
  expectStatus(await minji.post(`/v1/master/division-accounts/${jiho.id}/freeze`), 200);
  const sixth = await pay(c, 1000, 'ORD-6');
  const frozen = expectStatus(await sixth.authorize(jiho.number, '730419'), 200);
  assert.deepEqual([frozen.status, frozen.decline_reason], ['declined', 'account_frozen']);
  assert.equal(expectStatus(await minji.post(`/v1/master/division-accounts/${jiho.id}/unfreeze`), 200).status, 'active');
  assert.equal(expectStatus(await minji.post(`/v1/master/division-accounts/${seoa.id}/close`), 200).status, 'closed');
  assertProblem(await minji.post(`/v1/master/division-accounts/${seoa.id}/freeze`), 409, 'division_account_closed');
  const app = expectStatus(await minji.post('/v1/master/tokens', { label: 'family app' }), 201);
  assert.match(app.token, /^vmt_/);
  assert.equal(expectStatus(await api(c.relay.url, app.token).get('/v1/master/division-accounts'), 200).items.length, 2);

  // Statements: JSON, and CSV with a header row.
  const statement = expectStatus(await minji.get('/v1/master/statement'), 200);
  assert.ok(statement.items.length >= 4, JSON.stringify(statement));
  const csv = await minji.get(`/v1/master/division-accounts/${jiho.id}/statement`, { headers: { Accept: 'text/csv' } });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.text, /^payment_id,account_id,number,dependant,merchant,order_id,status,decline_reason,amount,refunded,authorized_at\r\n/);
  assert.ok(csv.text.includes('Kim Jiho'));

  // Another master sees none of Minji's; another merchant none of the shop's payments.
  expectStatus(await c.public.post('/v1/masters', enrolBody(JUNHO, '010-5555-1234')), 201);
  const junho = await signIn(c, '01055551234');
  assertProblem(await junho.get(`/v1/master/division-accounts/${jiho.id}`), 404, 'not_found');
  assertProblem(await junho.post(`/v1/master/approvals/${approvals[0].id}/approve`), 404, 'not_found');
  assertProblem(await c.rival.get(`/v1/division-payments/${first.id}`), 404, 'not_found');
  assert.equal(expectStatus(await c.shop.get(`/v1/division-payments/${first.id}`), 200).order_id, 'ORD-1');
  expectStatus(await minji.request('DELETE', '/v1/master/sessions/current'), 204);
  assertProblem(await minji.get('/v1/master'), 401, 'unauthorized');
});

test('a payment is debited once from the master\'s account, and a refund gives the limit back', async (t) => {
  const c = await setup(t);
  const minji = await enrolMinji(c);
  const jiho = expectStatus(await minji.post('/v1/master/division-accounts', { ...NEW_DEPENDANT, limits: { per_day: 15000 } }), 201);
  const first = await pay(c, 12000, 'ORD-1');
  expectStatus(await first.authorize(jiho.number, '480213'), 200);
  const done = await settled(c, first.id);
  assert.equal(done.status, 'approved', JSON.stringify(done));
  const atBank = await c.sim.client.get(`/sim/accounts/${BANK}/${MINJI.account}`);
  assert.equal(atBank.body.balance, 1_000_000 - 12000, atBank.text);
  assert.equal(atBank.body.debits.length, 1, atBank.text);
  assertProblem(await c.shop.post(`/v1/division-payments/${first.id}/refunds`, { amount: 12001 }, { headers: { 'Idempotency-Key': 'r0' } }), 422, 'refund_exceeds_payment');
  const refund = expectStatus(await c.shop.post(`/v1/division-payments/${first.id}/refunds`, { amount: 12000 }, { headers: { 'Idempotency-Key': 'r1' } }), 201);
  // The refund's transfer, as the shop reads it: the master's account only in its sealed form.
  const transfer = expectStatus(await c.shop.get(`/v1/transfers/${refund.id}`), 200);
  assert.match(transfer.recipient.account, /^s1\./);
  await waitFor(async () => expectStatus(await minji.get(`/v1/master/division-accounts/${jiho.id}`), 200).spent.today === 0, { what: 'the limit given back' });
  assert.equal(expectStatus(await c.shop.get(`/v1/division-payments/${first.id}`), 200).status, 'refunded');
  const refunded = await c.sim.client.get(`/sim/accounts/${BANK}/${MINJI.account}`);
  assert.equal(refunded.body.balance, 1_000_000, refunded.text);
});

test('enrolments and sign-ins from one address are limited: a burst of 20, then 429 with Retry-After', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--password-hash-strength', 'testing-only'] });
  t.after(async () => {
    await relay.kill();
    removeDir(dataDir);
  });
  const anyone = api(relay.url, null);
  for (let i = 0; i < 20; i++) assertProblem(await anyone.post('/v1/master/sessions', { login: 'nobody@example.com', password: 'x' }), 401, 'invalid_credentials');
  const limited = await anyone.post('/v1/masters', enrolBody(MINJI, 'minji@example.com'));
  assertProblem(limited, 429, 'rate_limited');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter} s, one a 3 s`);
});

test('a master enrols at a JSON bank: holder inquiry and consent by the Open Banking routes', async (t) => {
  const dataDir = makeTempDir();
  const sim = await startBanksim({ relayUrl: 'http://127.0.0.1:9', apiKey: 'unused', args: ['--bank', '088'] });
  const relay = await startRelay({ dataDir, args: ['--password-hash-strength', 'testing-only', '--json-bank', `088=${sim.url}`] });
  t.after(async () => {
    await sim.kill();
    await relay.kill();
    removeDir(dataDir);
  });
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '088', name: 'Shinhan Bank' }), 201);
  expectStatus(await sim.client.post('/sim/accounts', { bank: '088', account: JUNHO.account, holder_name: JUNHO.holder_name, holder_id: JUNHO.holder_id, balance: 5000 }), 201);
  const anyone = api(relay.url, null);
  const body = { ...enrolBody(JUNHO, 'junho@example.com'), bank_code: '088' };
  assertProblem(await anyone.post('/v1/masters', { ...body, holder_name: 'Lee Junha' }), 422, 'holder_mismatch');
  assertProblem(await anyone.post('/v1/masters', { ...body, account: '99990000111' }), 404, 'not_found');
  const master = expectStatus(await anyone.post('/v1/masters', body), 201);
  assert.equal(master.bank_code, '088');
  assert.ok(master.consent.consent_id);
  const atBank = await sim.client.get(`/sim/accounts/088/${JUNHO.account}`);
  assert.equal(atBank.body.consent_id, master.consent.consent_id, atBank.text);
});
