// Proves ISO 20022 over HTTP: camt.054 notifications (and the CLI import) book a credit to a
// virtual account once however often the message is sent, a reversal cancels it, foreign or
// unplaceable transactions are skipped with a reason, a refused message books nothing; camt.053
// statements are stored once per account with their balances and sums, for reconciliation.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  ADMIN_KEY, REPO_ROOT, allDeposits, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, seedDemo,
  startRelay,
} from './relay.mjs';

after(killAll);

const TESTDATA = path.join(REPO_ROOT, 'src/banks/iso20022/testdata');
const SHARED = path.join(REPO_ROOT, '..', 'shared', 'testdata', 'iso20022');
const NUMBER = '56211234567890';  // the creditor account in the hand-written KRW samples

function cliPath() {
  return path.resolve(REPO_ROOT, process.env.VARELAY_CLI || 'build/release/apps/varelay/varelay');
}

function postXml(client, xml, query = '') {
  return client.request('POST', `/v1/bank/camt054${query}`, { raw: xml, headers: { 'Content-Type': 'application/xml' } });
}

test('camt.054: a KRW credit pays the order once, the same message again is a duplicate, a reversal cancels it; other messages book nothing', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1, protocol: 'iso20022' });
  const admin = api(relay.url, ADMIN_KEY);
  const shop = api(relay.url, seed.keys.shop);
  const bank = api(relay.url, seed.keys.bank004);
  expectStatus(await admin.post('/v1/pools/shop/004/camt/numbers', { numbers: [NUMBER] }), 200, 'load the number');
  const order = expectStatus(await shop.post('/v1/assignments', { order_id: 'CAMT-1', amount: 39000, bank: '004', region: 'camt' },
    { headers: { 'Idempotency-Key': 'camt-1' } }), 201, 'issue');
  assert.equal(order.number, NUMBER);

  const deposit = readFileSync(path.join(TESTDATA, 'krw_deposit.camt054.xml'), 'utf8');
  const first = expectStatus(await postXml(bank, deposit), 200, 'camt.054 deposit');
  assert.equal(first.source, 'KB-NTF-20261125-000001');
  assert.deepEqual([first.booked, first.duplicates, first.refused], [1, 0, 0]);
  assert.equal(first.items[0].result, 'booked');
  assert.equal(first.items[0].deposit.outcome, 'matched');
  assert.equal(first.items[0].deposit.payer_name, '홍길동');
  assert.equal(first.items[0].deposit.amount, 39000);
  assert.equal(expectStatus(await shop.get('/v1/orders/CAMT-1'), 200, 'order').status, 'paid');

  const again = expectStatus(await postXml(bank, deposit), 200, 'the same message again');
  assert.deepEqual([again.booked, again.duplicates], [0, 1]);
  assert.equal((await allDeposits(admin)).length, 1, 'booked once');

  // The reversal through the operator CLI, as a bank's file import would go.
  const { stdout } = await promisify(execFile)(cliPath(), ['--url', relay.url, '--key', seed.keys.bank004,
    'camt054', 'import', path.join(TESTDATA, 'krw_reversal.camt054.xml')]);
  assert.match(stdout, /booked 1, duplicates 0, refused 0/);
  assert.match(stdout, /cancellation .*: booked/);
  const deposits = await allDeposits(admin);
  assert.equal(deposits.length, 1);
  assert.equal(deposits[0].status, 'cancelled');
  assert.equal(expectStatus(await admin.get('/v1/ledger/verify'), 200, 'verify').ok, true);

  // Real Swiss and Finnish samples: CHF/EUR to IBANs, no virtual account numbers: nothing booked.
  for (const file of ['200519_camt.054-Credit_P_CH2909000000250094239_1110092691_0_2019042421291293.xml',
    '200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml', 'FI_camt_054_sample.xml']) {
    const report = expectStatus(await postXml(bank, readFileSync(path.join(SHARED, file), 'utf8')), 200, file);
    assert.equal(report.booked + report.duplicates, 0, `${file} books nothing`);
    assert.ok(report.skipped.length + report.refused > 0, `${file} says what it skipped`);
  }
  assert.equal((await allDeposits(admin)).length, 1, 'still one deposit');

  // Refused whole: malformed XML, a fractional KRW amount, the wrong media type, the wrong role.
  assertProblem(await postXml(bank, '<Document><unclosed>'), 400, 'malformed_xml');
  assertProblem(await postXml(bank, deposit.replaceAll('>39000<', '>39000.5<')), 400, 'invalid_amount');
  assertProblem(await bank.post('/v1/bank/camt054', { not: 'xml' }), 415, 'unsupported_media_type');
  assertProblem(await postXml(bank, deposit, '?virtual_account=elsewhere'), 400, 'invalid_field');
  assertProblem(await postXml(shop, deposit), 403, 'forbidden');
  assert.equal((await allDeposits(admin)).length, 1, 'refused messages booked nothing');
});

test('camt.053: real statements are stored once per account with exact balances and sums; a re-sent message is a duplicate; bad ones are refused', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1, protocol: 'iso20022' });
  const admin = api(relay.url, ADMIN_KEY);
  const bank = api(relay.url, seed.keys.bank004);
  const other = api(relay.url, seed.keys.bank088);
  // Bank 088 speaks json; its statements come as camt.053, a channel an admin allows it.
  expectStatus(await admin.patch('/v1/banks/088', { extra_channels: ['iso20022'] }), 200, 'allow 088 camt');
  const post = (client, xml) => client.request('POST', '/v1/bank/camt053', { raw: xml, headers: { 'Content-Type': 'application/xml' } });

  const swiss = readFileSync(path.join(SHARED, 'camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml'), 'utf8');
  const stored = expectStatus(await post(bank, swiss), 200, 'PostFinance camt.053').items;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].account, 'CH2909000000250094239');
  assert.equal(stored[0].currency, 'CHF');
  assert.equal(stored[0].opening_balance, 21199319);
  assert.equal(stored[0].closing_balance, 21511221);
  assert.equal(stored[0].entries, 5);
  assert.equal(stored[0].duplicate, false);
  assert.equal(stored[0].opening_balance + stored[0].credits - stored[0].debits, 21664921, 'opening + credits - debits is the forward balance');
  assert.equal(expectStatus(await post(bank, swiss), 200, 'again').items[0].duplicate, true);

  const finnish = readFileSync(path.join(SHARED, 'FI_camt_053_sample.xml'), 'utf8');
  const fi = expectStatus(await post(other, finnish), 200, 'Finnish camt.053').items[0];
  assert.equal(fi.opening_balance + fi.credits - fi.debits, fi.closing_balance, 'the Finnish statement balances');
  assert.equal(fi.entries, 10, 'entries counts Ntry elements (the statement says NbOfNtries 10), not their 12 TxDtls');

  const all = expectStatus(await admin.get('/v1/statements'), 200, 'admin list').items;
  assert.equal(all.length, 2);
  assert.deepEqual(expectStatus(await bank.get('/v1/statements'), 200, 'own').items.map((s) => s.bank), ['004']);
  assert.deepEqual(expectStatus(await admin.get('/v1/statements?bank=088'), 200).items.map((s) => s.bank), ['088']);
  assertProblem(await api(relay.url, seed.keys.shop).get('/v1/statements'), 403, 'forbidden');
  assertProblem(await admin.get('/v1/statements?bank=x'), 400, 'invalid_field');
  assertProblem(await post(bank, readFileSync(path.join(TESTDATA, 'krw_deposit.camt054.xml'), 'utf8')), 400, 'invalid_field');
  assertProblem(await post(bank, swiss.replace('<Amt Ccy="CHF">', '<Amt Ccy="CHF">-')), 400, 'invalid_amount');
  assert.equal(expectStatus(await admin.get('/v1/statements'), 200).items.length, 2, 'refused statements stored nothing');
});
