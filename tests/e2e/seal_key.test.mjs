// Proves varelayd refuses to start on a seal key others may read or on malformed key text, starts
// on a good key file or VARELAY_SEAL_KEY, and without either creates <data>/seal.key (0600) once,
// warning that it lives beside the data, and reuses it; `varelay seal-key new` prints a usable line.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { REPO_ROOT, killAll, makeTempDir, removeDir, startRelay } from './relay.mjs';

after(killAll);

const KEY_LINE = 'k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

function cliPath() {
  return path.resolve(REPO_ROOT, process.env.VARELAY_CLI || 'build/release/apps/varelay/varelay');
}

function writeKey(dir, text, mode) {
  const file = path.join(dir, 'seal.key');
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

test('a key file group or others may read is refused, naming the fix; an owner-only one starts', async (t) => {
  const keyDir = makeTempDir('varelay-sealkey-');
  const dataDir = makeTempDir();
  t.after(() => { removeDir(keyDir); removeDir(dataDir); });
  const file = writeKey(keyDir, `${KEY_LINE}\n`, 0o640);
  await assert.rejects(startRelay({ dataDir, args: ['--seal-key-file', file] }),
    (err) => /exited before listening \(code [1-9]/.test(err.message) && /mode 0640.*chmod 600/.test(err.message));
  chmodSync(file, 0o600);
  const relay = await startRelay({ dataDir, args: ['--seal-key-file', file] });
  assert.match(relay.stdout(), /seal key k1 \(1 key\) from .*seal\.key/);
  await relay.stop();
});

test('malformed key text is refused without printing the key', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const bad = 'k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd';  // 30 bytes
  await assert.rejects(startRelay({ dataDir, env: { VARELAY_SEAL_KEY: bad } }),
    (err) => /32 bytes/.test(err.message) && !err.message.includes(bad.slice(3)));
  await assert.rejects(startRelay({ dataDir, env: { VARELAY_SEAL_KEY: `${KEY_LINE}\n${KEY_LINE}` } }),
    (err) => /duplicate key id k1/.test(err.message));
  const relay = await startRelay({ dataDir, env: { VARELAY_SEAL_KEY: `k2:${KEY_LINE.slice(3)}\n${KEY_LINE}` } });
  assert.match(relay.stdout(), /seal key k2 \(2 keys\) from VARELAY_SEAL_KEY/);
  await relay.stop();
});

test('without a key, <data>/seal.key is made once (0600) with a warning, and reused', async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const first = await startRelay({ dataDir });
  await first.stop();
  assert.match(first.stdout() + first.stderr(), /warning: .*seal\.key.*beside the data/);
  const file = path.join(dataDir, 'seal.key');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const line = readFileSync(file, 'utf8');
  assert.match(line, /^k\d{8}-\d{6}:[A-Za-z0-9+/]{43}=\n$/);
  const second = await startRelay({ dataDir });
  await second.stop();
  assert.equal(readFileSync(file, 'utf8'), line);
  assert.doesNotMatch(second.stdout() + second.stderr(), /warning: .*seal\.key/);
});

test('varelay seal-key new prints a key line varelayd starts with', async (t) => {
  const keyDir = makeTempDir('varelay-sealkey-');
  const dataDir = makeTempDir();
  t.after(() => { removeDir(keyDir); removeDir(dataDir); });
  const run = promisify(execFile);
  const { stdout } = await run(cliPath(), ['seal-key', 'new', '--id', 'rotated-2']);
  assert.match(stdout, /^rotated-2:[A-Za-z0-9+/]{43}=\n$/);
  const other = (await run(cliPath(), ['seal-key', 'new'])).stdout;
  assert.match(other, /^k\d{8}-\d{6}:/);
  await assert.rejects(run(cliPath(), ['seal-key', 'new', '--id', 'Bad_Id']), /seal key id/);
  const file = writeKey(keyDir, stdout + other, 0o600);
  const relay = await startRelay({ dataDir, args: ['--seal-key-file', file] });
  assert.match(relay.stdout(), /seal key rotated-2 \(2 keys\)/);
  await relay.stop();
});
