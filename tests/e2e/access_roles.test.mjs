// Proves docs/openapi.yaml's x-varelay-roles say what the server allows on the pay-out, bank-list
// and holder-inquiry routes: each role the document lists is not refused 403, and each it leaves
// out is refused (403, or 404 where another's record is answered as if absent).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

import { ADMIN_KEY, REPO_ROOT, api, expectStatus, killAll, makeTempDir, removeDir, startRelay } from './relay.mjs';

after(killAll);

const DOC = parse(readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.yaml'), 'utf8'));
const ROLES = ['admin', 'merchant', 'merchant_payouts', 'bank'];

// [method, document path, request path, body]
const ROUTES = [
  ['get', '/v1/banks', '/v1/banks'],
  ['post', '/v1/transfers', '/v1/transfers',
    { bank: '004', amount: 1000, recipient: { bank_code: '004', account: '11112222333', name: 'Kim Minji' } }],
  ['get', '/v1/transfers', '/v1/transfers'],
  ['get', '/v1/transfers/{transfer_id}', '/v1/transfers/trf_00000000000000000000'],
  ['get', '/v1/merchants/{merchant_id}/payout-limits', '/v1/merchants/shop/payout-limits'],
  ['post', '/v1/account-holder-inquiries', '/v1/account-holder-inquiries', { bank_code: '004', account: '11112222333' }],
  ['get', '/v1/account-holder-inquiries', '/v1/account-holder-inquiries'],
];

test('the document lists exactly the roles the server lets through', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => {
    await relay.kill();
    removeDir(dataDir);
  });
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram' }), 201);
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'shop' }), 201);
  expectStatus(await admin.post('/v1/merchants/shop/contracts',
    { bank: '004', mother_account: '004100000000001', holder_name: 'Example Shop Co.' }), 201);
  const key = async (body) => api(relay.url, expectStatus(await admin.post('/v1/api-keys', body), 201).key);
  const clients = {
    admin,
    merchant: await key({ role: 'merchant', merchant: 'shop', label: 'checkout' }),
    merchant_payouts: await key({ role: 'merchant_payouts', merchant: 'shop', label: 'payouts' }),
    bank: await key({ role: 'bank', bank: '004', label: 'bank' }),
  };
  let n = 0;
  for (const [method, docPath, urlPath, body] of ROUTES) {
    const listed = DOC.paths[docPath][method]['x-varelay-roles'];
    assert.ok(Array.isArray(listed), `${method} ${docPath} has x-varelay-roles`);
    for (const role of ROLES) {
      const headers = { 'Idempotency-Key': `roles-${++n}` };
      const res = await clients[role].request(method.toUpperCase(), urlPath, { body, headers });
      const what = `${method.toUpperCase()} ${docPath} with a ${role} key: ${res.status} ${res.text}`;
      if (listed.includes(role)) {
        assert.ok(res.status !== 403 && res.status !== 401, `listed, yet refused: ${what}`);
      } else {
        assert.ok(res.status === 403 || res.status === 404, `not listed, yet let through: ${what}`);
      }
    }
  }
});
