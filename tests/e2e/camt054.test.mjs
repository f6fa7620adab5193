// Proves ISO 20022 camt.054 notifications over HTTP (and through the CLI): a booked credit to a
// virtual account pays its order once however often the message is sent, a reversal cancels it,
// foreign or unplaceable transactions are skipped with a reason, and a refused message books nothing.

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
  const seed = await seedDemo(relay, { perPool: 1 });
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
  assertProblem(await postXml(bank, '<Document><unclosed>'), 400, 'malformed_request');
  assertProblem(await postXml(bank, deposit.replaceAll('>39000<', '>39000.5<')), 400, 'invalid_amount');
  assertProblem(await bank.post('/v1/bank/camt054', { not: 'xml' }), 415, 'unsupported_media_type');
  assertProblem(await postXml(bank, deposit, '?virtual_account=elsewhere'), 400, 'invalid_field');
  assertProblem(await postXml(shop, deposit), 403, 'forbidden');
  assert.equal((await allDeposits(admin)).length, 1, 'refused messages booked nothing');
});
