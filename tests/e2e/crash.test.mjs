// Proves varelayd loses nothing it acknowledged and books nothing twice when SIGKILLed (or SIGTERMed) under concurrent issue+deposit traffic, with acknowledged batches only in its command log, across a restart without the command log, on the path without it, with running snapshots written during the traffic and with them off, also with write-ahead log checkpoints running all the time on their own thread, and that its state is consistent after restart (from the running snapshot and the log after it, or the store, after a kill; from the stop snapshot after a SIGTERM).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  ADMIN_KEY, BANKS, REGIONS, REPO_ROOT, allDeposits, api, binaryPath, expectStatus, killAll, makeTempDir, nowRfc3339, poolMap,
  removeDir, seedDemo, startRelay,
} from './relay.mjs';

after(killAll);

function cliPath() {
  return path.resolve(REPO_ROOT, process.env.VARELAY_CLI || 'build/release/apps/varelay/varelay');
}

const PER_POOL = 1000;        // numbers per (bank, region) pool of `shop`; enough never to run dry
const WORKERS = 16;           // concurrent clients, each looping issue -> deposit
const SIGNAL_AFTER_MS = 1500; // traffic in full flow by then
const MAX_TRAFFIC_MS = 3000;  // hard bound on the traffic phase
const VERIFY_CONCURRENCY = 16;

// Runs `fn` over `items` with at most `limit` in flight; returns the results in order.
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }));
  return results;
}

/**
 * Drives WORKERS loops of (issue an assignment, send a deposit notice for it) against `relay`,
 * calls `signal()` after SIGNAL_AFTER_MS and stops once it has returned (or after MAX_TRAFFIC_MS).
 * Returns every attempt with what the client heard back.
 */
async function driveTraffic(relay, keys, tag, signal) {
  const shop = api(relay.url, keys.shop);
  const bankClients = { '004': api(relay.url, keys.bank004), '088': api(relay.url, keys.bank088) };
  const attempts = [];
  const statuses = {};
  const count = (what) => { statuses[what] = (statuses[what] ?? 0) + 1; };
  let stop = false;
  let serial = 0;
  let ackedBeforeSignal = null;
  let acked = 0;
  const started = Date.now();

  const worker = async () => {
    while (!stop && Date.now() - started < MAX_TRAFFIC_MS) {
      const i = serial++;
      const bank = BANKS[i % 2];
      const region = REGIONS[Math.floor(i / 2) % 2];
      const a = {
        i,
        bank,
        key: `crash-${tag}-${i}`,
        body: { order_id: `CR-${tag}-${i}`, amount: 1000 + (i % 9000), bank, region },
        issueSent: true,
        issueAcked: false,
        assignment: null,
        notice: null,
        depositSent: false,
        depositAcked: false,
        deposit: null,
      };
      attempts.push(a);
      let res;
      try {
        res = await shop.post('/v1/assignments', a.body, { headers: { 'Idempotency-Key': a.key } });
      } catch (err) {
        count(`issue:${err.cause?.code ?? 'fetch error'}`);
        if (stop) break;
        continue;
      }
      count(`issue:${res.status}${res.body?.code ? ' ' + res.body.code : ''}`);
      if (res.status !== 201) continue;
      a.issueAcked = true;
      a.assignment = res.body;
      acked++;
      a.notice = {
        transaction_id: `TX-${tag}-${i}`, number: res.body.number, amount: a.body.amount, currency: 'KRW',
        payer_name: `Payer ${i}`, deposited_at: nowRfc3339(),
      };
      a.depositSent = true;
      try {
        res = await bankClients[bank].post('/v1/bank/deposits', a.notice);
      } catch (err) {
        count(`deposit:${err.cause?.code ?? 'fetch error'}`);
        if (stop) break;
        continue;
      }
      count(`deposit:${res.status}${res.body?.code ? ' ' + res.body.code : ''}`);
      if (res.status === 200 && res.body.duplicate === false) {
        a.depositAcked = true;
        a.deposit = res.body.deposit;
        acked++;
      }
    }
  };

  const running = Array.from({ length: WORKERS }, worker);
  await new Promise((r) => setTimeout(r, SIGNAL_AFTER_MS));
  const signalAtMs = Date.now() - started;
  ackedBeforeSignal = acked;
  const signalResult = await signal();
  stop = true;
  await Promise.all(running);
  return { attempts, statuses, signalAtMs, ackedBeforeSignal, signalResult };
}

// Verifies the restarted relay against what the clients were told before the crash (a)-(f).
async function verifyAfterRestart(relay, keys, attempts, loaded) {
  const admin = api(relay.url, ADMIN_KEY);
  const shop = api(relay.url, keys.shop);
  const bankClients = { '004': api(relay.url, keys.bank004), '088': api(relay.url, keys.bank088) };

  // (a) every acknowledged deposit is there exactly once; (f) nothing is there twice.
  const deposits = await allDeposits(admin);
  const byTx = new Map();
  for (const d of deposits) {
    const key = `${d.bank}/${d.transaction_id}`;
    assert.ok(!byTx.has(key), `transaction ${key} is booked once, not twice`);
    byTx.set(key, d);
  }
  const sentTx = new Set(attempts.filter((a) => a.depositSent).map((a) => `${a.bank}/${a.notice.transaction_id}`));
  for (const d of deposits) assert.ok(sentTx.has(`${d.bank}/${d.transaction_id}`), `deposit ${d.transaction_id} was sent by a client`);
  for (const a of attempts.filter((x) => x.depositAcked)) {
    const d = byTx.get(`${a.bank}/${a.notice.transaction_id}`);
    assert.ok(d, `acknowledged deposit ${a.notice.transaction_id} survived the crash`);
    assert.deepEqual(d, a.deposit, `acknowledged deposit ${a.notice.transaction_id} is as acknowledged`);
  }
  const depositsByAssignment = new Map();
  for (const d of deposits) {
    assert.equal(d.outcome, 'matched', `deposit ${d.transaction_id} matched its order`);
    assert.ok(!depositsByAssignment.has(d.assignment_id), `assignment ${d.assignment_id} has one deposit`);
    depositsByAssignment.set(d.assignment_id, d);
  }

  // (b) every acknowledged assignment exists; (f) an unacknowledged one landed at most once.
  const found = await mapLimit(attempts, VERIFY_CONCURRENCY, async (a) => {
    const res = await shop.get(`/v1/orders/${a.body.order_id}`);
    if (res.status === 404) return null;
    return expectStatus(res, 200, `GET order ${a.body.order_id}`);
  });
  const assignments = [];
  let inFlightIssuesLanded = 0;
  for (const [idx, a] of attempts.entries()) {
    const got = found[idx];
    if (a.issueAcked) {
      assert.ok(got, `acknowledged assignment for ${a.body.order_id} survived the crash`);
      assert.equal(got.id, a.assignment.id);
      assert.equal(got.number, a.assignment.number);
      assert.equal(got.generation, a.assignment.generation);
      const byId = expectStatus(await shop.get(`/v1/assignments/${a.assignment.id}`), 200, `GET assignment ${a.assignment.id}`);
      assert.deepEqual(byId, got);
    } else if (got) {
      inFlightIssuesLanded++;
    }
    if (!got) continue;
    assignments.push(got);
    const d = depositsByAssignment.get(got.id);
    if (a.depositAcked) {
      assert.equal(got.status, 'paid', `${got.order_id}: acknowledged deposit means paid`);
      assert.equal(got.amount_paid, got.amount, `${got.order_id}: amount_paid equals the amount`);
    }
    if (d) {
      assert.equal(got.status, 'paid', `${got.order_id} has a booked deposit so it is paid`);
      assert.equal(d.amount, got.amount);
    } else {
      assert.equal(got.status, 'open', `${got.order_id} has no deposit so it is still open`);
      assert.equal(got.amount_paid, 0);
    }
  }
  for (const d of deposits) {
    assert.ok(assignments.some((x) => x.id === d.assignment_id), `deposit ${d.transaction_id} belongs to a known assignment`);
  }

  // (c) no number is held twice, and pool counts add up to what was loaded.
  const held = new Map();
  for (const x of assignments) {
    const k = `${x.bank}/${x.number}`;
    assert.ok(!held.has(k), `number ${k} is held by ${held.get(k)} and ${x.id}`);
    held.set(k, x.id);
  }
  const pools = await poolMap(admin);
  for (const bank of BANKS) {
    for (const region of REGIONS) {
      const p = pools[`shop/${bank}/${region}`];
      const mine = assignments.filter((x) => x.bank === bank && x.region === region);
      assert.equal(p.free + p.assigned + p.cooling, loaded, `shop/${bank}/${region}: free+assigned+cooling = loaded`);
      assert.equal(p.total, loaded);
      assert.equal(p.assigned, mine.filter((x) => x.status === 'open').length, `shop/${bank}/${region}: assigned = open assignments`);
      assert.equal(p.cooling, mine.filter((x) => x.status === 'paid').length, `shop/${bank}/${region}: cooling = paid assignments`);
    }
  }

  // (d) the ledger verifies and has one entry per booked deposit.
  const verdict = expectStatus(await admin.get('/v1/ledger/verify'), 200, 'ledger verify');
  assert.deepEqual(verdict, { ok: true, entries: deposits.length, first_bad_seq: null, reason: null });

  // (e) re-sending every acknowledged notice is a duplicate and books nothing.
  const acked = attempts.filter((a) => a.depositAcked);
  await mapLimit(acked, VERIFY_CONCURRENCY, async (a) => {
    const res = expectStatus(await bankClients[a.bank].post('/v1/bank/deposits', a.notice), 200, `re-send ${a.notice.transaction_id}`);
    assert.equal(res.duplicate, true, `${a.notice.transaction_id} is a duplicate`);
    assert.equal(res.deposit.id, a.deposit.id);
  });
  assert.equal(expectStatus(await admin.get('/v1/ledger/verify'), 200, 'ledger verify').entries, deposits.length, 're-sent notices booked nothing');

  // (f) retrying what was in flight lands it exactly once: issue by Idempotency-Key, deposit by transaction id.
  const replays = await mapLimit(attempts.filter((a) => a.issueAcked), VERIFY_CONCURRENCY, async (a) => {
    const res = await shop.post('/v1/assignments', a.body, { headers: { 'Idempotency-Key': a.key } });
    assert.equal(res.status, 201, `replay of ${a.key}: ${res.text}`);
    assert.equal(res.headers.get('idempotent-replayed'), 'true', `replay of ${a.key} is marked replayed`);
    assert.equal(res.body.id, a.assignment.id);
    return 1;
  });
  const inFlightDeposits = attempts.filter((a) => a.depositSent && !a.depositAcked);
  let inFlightDepositsLanded = 0;
  for (const a of inFlightDeposits) {
    const res = expectStatus(await bankClients[a.bank].post('/v1/bank/deposits', a.notice), 200, `retry ${a.notice.transaction_id}`);
    if (res.duplicate) inFlightDepositsLanded++;
  }
  const finalDeposits = await allDeposits(admin);
  assert.equal(finalDeposits.length, deposits.length + inFlightDeposits.length - inFlightDepositsLanded);
  assert.equal(new Set(finalDeposits.map((d) => `${d.bank}/${d.transaction_id}`)).size, finalDeposits.length, 'still no transaction booked twice');
  assert.deepEqual(expectStatus(await admin.get('/v1/ledger/verify'), 200, 'ledger verify'),
    { ok: true, entries: finalDeposits.length, first_bad_seq: null, reason: null });

  // Retrying an unacknowledged issue with its Idempotency-Key replays it if it landed, creates it if not.
  const unackedIssues = attempts.map((a, idx) => ({ a, got: found[idx] })).filter(({ a }) => !a.issueAcked);
  for (const { a, got } of unackedIssues) {
    const res = await shop.post('/v1/assignments', a.body, { headers: { 'Idempotency-Key': a.key } });
    assert.equal(res.status, 201, `retry of unacknowledged ${a.key}: ${res.text}`);
    if (got) {
      assert.equal(res.body.id, got.id, `${a.key} had landed: the retry answers that assignment`);
    } else {
      assert.equal(res.headers.get('idempotent-replayed'), null, `${a.key} had not landed: the retry runs afresh`);
    }
    const once = expectStatus(await shop.get(`/v1/orders/${a.body.order_id}`), 200, `order ${a.body.order_id} after retry`);
    assert.equal(once.id, res.body.id, `one assignment for ${a.body.order_id}`);
  }

  return {
    deposits: deposits.length,
    assignments: assignments.length,
    inFlightIssues: attempts.filter((a) => !a.issueAcked).length,
    inFlightIssuesLanded,
    inFlightDeposits: inFlightDeposits.length,
    inFlightDepositsLanded,
    replayed: replays.length,
  };
}

// The write-ahead log checkpoints run so far on the store's own thread, from /metrics.
async function backgroundCheckpoints(relay) {
  const metrics = await api(relay.url, ADMIN_KEY).get('/metrics');
  const found = /^varelay_store_wal_checkpoints_total\{by="background"\} (\d+)$/m.exec(metrics.text);
  return found ? Number(found[1]) : -1;
}

// The command log's bytes acknowledged but not yet in the tables, from /metrics.
async function unappliedLogBytes(relay) {
  const metrics = await api(relay.url, ADMIN_KEY).get('/metrics');
  const found = /^varelay_store_log_unapplied_bytes (\d+)$/m.exec(metrics.text);
  return found ? Number(found[1]) : -1;
}

// `args`: extra varelayd flags for the first run; `restartArgs`: for the run after the signal.
// `source`: where the restart is to say its numbers came from (a pattern); by default the running
// snapshot and the log after it after a kill, the stop snapshot after a SIGTERM.
async function crashScenario(t, how, { args = [], restartArgs = [], beforeRestart, source } = {}) {
  const dataDir = makeTempDir();
  const relays = [];
  t.after(async () => {
    for (const r of relays) await r.kill();
    removeDir(dataDir);
  });
  const relay = await startRelay({ dataDir, args });
  relays.push(relay);
  const seed = await seedDemo(relay, { perPool: PER_POOL, rivalPerPool: 0 });

  let checkpointsBeforeSignal = 0;
  let unappliedBeforeSignal = 0;
  const traffic = await driveTraffic(relay, seed.keys, how, async () => {
    checkpointsBeforeSignal = await backgroundCheckpoints(relay);
    unappliedBeforeSignal = await unappliedLogBytes(relay);
    if (how === 'kill') return relay.kill();
    relay.proc.kill('SIGTERM');
    return relay.exited;
  });
  const { attempts, statuses, signalAtMs, ackedBeforeSignal, signalResult } = traffic;
  const issuesAcked = attempts.filter((a) => a.issueAcked).length;
  const depositsAcked = attempts.filter((a) => a.depositAcked).length;
  console.log(`[crash:${how}] ${attempts.length} issue attempts, ${issuesAcked} issues acknowledged, ${depositsAcked} deposits acknowledged; `
    + `${ackedBeforeSignal} acknowledged requests in ${signalAtMs} ms before the ${how === 'kill' ? 'SIGKILL' : 'SIGTERM'} `
    + `= ${Math.round(ackedBeforeSignal / (signalAtMs / 1000))} requests/s; answers: ${JSON.stringify(statuses)}`);
  assert.ok(issuesAcked >= 50 && depositsAcked >= 50, 'traffic was in full flow before the signal');
  for (const what of Object.keys(statuses)) {
    assert.doesNotMatch(what, /:5\d\d (?!shutting_down)/, `no server error other than shutting_down: ${what}`);
    assert.doesNotMatch(what, /pool_exhausted/, 'the pools never ran dry');
  }

  if (how === 'kill') {
    assert.equal(signalResult.signal, 'SIGKILL');
  } else {
    assert.deepEqual(signalResult, { code: 0, signal: null }, `SIGTERM under load exits 0; stderr: ${relay.stderr()}`);
    assert.match(relay.stdout() + relay.stderr(), /varelayd: stopped cleanly/);
    assert.match(relay.stdout(), /varelayd: stop snapshot of \d+ numbers and \d+ live assignments written/);
  }

  if (beforeRestart) await beforeRestart(dataDir);
  const restarted = await startRelay({ dataDir, args: restartArgs });
  relays.push(restarted);
  // A clean stop leaves a snapshot the next start reads; after a kill the start reads the running
  // snapshot and replays the log after it.
  source ??= how === 'kill' ? 'the running snapshot at batch \\d+ and \\d+ log batches after it' : 'the stop snapshot';
  const recovered = new RegExp(`recovered \\d+ numbers and \\d+ live assignments from ${source} `).exec(restarted.stdout());
  assert.ok(recovered, `the restart says where its state came from: ${restarted.stdout()}`);
  const running = /from the running snapshot at batch (\d+) and (\d+) log batches after it/.exec(restarted.stdout());
  const replayed = /applied (\d+) command-log batches the tables lacked/.exec(restarted.stdout());
  console.log(`[crash:${how}] ${checkpointsBeforeSignal} background checkpoints before the signal; `
    + `${unappliedBeforeSignal} command-log bytes not in the tables shortly before it; `
    + `${replayed ? replayed[1] : 0} batches applied from the log at the restart`);
  const started = Date.now();
  const summary = await verifyAfterRestart(restarted, seed.keys, attempts, PER_POOL);
  console.log(`[crash:${how}] after restart: ${summary.deposits} deposits, ${summary.assignments} assignments; `
    + `${summary.inFlightIssues} unacknowledged issues of which ${summary.inFlightIssuesLanded} had landed; `
    + `${summary.inFlightDeposits} unacknowledged deposits of which ${summary.inFlightDepositsLanded} had landed; `
    + `${summary.replayed} issue replays; verified in ${Date.now() - started} ms`);
  await restarted.stop();
  return {
    checkpointsBeforeSignal,
    replayedAtRestart: replayed ? Number(replayed[1]) : 0,
    runningSnapshotAt: running ? Number(running[1]) : null,
    logBatchesOverIt: running ? Number(running[2]) : null,
    firstRunOutput: relay.stdout(),
  };
}

test('SIGKILL under concurrent traffic loses no acknowledged assignment or deposit, books nothing twice, and restarts consistent', async (t) => {
  await crashScenario(t, 'kill');
});

test('SIGKILL with up to a second of acknowledged batches only in the command log loses and doubles nothing: the restart applies them', async (t) => {
  // The applier gathers for up to 1 s (or 1 MiB): the kill lands with batches the tables lack.
  let noted = -1;
  const { replayedAtRestart } = await crashScenario(t, 'kill', {
    args: ['--log-gather-ms', '1000'],
    beforeRestart: async (dataDir) => {
      // Offline, the CLI verifies the tables and says how many logged batches they lack.
      const { stdout, stderr } = await promisify(execFile)(cliPath(), ['ledger', 'verify', '--data', dataDir]);
      assert.match(stdout, /^ledger verified: \d+ entries, \d+ deposits/);
      const found = /the command log holds (\d+) acknowledged batches the tables do not hold yet/.exec(stderr);
      assert.ok(found, `the CLI notes the log's batches: ${stderr}`);
      noted = Number(found[1]);
      // And shows them, one JSON object a line, numbered on from the tables, secrets redacted.
      const shown = await promisify(execFile)(cliPath(), ['log', 'show', '--data', dataDir, '--limit', '100000'],
        { maxBuffer: 512 * 1024 * 1024 });
      const batches = shown.stdout.trim().split('\n').filter((line) => line).map((line) => JSON.parse(line));
      assert.equal(batches.length, noted, 'log show prints every batch the tables lack');
      for (let i = 1; i < batches.length; i++) assert.equal(batches[i].batch, batches[i - 1].batch + 1);
      const records = batches.flatMap((b) => b.records.map((r) => r.record));
      assert.ok(records.includes('PutAssignment') && records.includes('PutDeposit'), `records: ${[...new Set(records)]}`);
      assert.match(shown.stderr, new RegExp(`the command log holds ${noted} batches after the tables' position \\d+`));
    },
  });
  assert.ok(replayedAtRestart > 0, `the restart applied batches from the log (${replayedAtRestart})`);
  assert.equal(noted, replayedAtRestart, 'the CLI counted the batches the restart applied');
});

test('SIGKILL with the command log, restarted without it (--command-log false): the log is applied first, nothing lost or doubled', async (t) => {
  const { replayedAtRestart } = await crashScenario(t, 'kill', {
    args: ['--log-gather-ms', '1000'], restartArgs: ['--command-log', 'false'], source: 'the store',
  });
  assert.ok(replayedAtRestart > 0, `the restart applied batches from the log (${replayedAtRestart})`);
});

test('SIGKILL on the path without the command log (--command-log false) loses and doubles nothing', async (t) => {
  await crashScenario(t, 'kill', {
    args: ['--command-log', 'false'], restartArgs: ['--command-log', 'false'], source: 'the store',
  });
});

test('SIGKILL with running snapshots written during the traffic: the restart reads the latest and replays the log after it, nothing lost or doubled', async (t) => {
  // One every 256 KiB of log: several are written (each by a copy of the process) while the
  // traffic runs, and the kill may land while one is being written.
  const { runningSnapshotAt, logBatchesOverIt, firstRunOutput } = await crashScenario(t, 'kill', {
    args: ['--running-snapshot-mib', '0.25'],
  });
  const written = [...firstRunOutput.matchAll(/running snapshot at batch (\d+) written \((\d+) numbers/g)]
    .map((m) => Number(m[1]));
  console.log(`[crash:kill] running snapshots written at batches ${written.join(', ')}; the restart read the one at `
    + `batch ${runningSnapshotAt} and replayed ${logBatchesOverIt} batches over it`);
  assert.ok(written.length >= 2, `snapshots were written during the traffic: ${written}`);
  assert.ok(written.includes(runningSnapshotAt), 'the restart read one that was written');
  assert.ok(runningSnapshotAt >= Math.max(...written), 'the latest one written');
});

test('SIGKILL with running snapshots off (--running-snapshot-mib 0): the restart reads the store, nothing lost or doubled', async (t) => {
  await crashScenario(t, 'kill', { args: ['--running-snapshot-mib', '0'], source: 'the store' });
});

test('SIGKILL while write-ahead log checkpoints run all the time on their own thread loses and doubles nothing', async (t) => {
  // A checkpoint every 8 log pages: the kill lands with one running, or just done, or the writer
  // finishing one.
  const { checkpointsBeforeSignal } = await crashScenario(t, 'kill', { args: ['--wal-checkpoint-pages', '8'] });
  assert.ok(checkpointsBeforeSignal > 0, `checkpoints ran before the kill (${checkpointsBeforeSignal})`);
});

test('SIGTERM under concurrent traffic exits 0 and every acknowledged deposit is present after restart', async (t) => {
  await crashScenario(t, 'term');
});

test('--running-snapshot-mib refuses what is not 0 or 0.01 to 1048576 MiB (NaN, negative, too small, trailing text) and starts nothing', () => {
  const dataDir = makeTempDir();
  try {
    for (const value of ['nan', '-1', '1e-9', '0.25x', '2000000']) {
      const run = spawnSync(binaryPath(), ['--listen', '127.0.0.1:0', '--data', dataDir, '--running-snapshot-mib', value],
        { encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(run.status, 0, `--running-snapshot-mib ${value} is refused`);
      assert.match(run.stderr + run.stdout, /--running-snapshot-mib: must be 0 \(off\) or a number of MiB from 0.01 to 1048576/);
      assert.doesNotMatch(run.stdout, /listening/);
    }
  } finally {
    removeDir(dataDir);
  }
});
