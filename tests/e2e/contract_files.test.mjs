// Proves varelayd keeps its data folder private: a fresh start and a start over a folder whose files an older build left 0755/0644 both end with the folder (and every folder in it) 0700 and every file 0600 (database, its -wal/-shm, log segments, snapshot, admin key).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { api, expectStatus, killAll, makeTempDir, removeDir, startRelay } from './relay.mjs';

after(killAll);

// Every folder and file under `dir` (itself included) with its permission bits; entries that vanish while
// the relay runs (a log segment removed) are skipped.
function modes(dir) {
  const found = [];
  const visit = (p) => {
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      if (err.code === 'ENOENT') return;
      throw err;
    }
    found.push({ path: p, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (!st.isDirectory()) return;
    let names = [];
    try {
      names = readdirSync(p);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    for (const name of names) visit(path.join(p, name));
  };
  visit(dir);
  return found;
}

function assertPrivate(dir, what) {
  const all = modes(dir);
  const wrong = all.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${path.relative(dir, e.path) || '.'} ${e.mode.toString(8)}`);
  assert.deepEqual(wrong, [], `${what}: every folder 0700 and every file 0600`);
  return all;
}

function openUp(dir) {
  for (const e of modes(dir)) chmodSync(e.path, e.dir ? 0o755 : 0o644);
}

test('a fresh data folder and one left readable by an older build are both made 0700/0600', async () => {
  const parent = makeTempDir();
  const dataDir = path.join(parent, 'data');
  try {
    // No VARELAY_ADMIN_KEY: the relay writes admin.key itself.
    let relay = await startRelay({ dataDir, env: { VARELAY_ADMIN_KEY: '' } });
    const names = (list) => list.map((e) => path.relative(dataDir, e.path));
    assert.ok(names(assertPrivate(dataDir, 'fresh, running')).includes('admin.key'));
    await relay.stop();
    const stopped = names(assertPrivate(dataDir, 'fresh, stopped'));
    assert.ok(stopped.includes('varelay.db'), `the database is there: ${stopped}`);

    openUp(dataDir);
    relay = await startRelay({ dataDir, env: { VARELAY_ADMIN_KEY: '' } });
    const admin = api(relay.url, readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim());
    expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank' }), 201, 'a write after the upgrade');
    const listed = names(assertPrivate(dataDir, 'upgraded, running'));
    assert.ok(listed.includes('varelay.db-wal'), `the write-ahead log is there: ${listed}`);
    await relay.stop();
    assertPrivate(dataDir, 'upgraded, stopped');
  } finally {
    removeDir(parent);
  }
});
