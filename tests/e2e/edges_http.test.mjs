// Proves the HTTP server knows the caller before it reads a body: a 4 MiB camt.053 with an unknown
// or missing key is answered 401 from its headers alone, then closed; connections from one address
// beyond --max-connections-per-address are closed while the first ones and other addresses are
// served; and request bodies in flight stay within --body-budget-mib (503 with Retry-After), taken
// only by a known key on a route that takes a body and may be called with that key's role.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';
import { closedByServer, nextResponse, openConnection, requestHead } from './edges_conn.mjs';

after(killAll);

const FOUR_MIB = 4 * 1024 * 1024;

async function relayWith(t, args = []) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  return relay;
}

test('a 4 MiB camt.053 with an unknown or missing key is answered 401 before its body is sent', async (t) => {
  const relay = await relayWith(t);
  for (const [what, headers] of [
    ['an unknown key', { Authorization: 'Bearer vrk_0123456789abcdefghijklmnopqrstuvwxyzABCD' }],
    ['no key', {}],
  ]) {
    const conn = await openConnection(relay.port);
    t.after(() => conn.socket.destroy());
    conn.socket.write(requestHead(relay.port, {
      method: 'POST', path: '/v1/bank/camt053', contentLength: FOUR_MIB,
      headers: { 'Content-Type': 'application/xml', ...headers },
    }));
    const res = await nextResponse(conn, { timeoutMs: 3000 });
    assertProblem(res, 401, 'unauthorized', what);
    assert.ok(await closedByServer(conn), `${what}: the connection is closed cleanly after the answer`);
  }
  // A known key is let on to send its body (a small one here): the route still works.
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.get('/v1/banks'), 200, 'the admin key is known');
});

test('connections beyond --max-connections-per-address are closed while the first ones still work', async (t) => {
  const relay = await relayWith(t, ['--max-connections-per-address', '3']);
  const first = [];
  for (let i = 0; i < 3; i++) first.push(await openConnection(relay.port));
  t.after(() => first.forEach((c) => c.socket.destroy()));
  // The server takes them in order; each of the three answers, so all three hold their places.
  for (const conn of first) {
    conn.socket.write(requestHead(relay.port));
    assert.equal((await nextResponse(conn)).status, 200);
  }
  const extra = await openConnection(relay.port);
  t.after(() => extra.socket.destroy());
  await waitFor(() => extra.closed || extra.ended, { timeoutMs: 3000, what: 'the fourth connection closed' });
  assert.equal(extra.received.length, 0, 'nothing is said to a connection over the cap');
  for (const conn of first) {
    conn.socket.write(requestHead(relay.port));
    assert.equal((await nextResponse(conn)).status, 200, 'the first ones still work');
  }
  const elsewhere = await openConnection(relay.port, { localAddress: '127.0.0.2' });
  t.after(() => elsewhere.socket.destroy());
  elsewhere.socket.write(requestHead(relay.port));
  assert.equal((await nextResponse(elsewhere)).status, 200, 'another address is served');
});

test('request bodies in flight stay within --body-budget-mib: past it a request is refused 503 with Retry-After', async (t) => {
  const relay = await relayWith(t, ['--body-budget-mib', '8']);
  // Two admin uploads of 4 MiB each, begun and left unfinished, take the whole budget.
  const holders = [];
  for (let i = 0; i < 2; i++) {
    const conn = await openConnection(relay.port);
    t.after(() => conn.socket.destroy());
    conn.socket.write(requestHead(relay.port, {
      method: 'POST', path: `/v1/pools/m${i}/004/seoul/numbers`, contentLength: FOUR_MIB,
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    }));
    conn.socket.write('{"numbers": [');
    holders.push(conn);
  }
  const small = JSON.stringify({ code: '004', name: 'KB Kookmin Bank' });
  const post = async () => {
    const conn = await openConnection(relay.port);
    t.after(() => conn.socket.destroy());
    conn.socket.write(requestHead(relay.port, {
      method: 'POST', path: '/v1/banks', contentLength: Buffer.byteLength(small),
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json', Expect: '100-continue' },
    }));
    const res = await nextResponse(conn, { timeoutMs: 3000 });
    if (res.status === 100) conn.socket.write(small);
    return { conn, res };
  };
  await waitFor(async () => (await post()).res.status === 503, { timeoutMs: 5000, what: 'the budget taken' });
  const refused = (await post()).res;
  assertProblem(refused, 503, 'overloaded', 'a body past the budget');
  assert.match(String(refused.headers['retry-after']), /^\d+$/, 'with Retry-After');

  holders[0].socket.destroy();  // half the budget comes back
  let created = null;
  await waitFor(async () => {
    const { conn, res } = await post();
    if (res.status === 503) return false;
    created = res.status === 100 ? await nextResponse(conn) : res;
    return true;
  }, { timeoutMs: 5000, what: 'a body let in again' });
  assert.equal(created.status, 201, created.text);
});

test('a body declared on a route that takes none, or on no route, is refused at once and holds no budget', async (t) => {
  const relay = await relayWith(t, ['--body-budget-mib', '4']);
  // 66 × 64 KiB is past the whole 4 MiB budget, were these bodies waited for.
  const strangers = [];
  for (let i = 0; i < 66; i++) {
    const [method, path, status, code] = [
      ['GET', '/healthz', 413, 'body_too_large'],
      ['GET', '/metrics', 401, 'unauthorized'],
      ['POST', '/v1/nothing', 404, 'route_not_found'],
    ][i % 3];
    const conn = await openConnection(relay.port);
    t.after(() => conn.socket.destroy());
    conn.socket.write(requestHead(relay.port, { method, path, contentLength: 65536 }));
    conn.socket.write('x');  // the body trickles in, and never ends
    strangers.push({ conn, what: `${method} ${path}`, status, code });
  }
  for (const { conn, what, status, code } of strangers) {
    assertProblem(await nextResponse(conn, { timeoutMs: 3000 }), status, code, what);
  }
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank' }), 201, 'a real POST');
  const conn = await openConnection(relay.port);
  t.after(() => conn.socket.destroy());
  conn.socket.write(requestHead(relay.port, {
    method: 'GET', path: '/v1/banks', contentLength: 2, headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  }));
  assertProblem(await nextResponse(conn, { timeoutMs: 3000 }), 413, 'body_too_large', 'a body on a GET');
});

test('a 4 MiB body on a route the key\'s role may not call is answered 403 before it is sent', async (t) => {
  const relay = await relayWith(t);
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank' }), 201);
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201);
  const key = async (body) => expectStatus(await admin.post('/v1/api-keys', body), 201).key;
  const merchant = await key({ role: 'merchant', merchant: 'shop', label: 'shop' });
  const bank = await key({ role: 'bank', bank: '004', label: 'bank' });
  for (const [what, token, path, type] of [
    ['a merchant key on camt.053', merchant, '/v1/bank/camt053', 'application/xml'],
    ['an admin key on camt.054', ADMIN_KEY, '/v1/bank/camt054', 'application/xml'],
    ['a merchant key on a pool load', merchant, '/v1/pools/shop/004/seoul/numbers', 'application/json'],
    ['a bank key on a pool load', bank, '/v1/pools/shop/004/seoul/numbers', 'application/json'],
  ]) {
    const conn = await openConnection(relay.port);
    t.after(() => conn.socket.destroy());
    conn.socket.write(requestHead(relay.port, {
      method: 'POST', path, contentLength: FOUR_MIB,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
    }));
    assertProblem(await nextResponse(conn, { timeoutMs: 3000 }), 403, 'forbidden', what);
    assert.ok(await closedByServer(conn), `${what}: closed cleanly after the answer`);
  }
});
