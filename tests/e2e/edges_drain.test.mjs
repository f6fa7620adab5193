// Proves a stop answers instead of resetting: on SIGTERM, connections opened before it and new
// ones made just after it each get 503 shutting_down with Retry-After and a clean close, none a
// reset, while requests already in flight complete (every 201 is still there after a restart).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_KEY, api, assertProblem, killAll, makeTempDir, removeDir, seedDemo, startRelay } from './relay.mjs';
import { closedByServer, nextResponse, openConnection, requestHead } from './edges_conn.mjs';

after(killAll);

const WORKERS = 8;

test('SIGTERM: waiting and new connections get 503 with Retry-After, none a reset; requests in flight complete', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const relay = await startRelay({ dataDir });
  t.after(() => relay.kill());
  const seed = await seedDemo(relay, { perPool: 400 });
  const shop = api(relay.url, seed.keys.shop);

  // Connections made before the stop that have not sent anything yet.
  const waiting = [];
  for (let i = 0; i < 4; i++) waiting.push(await openConnection(relay.port));
  t.after(() => waiting.forEach((c) => c.socket.destroy()));

  // Traffic in flight: each worker issues orders until the relay says it is shutting down.
  const created = [];
  const answers = [];
  let serial = 0;
  const worker = async () => {
    for (;;) {
      const order = `DRAIN-${serial++}`;
      const res = await shop.post('/v1/assignments', { order_id: order, amount: 1000, bank: '004' },
        { headers: { 'Idempotency-Key': order } });
      answers.push(res);
      if (res.status === 201) created.push(order);
      else return;
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);
  while (created.length < 20) await new Promise((r) => setTimeout(r, 5));

  relay.proc.kill('SIGTERM');
  const fresh = [];
  for (let i = 0; i < 3; i++) fresh.push(await openConnection(relay.port));
  t.after(() => fresh.forEach((c) => c.socket.destroy()));
  const head = requestHead(relay.port, { path: '/v1/banks', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  for (const conn of [...waiting, ...fresh]) conn.socket.write(head);
  for (const [i, conn] of [...waiting, ...fresh].entries()) {
    const what = i < waiting.length ? `waiting connection ${i}` : `new connection ${i - waiting.length}`;
    const res = await nextResponse(conn);
    assertProblem(res, 503, 'shutting_down', what);
    assert.match(String(res.headers['retry-after']), /^\d+$/, `${what}: Retry-After`);
    assert.ok(await closedByServer(conn), `${what}: closed cleanly, not reset`);
  }

  await Promise.all(workers);  // a socket error (a reset) would reject here
  for (const res of answers.filter((r) => r.status !== 201)) {
    assertProblem(res, 503, 'shutting_down', 'a request after the stop');
    assert.match(String(res.headers.get('retry-after')), /^\d+$/);
  }
  const { code } = await relay.exited;
  assert.equal(code, 0, relay.stderr());

  const again = await startRelay({ dataDir });
  t.after(() => again.kill());
  const shopAgain = api(again.url, seed.keys.shop);
  for (const order of created) {
    assert.equal((await shopAgain.get(`/v1/orders/${order}`)).status, 200, `${order} answered 201 is durable`);
  }
});
