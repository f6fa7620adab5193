// Proves the idempotency clean-up keeps up with a steady load: with --idempotency-retention 2 (s)
// and a few hundred stored idempotent requests a second, varelay_idempotency_records in /metrics
// stays near the retention's worth instead of growing with every request; and the flag is in
// varelayd --help with its default of 24 hours.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import { ADMIN_KEY, api, assertProblem, binaryPath, expectStatus, killAll, makeTempDir, removeDir, seedDemo, startRelay } from './relay.mjs';

after(killAll);

const RETENTION_S = 2;
const LOAD_MS = 12_000;
const CLIENTS = 8;

async function idempotencyRecords(relay) {
  const metrics = await api(relay.url, ADMIN_KEY).get('/metrics');
  const found = /^varelay_idempotency_records (\d+)$/m.exec(metrics.text);
  assert.ok(found, 'varelay_idempotency_records is in /metrics');
  return Number(found[1]);
}

test('varelayd --help documents --idempotency-retention with its default of 24 hours', () => {
  const help = execFileSync(binaryPath(), ['--help'], { encoding: 'utf8' });
  assert.match(help, /--idempotency-retention INT[^\n]*=86400/);
});

test('with a retention of 2 s under a steady load of idempotent requests, the stored records stay bounded', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--idempotency-retention', String(RETENTION_S)] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1 });
  const shop = api(relay.url, seed.keys.shop);
  const rival = api(relay.url, seed.keys.rival);
  const theirs = expectStatus(await rival.post('/v1/assignments', { order_id: 'RIVAL-1', amount: 5000, bank: '004' },
    { headers: { 'Idempotency-Key': randomUUID() } }), 201, 'issue');
  // Each cancellation of another merchant's assignment is a final 404, stored under its key.
  const cancel = () => shop.post(`/v1/assignments/${theirs.id}/cancel`, {}, { headers: { 'Idempotency-Key': randomUUID() } });
  assertProblem(await cancel(), 404, 'not_found');

  let sent = 0;
  const deadline = Date.now() + LOAD_MS;
  const samples = [];
  const client = async () => {
    while (Date.now() < deadline) {
      const res = await cancel();
      assert.equal(res.status, 404);
      sent++;
    }
  };
  const sampler = async () => {
    while (Date.now() < deadline) {
      samples.push({ at: Date.now(), records: await idempotencyRecords(relay), sent });
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const started = Date.now();
  await Promise.all([...Array.from({ length: CLIENTS }, client), sampler()]);
  const rate = sent / ((Date.now() - started) / 1000);
  const peak = Math.max(...samples.filter((s) => s.at - started > 4000).map((s) => s.records));
  t.diagnostic(`${sent} requests at ${rate.toFixed(0)}/s; records at the samples: ${samples.map((s) => s.records).join(' ')}`);
  assert.ok(sent > 10 * rate * RETENTION_S / 2, 'the load ran long past the retention');
  // About the retention's worth and the clean-up's second; never the whole load.
  assert.ok(peak < rate * (RETENTION_S + 3), `at most ${peak} records at ${rate.toFixed(0)} a second`);
  assert.ok(peak < sent / 2, `${peak} records of ${sent} sent`);
});
