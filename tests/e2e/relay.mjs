// Helpers for the end-to-end tests: start and stop a real varelayd, talk JSON to it, seed a demo set-up.
//
// The server binary is $VARELAYD, or by default build/release/apps/varelayd/varelayd; a relative
// path is taken from the repository root.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertResponseMatches } from '../openapi/contract.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_BINARY = 'build/release/apps/varelayd/varelayd';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

/** The bootstrap admin key every test relay is started with (VARELAY_ADMIN_KEY, >= 24 chars). */
export const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef';

export function binaryPath() {
  const configured = process.env.VARELAYD;
  return path.resolve(REPO_ROOT, configured && configured.length > 0 ? configured : DEFAULT_BINARY);
}

/** A fresh temporary directory; remove it with removeDir. */
export function makeTempDir(prefix = 'varelay-e2e-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Polls `probe` (async; a truthy result ends the wait and is returned) until it succeeds or `timeoutMs` passes. */
export async function waitFor(probe, { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Starts a server process that prints `<name> listening on http://127.0.0.1:PORT` when ready.
 * Returns {url, port, proc, exited, stdout(), stderr(), stop(), kill()}: stop() is SIGTERM, awaits
 * the exit and asserts code 0 and `stoppedPattern` in the output; kill() is SIGKILL. Every process
 * is tracked in `running` until it exits, so an `after` hook can kill stragglers.
 */
export async function startServerProcess({ name, binary, argv, env = process.env, stoppedPattern, running,
  startTimeoutMs = START_TIMEOUT_MS, stopTimeoutMs = STOP_TIMEOUT_MS }) {
  const proc = spawn(binary, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  // 'close' (not 'exit') so that everything the process printed has been read; 'error' when it never started.
  const exited = new Promise((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal }));
    proc.on('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const server = { proc, exited, stdout: () => out, stderr: () => err };
  running.add(server);
  exited.then(() => running.delete(server));

  const pattern = new RegExp(`${name} listening on (http://127\\.0\\.0\\.1:(\\d+))`);
  let timer;
  let onData;
  const listening = new Promise((resolve, reject) => {
    onData = () => {
      const m = pattern.exec(out);
      if (m) resolve(m);
    };
    proc.stdout.on('data', onData);
    exited.then(({ code, signal, error }) => reject(new Error(
      `${name} (${binary}) ${error ? `could not start: ${error.message}` : `exited before listening (code ${code}, signal ${signal})`}\nstdout: ${out}\nstderr: ${err}`)));
    timer = setTimeout(() => reject(new Error(`${name} did not listen within ${startTimeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), startTimeoutMs);
  });
  let m;
  try {
    m = await listening;
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
    proc.stdout.off('data', onData);
  }
  server.url = m[1];
  server.port = Number(m[2]);

  const awaitExit = async (what) => {
    let t;
    const timeout = new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${name} did not exit within ${stopTimeoutMs} ms after ${what}`)), stopTimeoutMs);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  };
  server.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    let result;
    try {
      result = await awaitExit('SIGTERM');
    } catch (e) {
      proc.kill('SIGKILL');
      await exited;
      throw e;
    }
    assert.equal(result.code, 0, `${name} exited with ${JSON.stringify(result)} after SIGTERM\nstderr: ${err}`);
    assert.match(out + err, stoppedPattern, `${name} printed its clean-stop line`);
    return result;
  };
  server.kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return awaitExit('SIGKILL');
  };
  return server;
}

// Every relay started by this module, so a test file's `after` hook can kill stragglers.
const running = new Set();

/**
 * Starts varelayd on 127.0.0.1 with an ephemeral port.
 * Returns {url, port, proc, dataDir, stdout(), stderr(), exited, stop(), kill()}.
 * stop(): SIGTERM, await exit, assert exit code 0 and the clean-stop line. kill(): SIGKILL, await exit.
 */
export async function startRelay({ dataDir, env = {}, args = [] } = {}) {
  assert.ok(dataDir, 'startRelay needs a dataDir');
  const relay = await startServerProcess({
    name: 'varelayd', binary: binaryPath(), argv: ['--listen', '127.0.0.1:0', '--data', dataDir, ...args],
    env: { ...process.env, VARELAY_ADMIN_KEY: ADMIN_KEY, ...env }, stoppedPattern: /varelayd: stopped cleanly/, running,
  });
  relay.dataDir = dataDir;
  return relay;
}

/** SIGKILLs every relay this module started that is still running (for `after` hooks). */
export async function killAll() {
  await Promise.all([...running].map(async (r) => {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await r.exited;
  }));
}

/**
 * JSON helpers bound to a base URL and an API key (or null for no Authorization header).
 * Every call resolves to {status, headers, body, text}: body is the parsed JSON or null.
 * Every answer is checked against docs/openapi.yaml (by method, path template and status; a path
 * the document lacks against its any-route refusals), so a test that meets an undocumented answer
 * fails naming the route, the status and the schema error. `unchecked: 'why'` skips the check for
 * a request the document cannot describe; say why at the call. A client of another server (the
 * bank simulator) passes `{ contract: false }`.
 */
export function api(url, key, { contract = true } = {}) {
  const request = async (method, urlPath, { body, headers = {}, raw, unchecked } = {}) => {
    const h = { ...headers };
    if (key && !Object.keys(h).some((k) => k.toLowerCase() === 'authorization')) h.Authorization = `Bearer ${key}`;
    let payload;
    if (raw !== undefined) {
      payload = raw;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
    }
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['Content-Type'] = 'application/json';
    }
    const res = await fetch(url + urlPath, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    const answer = { status: res.status, headers: res.headers, body: parsed, text };
    if (contract && !unchecked) assertResponseMatches(method, urlPath, answer);
    return answer;
  };
  return {
    request,
    get: (p, opts) => request('GET', p, opts),
    post: (p, body, opts = {}) => request('POST', p, { ...opts, body }),
    patch: (p, body, opts = {}) => request('PATCH', p, { ...opts, body }),
    del: (p, opts) => request('DELETE', p, opts),
  };
}

/** Asserts a response's status, and on mismatch shows the body. Returns the parsed body. */
export function expectStatus(res, status, what = '') {
  assert.equal(res.status, status, `${what} answered ${res.status}, expected ${status}: ${res.text}`);
  return res.body;
}

/** A number string: bank + region index + serial, 14 digits, unique per (bank, region, i). */
export function demoNumber(bank, regionIndex, i, prefix = '9') {
  return `${prefix}${bank}${regionIndex}${String(i).padStart(9, '0')}`;
}

export const REGIONS = ['seoul', 'busan'];
export const BANKS = ['004', '088'];

/**
 * Sets up banks 004 and 088, merchants `shop` and `rival` with contracts at both banks, one
 * merchant key per merchant and one bank key per bank, and `perPool` numbers in each
 * (shop, bank, region) pool for regions seoul and busan (rival gets `rivalPerPool`, default 2,
 * in seoul at each bank). Bank 004 speaks `protocol` (default json: a bank is held to its
 * protocol's channel). Returns {admin, keys: {shop, rival, bank004, bank088}, numbers, rivalNumbers, holderNames}.
 */
export async function seedDemo(relay, { perPool = 3, rivalPerPool = 2, protocol = 'json' } = {}) {
  const admin = api(relay.url, ADMIN_KEY);
  expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank', protocol }), 201, 'create bank 004');
  expectStatus(await admin.post('/v1/banks', { code: '088', name: 'Shinhan Bank' }), 201, 'create bank 088');
  expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: 'Example Shop' }), 201, 'create shop');
  expectStatus(await admin.post('/v1/merchants', { id: 'rival', name: 'Rival Shop' }), 201, 'create rival');
  const holderNames = { shop: 'Example Shop Co.', rival: 'Rival Shop Co.' };
  for (const merchant of ['shop', 'rival']) {
    for (const bank of BANKS) {
      expectStatus(await admin.post(`/v1/merchants/${merchant}/contracts`, {
        bank, mother_account: `${bank}${merchant === 'shop' ? '1' : '2'}00000000001`, holder_name: holderNames[merchant],
      }), 201, `contract ${merchant}@${bank}`);
    }
  }
  const keys = {};
  const makeKey = async (name, body) => {
    const created = expectStatus(await admin.post('/v1/api-keys', body), 201, `api key ${name}`);
    keys[name] = created.key;
  };
  await makeKey('shop', { role: 'merchant', merchant: 'shop', label: 'shop e2e' });
  await makeKey('rival', { role: 'merchant', merchant: 'rival', label: 'rival e2e' });
  await makeKey('bank004', { role: 'bank', bank: '004', label: 'bank 004 e2e' });
  await makeKey('bank088', { role: 'bank', bank: '088', label: 'bank 088 e2e' });

  const numbers = {};       // numbers[bank][region] = [..]
  const rivalNumbers = {};  // rivalNumbers[bank] = [..] (region seoul)
  for (const bank of BANKS) {
    numbers[bank] = {};
    for (const [ri, region] of REGIONS.entries()) {
      const list = Array.from({ length: perPool }, (_, i) => demoNumber(bank, ri, i));
      const loaded = expectStatus(await admin.post(`/v1/pools/shop/${bank}/${region}/numbers`, { numbers: list }), 200, `load shop/${bank}/${region}`);
      assert.equal(loaded.loaded, perPool);
      numbers[bank][region] = list;
    }
    if (rivalPerPool > 0) {
      const list = Array.from({ length: rivalPerPool }, (_, i) => demoNumber(bank, 0, i, '8'));
      const loaded = expectStatus(await admin.post(`/v1/pools/rival/${bank}/seoul/numbers`, { numbers: list }), 200, `load rival/${bank}/seoul`);
      assert.equal(loaded.loaded, rivalPerPool);
      rivalNumbers[bank] = list;
    }
  }
  return { admin, keys, numbers, rivalNumbers, holderNames };
}

/** GET /v1/pools as admin (or the given client), as a map "merchant/bank/region" -> item. */
export async function poolMap(client) {
  const body = expectStatus(await client.get('/v1/pools'), 200, 'GET /v1/pools');
  const map = {};
  for (const item of body.items) map[`${item.merchant}/${item.bank}/${item.region}`] = item;
  return map;
}

/**
 * Every deposit visible to `client`, paging through with `after` (limit 500). The relay looks one
 * item ahead, so `next_after` is null on the page with the last deposit and a page reached through
 * a non-null `next_after` is never empty.
 */
export async function allDeposits(client, query = '') {
  const items = [];
  let after = null;
  for (let page = 0; page < 10_000; page++) {
    const params = new URLSearchParams(query);
    params.set('limit', '500');
    if (after) params.set('after', after);
    const body = expectStatus(await client.get(`/v1/deposits?${params}`), 200, 'GET /v1/deposits');
    if (after) assert.ok(body.items.length > 0, `the page after ${after} is not empty (a non-null next_after promises more items)`);
    items.push(...body.items);
    if (body.next_after === null) return items;
    assert.ok(body.items.length > 0, 'a page with a next_after has items');
    after = body.next_after;
  }
  throw new Error('too many deposit pages');
}

/** A deposit notice timestamp (RFC 3339, UTC). */
export function nowRfc3339() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One HTTP/1.1 request over a raw TCP socket (Connection: close), for bodies fetch cannot send
 * (invalid UTF-8 as-is, oversized bodies the server refuses before reading them).
 *
 * Bodies over 64 KiB are sent with `Expect: 100-continue`: the head goes first and the body only
 * after a `100 Continue` (or after 2 s without any answer, as RFC 9110 allows). A server that
 * refuses the request from its head answers at once and never sees the body, so its answer cannot
 * be lost to a reset caused by unread bytes. Write errors (EPIPE/ECONNRESET after the server has
 * answered and closed) are ignored. Resolves {status, headers (lower-case names), text, body, raw}
 * or {status: null, raw} when the server closed without an answer.
 */
export function rawHttp(port, { method = 'GET', path: target = '/', headers = {}, body, timeoutMs = 10_000, expectContinue }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const useExpect = expectContinue ?? payload.length > 65536;
    const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body !== undefined) lines.push(`Content-Length: ${payload.length}`);
    if (useExpect) lines.push('Expect: 100-continue');
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    const chunks = [];
    let bodySent = !useExpect;
    let continueTimer;
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw ${method} ${target}: no close within ${timeoutMs} ms`));
    }, timeoutMs);
    const sendBody = () => {
      if (bodySent) return;
      bodySent = true;
      clearTimeout(continueTimer);
      if (!socket.destroyed) socket.write(payload, () => {});
    };
    socket.on('data', (d) => {
      chunks.push(d);
      if (!bodySent) {
        const soFar = Buffer.concat(chunks).toString('latin1');
        if (/^HTTP\/1\.[01] 100 [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/.test(soFar)) sendBody();
        else if (/^HTTP\/1\.[01] [2-5]\d\d/.test(soFar)) { bodySent = true; clearTimeout(continueTimer); }
      }
    });
    socket.on('error', () => {});  // a reset after the answer is expected when the body was refused unread
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(continueTimer);
      resolve(parseRawResponse(Buffer.concat(chunks)));
    });
    if (useExpect) {
      socket.write(head, () => {});
      continueTimer = setTimeout(sendBody, 2000);
    } else {
      socket.write(Buffer.concat([head, payload]), () => {});
    }
  });
}

/** Parses the first HTTP/1.1 response in `buf`. */
export function parseRawResponse(buf) {
  // Skip interim 1xx responses (100 Continue).
  for (;;) {
    const text = buf.toString('latin1');
    const m = /^HTTP\/1\.[01] 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/.exec(text);
    if (!m) break;
    buf = buf.subarray(Buffer.byteLength(m[0], 'latin1'));
  }
  const raw = buf.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  if (!m || end < 0) return { status: null, headers: {}, text: '', body: null, raw };
  const headers = {};
  for (const line of raw.slice(0, end).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let bodyBuf = buf.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'));
  if (headers['content-length'] !== undefined) bodyBuf = bodyBuf.subarray(0, Number(headers['content-length']));
  const text = bodyBuf.toString('utf8');
  let body = null;
  try {
    body = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: Number(m[1]), headers, text, body, raw };
}

/**
 * Asserts `res` (from api() or rawHttp()) is an RFC 9457 problem with this status and code:
 * Content-Type application/problem+json, and type/title/status/detail/code consistent.
 */
export function assertProblem(res, status, code, what = '') {
  const label = what ? `${what}: ` : '';
  assert.equal(res.status, status, `${label}expected ${status} ${code}, got ${res.status}: ${res.text}`);
  const contentType = typeof res.headers?.get === 'function' ? res.headers.get('content-type') : res.headers?.['content-type'];
  assert.match(String(contentType), /^application\/problem\+json\b/, `${label}Content-Type is ${contentType}`);
  const b = res.body;
  assert.ok(b && typeof b === 'object' && !Array.isArray(b), `${label}problem body is a JSON object: ${res.text}`);
  assert.equal(b.code, code, `${label}code: ${res.text}`);
  assert.equal(b.type, `urn:varelay:problem:${code}`, `${label}type: ${res.text}`);
  assert.equal(b.status, status, `${label}status member equals the HTTP status: ${res.text}`);
  assert.equal(typeof b.title, 'string', `${label}title: ${res.text}`);
  assert.ok(b.title.length > 0, `${label}title is not empty`);
  assert.equal(typeof b.detail, 'string', `${label}detail: ${res.text}`);
  assert.ok(b.detail.length > 0, `${label}detail is not empty`);
}
