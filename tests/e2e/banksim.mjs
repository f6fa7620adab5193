// Helpers for end-to-end tests with the simulated bank: start and stop a real varelay-banksim
// process pointed at a relay.
//
// The binary is $VARELAY_BANKSIM, or by default build/release/apps/varelay-banksim/varelay-banksim;
// a relative path is taken from the repository root.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

import { REPO_ROOT, allDeposits, api, expectStatus, startServerProcess, waitFor } from './relay.mjs';

const DEFAULT_BINARY = 'build/release/apps/varelay-banksim/varelay-banksim';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;

export function banksimPath() {
  const configured = process.env.VARELAY_BANKSIM;
  return path.resolve(REPO_ROOT, configured && configured.length > 0 ? configured : DEFAULT_BINARY);
}

const running = new Set();

/** Runs varelay-banksim to completion with `args` (e.g. ['--help'] or ['pay', ...]): {code, stdout, stderr}. */
export function runBanksim(args, { timeoutMs = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(banksimPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`varelay-banksim ${args.join(' ')}: no exit within ${timeoutMs} ms`)); }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/**
 * Starts varelay-banksim on 127.0.0.1 with an ephemeral port, pointed at `relayUrl` with the bank
 * key `apiKey`, plus `args`. Returns {url, port, proc, client, stdout(), stderr(), exited, stop(), kill()}:
 * client is api(url) for the simulator's own HTTP API; stop() is SIGTERM and asserts exit 0.
 */
export async function startBanksim({ relayUrl, apiKey, args = [] }) {
  const sim = await startServerProcess({
    name: 'varelay-banksim', binary: banksimPath(),
    argv: ['--listen', '127.0.0.1:0', '--relay', relayUrl, '--api-key', apiKey, ...args],
    stoppedPattern: /varelay-banksim: stopped/, running, startTimeoutMs: START_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  // The simulator's own API is not the relay's: docs/openapi.yaml does not describe it.
  sim.client = api(sim.url, null, { contract: false });
  return sim;
}

/** SIGKILLs every simulator this module started that is still running (for `after` hooks). */
export async function killAllBanksims() {
  await Promise.all([...running].map(async (s) => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    await s.exited;
  }));
}

/** The simulator's notices once none is pending (answered or failed), polling with a deadline. */
export async function settledNotices(sim, { timeoutMs = 10_000 } = {}) {
  return waitFor(async () => {
    const body = expectStatus(await sim.client.get('/notices'), 200, 'GET /notices');
    assert.equal(body.next_after, null, 'one page holds every notice of a test');
    return body.pending === 0 ? body.items : null;
  }, { timeoutMs, what: 'every notice of the simulator to be settled' });
}

/**
 * The invariant of a simulator run, whatever its protocol: once the simulator has settled every
 * notice, each one is answered; every deposit notice it considers acknowledged is in the relay
 * exactly once (under the relay's transaction id for it: the simulator's own for json and
 * iso20022, tg:<date>:<sequence>:<number> for telegrams), with the notified amount, the number and
 * (when the protocol says) the deposit id the relay answered; each acknowledged cancellation left
 * its deposit cancelled; the relay holds no deposit of this bank the simulator did not send; and
 * the ledger verifies. `admin` and `bankClient` are api() clients of the relay.
 */
export async function checkInvariant(sim, { admin, bankClient, timeoutMs = 10_000 }) {
  const notices = await settledNotices(sim, { timeoutMs });
  const deposits = await allDeposits(bankClient);
  const byTx = new Map();
  for (const d of deposits) byTx.set(d.transaction_id, [...(byTx.get(d.transaction_id) ?? []), d]);
  const relayId = (n) => n.relay_transaction_id ?? n.transaction_id;
  const depositNotices = new Map(notices.filter((n) => n.kind === 'deposit').map((n) => [n.transaction_id, n]));
  const sent = new Set([...depositNotices.values()].map(relayId));
  for (const n of notices) {
    assert.equal(n.state, 'answered', `notice ${n.transaction_id} was answered: ${JSON.stringify(n)}`);
    assert.equal(n.answered, true);
    assert.ok(n.send_count >= 1);
    if (n.kind === 'deposit') {
      const found = byTx.get(relayId(n)) ?? [];
      assert.equal(found.length, 1, `deposit ${n.transaction_id} (${relayId(n)}) is in the relay exactly once`);
      assert.equal(found[0].amount, n.amount, `the relay booked the notified amount of ${n.transaction_id}`);
      if (n.relay_deposit_id !== null) assert.equal(found[0].id, n.relay_deposit_id);
      assert.equal(found[0].number, n.number);
    } else {
      const deposit = depositNotices.get(n.original_transaction_id);
      assert.ok(deposit, `the simulator sent the cancelled deposit ${n.original_transaction_id}`);
      const original = byTx.get(relayId(deposit)) ?? [];
      assert.equal(original.length, 1, `the cancelled deposit ${n.original_transaction_id} is in the relay once`);
      assert.equal(original[0].status, 'cancelled');
    }
  }
  for (const d of deposits) assert.ok(sent.has(d.transaction_id), `relay deposit ${d.transaction_id} came from a notice of the simulator`);
  const verdict = expectStatus(await admin.get('/v1/ledger/verify'), 200, 'ledger verify');
  assert.equal(verdict.ok, true, `ledger verifies: ${JSON.stringify(verdict)}`);
  return { notices, deposits };
}
