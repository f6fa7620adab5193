// Proves the relay's defaults fail closed: /metrics answers only an admin key (401 without a key,
// 403 with a merchant's), and GET /v1/banks shows a merchant each bank's code and name only, while an
// admin sees protocols and endpoints.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, startRelay } from './relay.mjs';

after(killAll);

async function setup(t) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => {
    await relay.stop();
    removeDir(dataDir);
  });
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol: 'telegram', endpoint: '127.0.0.1:9300' }), 201);
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201);
  const key = expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'shop' }), 201).key;
  return { relay, admin, merchant: api(relay.url, key) };
}

test('/metrics needs an admin key', async (t) => {
  const c = await setup(t);
  const anonymous = await api(c.relay.url, null).get('/metrics');
  assertProblem(anonymous, 401, 'unauthorized');
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
  assertProblem(await c.merchant.get('/metrics'), 403, 'forbidden');
  const metrics = await c.admin.get('/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type'), /^text\/plain/);
  assert.match(metrics.text, /^varelay_engine_batch_size_sum \d+$/m);
});

test('GET /v1/banks shows a merchant code and name only, an admin everything', async (t) => {
  const c = await setup(t);
  const seen = expectStatus(await c.merchant.get('/v1/banks'), 200);
  assert.deepEqual(seen.items, [{ code: '004', name: 'KB Kookmin Bank' }]);
  const full = expectStatus(await c.admin.get('/v1/banks'), 200);
  assert.equal(full.items[0].protocol, 'telegram');
  assert.equal(full.items[0].endpoint, '127.0.0.1:9300');
});
