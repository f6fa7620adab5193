// Proves every kind of bad input is refused with the documented RFC 9457 problem (status and code) and writes nothing, and that hostile bytes on raw TCP leave varelayd serving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import {
  ADMIN_KEY, allDeposits, api, assertProblem, expectStatus, killAll, makeTempDir, nowRfc3339, poolMap,
  rawHttp, removeDir, seedDemo, startRelay,
} from './relay.mjs';

let relay;
let dataDir;
let seed;

before(async () => {
  dataDir = makeTempDir();
  relay = await startRelay({ dataDir });
  seed = await seedDemo(relay, { perPool: 3 });
});

after(async () => {
  await killAll();
  removeDir(dataDir);
});

const JSON_CT = { 'Content-Type': 'application/json' };
let keySerial = 0;
const idem = () => ({ 'Idempotency-Key': `bad-input-${++keySerial}` });

// A POST /v1/assignments row as the merchant `shop`, with JSON Content-Type and a fresh Idempotency-Key.
const issueRow = (name, body, status, code, extra = {}) => ({
  name, method: 'POST', path: '/v1/assignments', auth: 'shop', headers: { ...JSON_CT, ...idem() }, body, status, code, ...extra,
});
const valid = (order, more = '') => `{"order_id":"${order}","amount":1000,"bank":"004"${more}}`;
// A POST /v1/bank/deposits row as bank 004.
const depositRow = (name, body, status, code) => ({
  name, method: 'POST', path: '/v1/bank/deposits', auth: 'bank004', headers: JSON_CT, body, status, code,
});
const depositBody = (fields) => JSON.stringify({ transaction_id: 'BAD-DEP-1', number: '9004000000001', amount: 1000, deposited_at: '2026-11-25T10:00:00Z', ...fields });

function padTo(json, size) {
  assert.ok(json.length <= size);
  return json.slice(0, -1) + ' '.repeat(size - json.length) + '}';
}

// The relay's observable state: if any bad request wrote something, one of these changes.
async function snapshot() {
  const admin = api(relay.url, ADMIN_KEY);
  const get = async (p) => expectStatus(await admin.get(p), 200, `GET ${p}`);
  return {
    pools: await poolMap(admin),
    deposits: await allDeposits(admin),
    ledger: await get('/v1/ledger?limit=500'),
    verify: await get('/v1/ledger/verify'),
    apiKeys: await get('/v1/api-keys'),
    banks: await get('/v1/banks'),
    merchants: await get('/v1/merchants'),
    contracts: {
      shop: await get('/v1/merchants/shop/contracts'),
      rival: await get('/v1/merchants/rival/contracts'),
    },
  };
}

test('every kind of bad input is refused with a problem+json of the documented status and code, and nothing is written', async () => {
  const admin = api(relay.url, ADMIN_KEY);
  const shop = api(relay.url, seed.keys.shop);
  const rival = api(relay.url, seed.keys.rival);
  const bank004 = api(relay.url, seed.keys.bank004);

  // State the conflict cases need, created deliberately before the 'before' snapshot.
  expectStatus(await admin.post('/v1/banks', { code: '011', name: 'NongHyup Bank' }), 201, 'a bank shop has no contract with');
  expectStatus(await shop.post('/v1/assignments', { order_id: 'BAD-CONFLICT', amount: 1000, bank: '004' }, { headers: idem() }), 201, 'order to conflict with');
  const theirs = expectStatus(await rival.post('/v1/assignments', { order_id: 'RIVAL-ORDER', amount: 1000, bank: '004' }, { headers: idem() }), 201, "rival's assignment");
  expectStatus(await bank004.post('/v1/bank/deposits', { transaction_id: 'BAD-TX-USED', number: '1111111111', amount: 500, deposited_at: nowRfc3339() }), 200, 'a deposit to conflict with');

  const revoked = expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'to revoke' }), 201, 'a key to revoke');
  expectStatus(await admin.del(`/v1/api-keys/${revoked.id}`), 200, 'revoke it');

  const before = await snapshot();

  const invalidUtf8 = Buffer.concat([Buffer.from('{"order_id":"BAD-UTF8","amount":1000,"bank":"004","customer":{"name":"Kim '), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
  const overlongUtf8 = Buffer.concat([Buffer.from('{"order_id":"BAD-UTF8-2","amount":1000,"bank":"004","customer":{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]);
  const surrogateUtf8 = Buffer.concat([Buffer.from('{"order_id":"BAD-UTF8-3","amount":1000,"bank":"004","customer":{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]);

  const cases = [
    // ---- not JSON, not UTF-8, not an object
    issueRow('malformed JSON (truncated)', '{"order_id":"BAD-1","amount":1000,', 400, 'malformed_json'),
    issueRow('malformed JSON (trailing garbage)', valid('BAD-1') + ' x', 400, 'malformed_json'),
    issueRow('malformed JSON (single quotes)', "{'order_id':'BAD-1','amount':1000,'bank':'004'}", 400, 'malformed_json'),
    issueRow('malformed JSON (trailing comma)', '{"order_id":"BAD-1","amount":1000,"bank":"004",}', 400, 'malformed_json'),
    issueRow('empty body', '', 400, 'malformed_json'),
    issueRow('JSON nested 10000 deep', valid('BAD-1', `,"x":${'['.repeat(10000)}${']'.repeat(10000)}`), 400, 'malformed_json'),
    issueRow('invalid UTF-8 (0xFF 0xFE)', invalidUtf8, 400, 'invalid_utf8'),
    issueRow('invalid UTF-8 (overlong encoding)', overlongUtf8, 400, 'invalid_utf8'),
    issueRow('invalid UTF-8 (encoded surrogate)', surrogateUtf8, 400, 'invalid_utf8'),
    issueRow('body is an array, not an object', '[{"order_id":"BAD-2","amount":1000,"bank":"004"}]', 400, 'malformed_json'),
    issueRow('body is a string, not an object', '"BAD-2"', 400, 'malformed_json'),
    issueRow('body is null, not an object', 'null', 400, 'malformed_json'),
    issueRow('duplicate member names', '{"amount":1,"amount":2,"order_id":"BAD-3","bank":"004"}', 400, 'malformed_json'),
    issueRow('duplicate member names nested in customer', '{"order_id":"BAD-3","amount":1,"bank":"004","customer":{"name":"a","name":"b"}}', 400, 'malformed_json'),
    // ---- wrong types, missing and unknown fields
    issueRow('amount as a string', '{"order_id":"BAD-4","amount":"1000","bank":"004"}', 400, 'invalid_amount'),
    issueRow('bank as a number', '{"order_id":"BAD-4","amount":1000,"bank":4}', 400, 'invalid_field'),
    issueRow('order_id as a number', '{"order_id":4,"amount":1000,"bank":"004"}', 400, 'invalid_field'),
    issueRow('customer as a string', valid('BAD-4', ',"customer":"Kim"'), 400, 'invalid_field'),
    issueRow('order_id with forbidden characters', valid('BAD 4/x'), 400, 'invalid_field'),
    issueRow('missing amount', '{"order_id":"BAD-5","bank":"004"}', 400, 'missing_field'),
    issueRow('missing bank', '{"order_id":"BAD-5","amount":1000}', 400, 'missing_field'),
    issueRow('missing order_id', '{"amount":1000,"bank":"004"}', 400, 'missing_field'),
    issueRow('empty object', '{}', 400, 'missing_field'),
    issueRow('unknown top-level field', valid('BAD-6', ',"colour":"red"'), 400, 'unknown_field'),
    issueRow('unknown field nested in customer', valid('BAD-6', ',"customer":{"name":"Kim","nickname":"K"}'), 400, 'unknown_field'),
    issueRow('due_at together with expires_in_s', valid('BAD-6', `,"due_at":"${new Date(Date.now() + 86400_000).toISOString()}","expires_in_s":3600`), 400, 'invalid_field'),
    issueRow('expires_in_s below 1', valid('BAD-6', ',"expires_in_s":0'), 400, 'invalid_field'),
    issueRow('due_at in the past', valid('BAD-6', ',"due_at":"2020-01-01T00:00:00Z"'), 400, 'invalid_field'),
    // ---- amounts and currencies
    issueRow('zero amount', '{"order_id":"BAD-7","amount":0,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('negative amount', '{"order_id":"BAD-7","amount":-1000,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('fractional amount 10.5', '{"order_id":"BAD-7","amount":10.5,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('integral-looking fraction 1000.0', '{"order_id":"BAD-7","amount":1000.0,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('exponent amount 1e3', '{"order_id":"BAD-7","amount":1e3,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('overflowing amount', '{"order_id":"BAD-7","amount":99999999999999999999999,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('amount one over the 13-digit maximum', '{"order_id":"BAD-7","amount":10000000000000,"bank":"004"}', 400, 'invalid_amount'),
    issueRow('unknown currency', valid('BAD-8', ',"currency":"XYZ"'), 400, 'unknown_currency'),
    issueRow('lower-case currency', valid('BAD-8', ',"currency":"krw"'), 400, 'unknown_currency'),
    // ---- business refusals that must not write
    issueRow('unknown bank (valid shape, not set up)', '{"order_id":"BAD-9","amount":1000,"bank":"999"}', 422, 'unknown_bank'),
    issueRow('no contract with a registered bank', '{"order_id":"BAD-9","amount":1000,"bank":"011"}', 422, 'no_contract'),
    issueRow('order id reused with another payload', '{"order_id":"BAD-CONFLICT","amount":2000,"bank":"004"}', 409, 'order_id_conflict'),
    // ---- size limits
    issueRow('body one byte over 65536', padTo(valid('BAD-BIG'), 65537), 413, 'body_too_large'),
    {
      name: 'pool load body one byte over 4 MiB', method: 'POST', path: '/v1/pools/shop/004/seoul/numbers', auth: 'admin', headers: JSON_CT,
      body: padTo('{"numbers":["9004999999999"]}', 4194305), status: 413, code: 'body_too_large',
    },
    // ---- headers
    { ...issueRow('missing Idempotency-Key', valid('BAD-10'), 400, 'idempotency_key_missing'), headers: JSON_CT },
    { ...issueRow('Idempotency-Key over 255 characters', valid('BAD-10'), 400, 'idempotency_key_invalid'), headers: { ...JSON_CT, 'Idempotency-Key': 'k'.repeat(256) } },
    { ...issueRow('Content-Type text/plain', valid('BAD-11'), 415, 'unsupported_media_type'), headers: { 'Content-Type': 'text/plain', ...idem() } },
    { ...issueRow('Content-Type application/jsonx', valid('BAD-11'), 415, 'unsupported_media_type'), headers: { 'Content-Type': 'application/jsonx', ...idem() } },
    { ...issueRow('no Content-Type with a body', valid('BAD-11'), 415, 'unsupported_media_type'), headers: idem() },
    // ---- authentication and roles
    { ...issueRow('no Authorization header', valid('BAD-12'), 401, 'unauthorized'), auth: 'none' },
    { ...issueRow('Basic instead of Bearer', valid('BAD-12'), 401, 'unauthorized'), auth: 'basic' },
    { ...issueRow('unknown API key', valid('BAD-12'), 401, 'unauthorized'), auth: 'bogus' },
    { ...issueRow('revoked API key', valid('BAD-12'), 401, 'unauthorized'), auth: 'revoked' },
    { name: 'unknown API key on an admin read', method: 'GET', path: '/v1/api-keys', auth: 'bogus', headers: {}, status: 401, code: 'unauthorized' },
    { name: 'merchant key creating a bank (admin route)', method: 'POST', path: '/v1/banks', auth: 'shop', headers: JSON_CT, body: '{"code":"077","name":"Forbidden Bank"}', status: 403, code: 'forbidden' },
    { name: 'merchant key issuing an API key (admin route)', method: 'POST', path: '/v1/api-keys', auth: 'shop', headers: JSON_CT, body: '{"role":"admin","label":"escalation"}', status: 403, code: 'forbidden' },
    { name: 'merchant key loading numbers (admin route)', method: 'POST', path: '/v1/pools/shop/004/seoul/numbers', auth: 'shop', headers: JSON_CT, body: '{"numbers":["9004999999998"]}', status: 403, code: 'forbidden' },
    { name: 'merchant key listing merchants (admin route)', method: 'GET', path: '/v1/merchants', auth: 'shop', headers: {}, status: 403, code: 'forbidden' },
    { name: 'merchant key verifying the ledger (admin route)', method: 'GET', path: '/v1/ledger/verify', auth: 'shop', headers: {}, status: 403, code: 'forbidden' },
    // (An admin key may read any assignment: checked after this table, it answers 200.)
    { name: 'bank key reading an assignment (merchant and admin route)', method: 'GET', path: `/v1/assignments/${theirs.id}`, auth: 'bank004', headers: {}, status: 403, code: 'forbidden' },
    { name: 'merchant key updating a merchant (admin route)', method: 'PATCH', path: '/v1/merchants/shop', auth: 'shop', headers: JSON_CT, body: '{"active":false}', status: 403, code: 'forbidden' },
    { name: 'bank key updating a merchant (admin route)', method: 'PATCH', path: '/v1/merchants/shop', auth: 'bank004', headers: JSON_CT, body: '{"active":false}', status: 403, code: 'forbidden' },
    { name: 'bank key reading the ledger', method: 'GET', path: '/v1/ledger', auth: 'bank004', headers: {}, status: 403, code: 'forbidden' },
    { ...issueRow('bank key issuing an assignment', valid('BAD-13'), 403, 'forbidden'), auth: 'bank004' },
    { ...depositRow('merchant key sending a deposit notice', depositBody({ transaction_id: 'BAD-ROLE' }), 403, 'forbidden'), auth: 'shop' },
    // ---- other institutions' resources, unknown routes and methods
    { name: "another merchant's assignment (GET)", method: 'GET', path: `/v1/assignments/${theirs.id}`, auth: 'shop', headers: {}, status: 404, code: 'not_found' },
    { name: "another merchant's assignment (cancel)", method: 'POST', path: `/v1/assignments/${theirs.id}/cancel`, auth: 'shop', headers: { ...JSON_CT, ...idem() }, body: '{}', status: 404, code: 'not_found' },
    { name: "another merchant's order", method: 'GET', path: '/v1/orders/RIVAL-ORDER', auth: 'shop', headers: {}, status: 404, code: 'not_found' },
    { name: 'no such assignment', method: 'GET', path: '/v1/assignments/asg_aaaaaaaaaaaaaaaaaaaa', auth: 'shop', headers: {}, status: 404, code: 'not_found' },
    { name: 'cancel with a non-empty body', method: 'POST', path: `/v1/assignments/${theirs.id}/cancel`, auth: 'rival', headers: { ...JSON_CT, ...idem() }, body: '{"reason":"changed my mind"}', status: 400, code: 'unknown_field' },
    { name: 'unknown route', method: 'GET', path: '/v1/nope', auth: 'shop', headers: {}, status: 404, code: 'route_not_found' },
    { name: 'unknown route without a key', method: 'GET', path: '/nope', auth: 'none', headers: {}, status: 404, code: 'route_not_found' },
    { name: 'wrong method on a known path', method: 'DELETE', path: '/v1/banks', auth: 'admin', headers: {}, status: 405, code: 'method_not_allowed', allow: /\bGET\b.*\bPOST\b|\bPOST\b.*\bGET\b/ },
    { name: 'PUT on the assignments collection', method: 'PUT', path: '/v1/assignments', auth: 'shop', headers: { ...JSON_CT, ...idem() }, body: valid('BAD-14'), status: 405, code: 'method_not_allowed', allow: /^POST$/ },
    // ---- PATCH /v1/merchants/{merchant_id}
    { name: 'merchant update with neither name nor active', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{}', status: 400, code: 'missing_field' },
    { name: 'merchant update with an unknown field', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"active":false,"colour":"red"}', status: 400, code: 'unknown_field' },
    { name: 'merchant update with active as a string', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"active":"false"}', status: 400, code: 'invalid_field' },
    { name: 'merchant update with active as a number', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"active":0}', status: 400, code: 'invalid_field' },
    { name: 'merchant update with a valid name but a bad active (nothing applied)', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"name":"Renamed Shop","active":"no"}', status: 400, code: 'invalid_field' },
    { name: 'merchant update with an empty name', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"name":""}', status: 400, code: 'invalid_field' },
    { name: 'merchant update with a 101-character name', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: JSON.stringify({ name: 'n'.repeat(101) }), status: 400, code: 'invalid_field' },
    { name: 'merchant update with malformed JSON', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: JSON_CT, body: '{"active":fals}', status: 400, code: 'malformed_json' },
    { name: 'merchant update sent as text/plain', method: 'PATCH', path: '/v1/merchants/shop', auth: 'admin', headers: { 'Content-Type': 'text/plain' }, body: '{"active":false}', status: 415, code: 'unsupported_media_type' },
    { name: 'merchant update of an unknown merchant', method: 'PATCH', path: '/v1/merchants/no-such-shop', auth: 'admin', headers: JSON_CT, body: '{"active":false}', status: 404, code: 'not_found' },
    // ---- bank notices with malformed fields
    depositRow('deposit notice with deposited_at not a date', depositBody({ deposited_at: 'yesterday' }), 400, 'invalid_field'),
    depositRow('deposit notice with month 13', depositBody({ deposited_at: '2026-13-01T00:00:00Z' }), 400, 'invalid_field'),
    depositRow('deposit notice with deposited_at lacking an offset', depositBody({ deposited_at: '2026-11-25T10:00:00' }), 400, 'invalid_field'),
    depositRow('deposit notice with a space in transaction_id', depositBody({ transaction_id: 'BAD TX' }), 400, 'invalid_field'),
    depositRow('deposit notice with a 65-character transaction_id', depositBody({ transaction_id: 'T'.repeat(65) }), 400, 'invalid_field'),
    depositRow('deposit notice with a non-digit number', depositBody({ number: '12ab5678' }), 400, 'invalid_field'),
    depositRow('deposit notice with a 5-digit number', depositBody({ number: '12345' }), 400, 'invalid_field'),
    depositRow('deposit notice with a fractional amount', depositBody({ amount: 99.9 }), 400, 'invalid_amount'),
    depositRow('deposit notice missing deposited_at', JSON.stringify({ transaction_id: 'BAD-DEP-2', number: '9004000000001', amount: 1000 }), 400, 'missing_field'),
    depositRow('deposit notice with an unknown field', depositBody({ memo: 'hi' }), 400, 'unknown_field'),
    depositRow('transaction_id already used with other content', JSON.stringify({ transaction_id: 'BAD-TX-USED', number: '1111111111', amount: 501, deposited_at: nowRfc3339() }), 409, 'transaction_id_conflict'),
    { name: 'pre-check with a malformed number', method: 'POST', path: '/v1/bank/precheck', auth: 'bank004', headers: JSON_CT, body: '{"number":"abc","amount":1000}', status: 400, code: 'invalid_field' },
    { name: 'cancellation notice with a bad cancelled_at', method: 'POST', path: '/v1/bank/cancellations', auth: 'bank004', headers: JSON_CT, body: '{"transaction_id":"BAD-C-1","original_transaction_id":"BAD-TX-USED","cancelled_at":"soon"}', status: 400, code: 'invalid_field' },
    // ---- query parameters
    { name: 'unknown query parameter on GET /v1/deposits', method: 'GET', path: '/v1/deposits?bogus=1', auth: 'admin', headers: {}, status: 400, code: 'unknown_field' },
    { name: 'limit=0 on GET /v1/deposits', method: 'GET', path: '/v1/deposits?limit=0', auth: 'admin', headers: {}, status: 400, code: 'invalid_field' },
    { name: 'limit=501 on GET /v1/deposits', method: 'GET', path: '/v1/deposits?limit=501', auth: 'admin', headers: {}, status: 400, code: 'invalid_field' },
    { name: 'limit=ten on GET /v1/deposits', method: 'GET', path: '/v1/deposits?limit=ten', auth: 'admin', headers: {}, status: 400, code: 'invalid_field' },
    { name: 'from not a date on GET /v1/deposits', method: 'GET', path: '/v1/deposits?from=monday', auth: 'admin', headers: {}, status: 400, code: 'invalid_field' },
    { name: 'after not a ledger seq on GET /v1/ledger', method: 'GET', path: '/v1/ledger?after=-1', auth: 'admin', headers: {}, status: 400, code: 'invalid_field' },
    { name: 'query parameter on a route that takes none', method: 'GET', path: '/v1/pools?region=seoul', auth: 'admin', headers: {}, status: 400, code: 'unknown_field' },
  ];

  const authHeader = {
    shop: `Bearer ${seed.keys.shop}`,
    rival: `Bearer ${seed.keys.rival}`,
    bank004: `Bearer ${seed.keys.bank004}`,
    admin: `Bearer ${ADMIN_KEY}`,
    bogus: 'Bearer vrk_aaaaaaaaaaaaaaaa_NotAKeyThisRelayHasEverIssued',
    revoked: `Bearer ${revoked.key}`,
    basic: `Basic ${Buffer.from('shop:secret').toString('base64')}`,
    none: null,
  };

  const failures = [];
  for (const c of cases) {
    const headers = { ...c.headers };
    assert.ok(c.auth in authHeader, `${c.name}: unknown auth ${c.auth}`);
    if (authHeader[c.auth]) headers.Authorization = authHeader[c.auth];
    const res = await rawHttp(relay.port, { method: c.method, path: c.path, headers, body: c.body });
    try {
      assert.notEqual(res.status, null, `no HTTP answer; the server sent ${JSON.stringify(res.raw.slice(0, 200))}`);
      assertProblem(res, c.status, c.code);
      if (c.allow) assert.match(res.headers.allow ?? '', c.allow, 'Allow header');
    } catch (err) {
      failures.push(`${c.name} (${c.method} ${c.path}): expected ${c.status} ${c.code}, got ${res.status} ${res.body?.code ?? ''} -- ${err.message.split('\n')[0]}`);
    }
  }

  // An admin key may read any merchant's assignment (operators answer disputes): 200 with the body the merchant sees.
  {
    const asAdmin = await admin.get(`/v1/assignments/${theirs.id}`);
    const asOwner = await rival.get(`/v1/assignments/${theirs.id}`);
    try {
      assert.equal(asOwner.status, 200, `the owner reads its assignment: ${asOwner.text}`);
      assert.equal(asAdmin.status, 200, `answered ${asAdmin.status}: ${asAdmin.text}`);
      assert.deepEqual(asAdmin.body, asOwner.body, 'the admin sees the body the merchant sees');
    } catch (err) {
      failures.push(`admin key reading an assignment (GET /v1/assignments/${theirs.id}): expected 200 with the merchant's body -- ${err.message.split('\n')[0]}`);
    }
  }

  // Nothing was written: the state is as before, and none of the refused orders exists.
  const afterAll = await snapshot();
  let stateError = null;
  try {
    assert.deepEqual(afterAll, before, 'no bad request wrote anything');
    for (const order of ['BAD-1', 'BAD-4', 'BAD-7', 'BAD-9', 'BAD-10', 'BAD-11', 'BAD-12', 'BAD-13', 'BAD-BIG']) {
      assertProblem(await shop.get(`/v1/orders/${order}`), 404, 'not_found', `order ${order} was never issued`);
    }
    const conflict = expectStatus(await shop.get('/v1/orders/BAD-CONFLICT'), 200, 'the conflicting order is unchanged');
    assert.equal(conflict.amount, 1000);
  } catch (err) {
    stateError = err;
  }
  if (failures.length > 0) {
    assert.fail(`${failures.length} of ${cases.length} bad requests were not answered as documented:\n${failures.join('\n')}\n`
      + (stateError ? `AND the state changed: ${stateError.message}` : '(the state was unchanged: nothing was written)'));
  }
  if (stateError) throw stateError;
});

// Sends raw bytes and collects what comes back until the server closes (or the deadline passes).
function rawExchange(payload, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(relay.port, '127.0.0.1');
    const chunks = [];
    let error = null;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: false, error });
    }, timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (e) => { error = e.code; });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true, error });
    });
    socket.write(payload, () => {});
  });
}

async function assertHealthy(what) {
  const res = await api(relay.url, null).get('/healthz');
  assert.equal(res.status, 200, `/healthz after ${what}`);
  assert.deepEqual(res.body, { status: 'ok' });
}

// The server either answers with a 4xx problem or closes the connection, and keeps serving.
function assertRefusedOrClosed(result, what) {
  assert.ok(result.closed, `${what}: the server closed the connection`);
  if (result.text.length === 0) return;
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(result.text);
  assert.ok(m, `${what}: the answer is an HTTP response: ${JSON.stringify(result.text.slice(0, 120))}`);
  const status = Number(m[1]);
  assert.ok(status >= 400 && status < 500, `${what}: answered ${status}, expected a 4xx`);
  assert.match(result.text, /\r\ncontent-type: application\/problem\+json/i, `${what}: the refusal is a problem document`);
}

test('garbage bytes that are not HTTP are refused (400 or close) and the server keeps serving', async () => {
  const garbage = Buffer.concat([Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x16, 0x03, 0x01]), Buffer.from('\r\n\r\nnot http at all\r\n\r\n')]);
  const r1 = await rawExchange(garbage);
  assertRefusedOrClosed(r1, 'binary garbage');
  if (r1.text.length > 0) assert.match(r1.text, /^HTTP\/1\.1 400 /, 'binary garbage is a 400');
  const r2 = await rawExchange('HELLO WORLD\r\n\r\n');
  assertRefusedOrClosed(r2, 'a request line without a target or version');
  const r3 = await rawExchange('GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n');
  assertRefusedOrClosed(r3, 'an unknown HTTP version');
  const r4 = await rawExchange('POST /v1/banks HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789');
  assertRefusedOrClosed(r4, 'two different Content-Length headers');
  await assertHealthy('garbage');
});

test('a request with 20 KB of headers is refused with 431 headers_too_large (or a close) and the server keeps serving', async () => {
  const big = `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 20 }, (_, i) => `X-Pad-${i}: ${'a'.repeat(1000)}\r\n`).join('')}\r\n`;
  assert.ok(big.length > 20_000);
  const r = await rawExchange(big);
  assertRefusedOrClosed(r, '20 KB of headers');
  if (r.text.length > 0) {
    assert.match(r.text, /^HTTP\/1\.1 431 /, `headers over 16 KiB are answered 431: ${JSON.stringify(r.text.slice(0, 120))}`);
    assert.match(r.text, /"code":"headers_too_large"/, 'the problem code is headers_too_large');
    assert.match(r.text, /"type":"urn:varelay:problem:headers_too_large"/);
  }
  await assertHealthy('oversized headers');
});

test('a chunked body over the 65536-byte limit is refused with 413 body_too_large and the server keeps serving', async () => {
  const body = `{"order_id":"BAD-CHUNKED","amount":1000,"bank":"004","region":"${'x'.repeat(70_000)}"}`;
  const r = await rawExchange(`POST /v1/assignments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${seed.keys.shop}\r\n`
    + `Content-Type: application/json\r\nIdempotency-Key: bad-chunked\r\nTransfer-Encoding: chunked\r\n\r\n`
    + `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  assertRefusedOrClosed(r, 'a chunked body over the limit');
  assert.match(r.text, /^HTTP\/1\.1 413 /, 'answered 413');
  assert.match(r.text, /"code":"body_too_large"/);
  await assertHealthy('an oversized chunked body');
  assertProblem(await api(relay.url, seed.keys.shop).get('/v1/orders/BAD-CHUNKED'), 404, 'not_found', 'nothing was issued');
});

test('a client that sends half a body and hangs up does not harm the server', async () => {
  const res = await new Promise((resolve) => {
    const socket = net.connect(relay.port, '127.0.0.1', () => {
      socket.end(`POST /v1/banks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"code":"066",`);
    });
    socket.on('error', () => {});
    socket.on('close', resolve);
    socket.resume();
  });
  assert.equal(res, false, 'the socket closed without a transmission error');
  await assertHealthy('a truncated body');
  const banks = expectStatus(await api(relay.url, ADMIN_KEY).get('/v1/banks'), 200, 'banks');
  assert.ok(!banks.items.some((b) => b.code === '066'), 'the half-sent bank was not created');
});
