// Proves the telegram listener cannot be held by a host it does not trust: a peer outside every
// bank's allow-list is closed at accept without holding a slot, a peer trickling a frame one byte
// at a time is cut at the frame deadline, and a peer over its per-peer cap is refused while
// another allowed peer is still served.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { api, ADMIN_KEY, expectStatus, killAll, makeTempDir, removeDir, startRelay, waitFor } from './relay.mjs';

after(killAll);

const text = (s, n) => s.padEnd(n, ' ').slice(0, n);
const num = (v, n) => String(v).padStart(n, '0');

/** A receivability inquiry (0900/100) from bank 004 for a number nobody holds: answered 0910 with a reject code. */
function inquiryFrame(sequence) {
  const k = new Date(Date.now() + 9 * 3600_000).toISOString();
  const ymd = k.slice(0, 10).replaceAll('-', '');
  const hms = k.slice(11, 19).replaceAll(':', '');
  const header = text('VARELAY01', 9) + text('VR000001', 8) + '04' + '0900' + '100' + '1' + num(sequence, 6) + ymd + hms +
    '0000' + '0000' + '0'.repeat(14) + text(`KB${num(sequence, 6)}`, 15) + '004' + ' '.repeat(13);
  const body = text('99999999999999', 16) + text('', 30) + '04' + '0'.repeat(8) + '0'.repeat(14) + num(5000, 13) +
    text('', 2) + '10' + text('KIM MINJI', 20) + '004' + ' '.repeat(90);
  return Buffer.from(num(300, 4) + header + body, 'latin1');
}

/** A connection from `localAddress` that records what arrives and when it was closed. */
async function connect(port, localAddress = '127.0.0.1') {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const peer = { socket, received: Buffer.alloc(0), closedAt: null };
  socket.on('data', (d) => { peer.received = Buffer.concat([peer.received, d]); });
  socket.on('close', () => { peer.closedAt = Date.now(); });
  socket.on('error', () => {});
  return peer;
}

/** Sends one inquiry and waits for its 300-byte answer; returns the answer's message code. */
async function ask(peer, sequence) {
  const before = peer.received.length;
  peer.socket.write(inquiryFrame(sequence));
  await waitFor(() => peer.received.length >= before + 304 || peer.closedAt, { what: 'an answer', timeoutMs: 5000 });
  assert.ok(peer.received.length >= before + 304, 'answered, not closed');
  return peer.received.subarray(before + 4 + 19, before + 4 + 23).toString('latin1');
}

async function startTelegramRelay(t, args) {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--telegram-listen', '127.0.0.1:0', ...args] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  expectStatus(await api(relay.url, ADMIN_KEY).post('/v1/banks', { code: '004', name: 'KB Kookmin Bank' }), 201, 'bank 004');
  const port = Number(/varelayd telegrams on 127\.0\.0\.1:(\d+)/.exec(relay.stdout())[1]);
  return { relay, port };
}

test('a peer outside every allow-list is closed at accept and holds no slot', async (t) => {
  // Two slots in all; bank 004 connects from 127.0.0.2 only, so 127.0.0.1 is a stranger.
  const { port } = await startTelegramRelay(t, ['--telegram-bank', '004=127.0.0.2/32', '--telegram-max-connections', '2']);
  const strangers = [];
  for (let i = 0; i < 4; i++) strangers.push(await connect(port));
  t.after(() => strangers.forEach((s) => s.socket.destroy()));
  await waitFor(() => strangers.every((s) => s.closedAt), { what: 'every stranger closed', timeoutMs: 3000 });
  assert.ok(strangers.every((s) => s.received.length === 0), 'strangers hear nothing');

  const bank = await connect(port, '127.0.0.2');
  t.after(() => bank.socket.destroy());
  assert.equal(await ask(bank, 1), '0910', 'the bank still gets a slot and an answer');
});

test('a peer trickling a frame one byte at a time is cut at the frame deadline', async (t) => {
  const { port } = await startTelegramRelay(t, ['--telegram-bank', '004=127.0.0.1', '--telegram-frame-timeout-ms', '1000']);
  const trickler = await connect(port);
  t.after(() => trickler.socket.destroy());
  const frame = inquiryFrame(1);
  const started = Date.now();
  let sent = 0;
  const timer = setInterval(() => {
    if (trickler.closedAt || sent >= frame.length - 1) return;  // never the last byte
    trickler.socket.write(frame.subarray(sent, sent + 1));
    sent += 1;
  }, 50);
  t.after(() => clearInterval(timer));
  await waitFor(() => trickler.closedAt, { what: 'the trickler cut off', timeoutMs: 5000 });
  const held = trickler.closedAt - started;
  assert.ok(held >= 900 && held < 3000, `held ${held} ms, the frame deadline is 1000 ms`);
  assert.equal(trickler.received.length, 0);

  const bank = await connect(port);
  t.after(() => bank.socket.destroy());
  assert.equal(await ask(bank, 2), '0910', 'a peer sending whole frames is served');
});

test('a peer over its per-peer cap is refused while another allowed peer is served', async (t) => {
  const { port } = await startTelegramRelay(t, ['--telegram-bank', '004=127.0.0.0/8', '--telegram-max-connections-per-peer', '2']);
  const first = await connect(port);
  const second = await connect(port);
  const third = await connect(port);
  const other = await connect(port, '127.0.0.2');
  t.after(() => [first, second, third, other].forEach((p) => p.socket.destroy()));
  await waitFor(() => third.closedAt, { what: 'the third connection from 127.0.0.1 closed', timeoutMs: 3000 });
  assert.equal(await ask(first, 1), '0910');
  assert.equal(await ask(second, 2), '0910');
  assert.equal(await ask(other, 3), '0910', 'another peer is served');
  assert.equal(first.closedAt, null);
  assert.equal(other.closedAt, null);
});
