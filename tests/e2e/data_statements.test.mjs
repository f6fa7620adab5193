// Proves a camt.053 message is stored at about its own size however many account statements it
// holds (its XML once per message, not once per statement), and a message over the cap on
// statements is refused with 413 body_too_large and changes nothing.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { ADMIN_KEY, api, assertProblem, expectStatus, killAll, makeTempDir, removeDir, seedDemo, startRelay } from './relay.mjs';

after(killAll);

const MAX_STATEMENTS = 1000;  // kMaxStatementsPerMessage

// A camt.053.001.02 message of `count` account statements without entries, each padded with a
// note so the message comes to about `bytes`.
function camt053(messageId, count, bytes) {
  const padding = 'x'.repeat(Math.max(0, Math.floor(bytes / count) - 260));
  const statements = [];
  for (let i = 0; i < count; i++) {
    statements.push(`<Stmt><Id>STMT-${i}</Id><CreDtTm>2026-11-25T10:00:00+09:00</CreDtTm>`
      + `<Acct><Id><Othr><Id>1002003004${String(i).padStart(5, '0')}</Id></Othr></Id></Acct>`
      + `<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="KRW">${i}</Amt><CdtDbtInd>CRDT</CdtDbtInd>`
      + `<Dt><Dt>2026-11-25</Dt></Dt></Bal><AddtlStmtInf>${padding}</AddtlStmtInf></Stmt>`);
  }
  return '<?xml version="1.0" encoding="UTF-8"?>'
    + '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
    + `<GrpHdr><MsgId>${messageId}</MsgId><CreDtTm>2026-11-25T10:00:00+09:00</CreDtTm></GrpHdr>`
    + statements.join('') + '</BkToCstmrStmt></Document>';
}

// Bytes the files under `dir` take on the disk (allocated blocks: the log's segments are
// zeroed ahead of use, so their length alone says nothing).
function diskBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    total += entry.isDirectory() ? diskBytes(at) : statSync(at).blocks * 512;
  }
  return total;
}

function peakResidentBytes(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

test('camt.053: a 0.7 MiB message of 1,000 statements is stored at about its size; one over the cap is refused and changes nothing', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const seed = await seedDemo(relay, { perPool: 1, protocol: 'iso20022' });
  const admin = api(relay.url, ADMIN_KEY);
  const bank = api(relay.url, seed.keys.bank004);
  const post = (xml) => bank.request('POST', '/v1/bank/camt053', { raw: xml, headers: { 'Content-Type': 'application/xml' } });
  const listed = async () => expectStatus(await admin.get('/v1/statements?limit=500'), 200, 'list').items;

  const xml = camt053('MSG-MANY', MAX_STATEMENTS, 0.71 * 1024 * 1024);
  assert.ok(xml.length > 0.7 * 1024 * 1024, `the message is ${xml.length} bytes`);
  await listed();  // the tables hold everything before
  const before = diskBytes(dataDir);
  const started = Date.now();
  const stored = expectStatus(await post(xml), 200, 'camt.053 of 1,000 statements').items;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(stored.length, MAX_STATEMENTS);
  assert.ok(stored.every((s) => !s.duplicate));
  assert.equal((await listed()).length, 500, 'the statements are listed (a page of 500)');
  const grown = diskBytes(dataDir) - before;
  t.diagnostic(`answered in ${seconds.toFixed(2)} s; the data folder grew ${(grown / 1048576).toFixed(2)} MiB for a ${(xml.length / 1048576).toFixed(2)} MiB message; peak resident ${(peakResidentBytes(relay.proc.pid) / 1048576).toFixed(0)} MiB`);
  // The XML is written to the log once and to the tables once (with their write-ahead log):
  // a few times its size at most, where a copy per statement came to 1,000 times.
  assert.ok(grown < 6 * xml.length, `the data folder grew ${grown} bytes for a ${xml.length}-byte message`);
  assert.ok(peakResidentBytes(relay.proc.pid) < 512 * 1024 * 1024, 'the process stays small');
  assert.ok(expectStatus(await post(xml), 200, 'again').items.every((s) => s.duplicate), 'a re-sent message is a duplicate');

  const over = camt053('MSG-OVER', MAX_STATEMENTS + 1, 1000 * (MAX_STATEMENTS + 1));
  const beforeOver = diskBytes(dataDir);
  const refused = await post(over);
  assertProblem(refused, 413, 'body_too_large');
  assert.match(refused.body.detail, /at most 1000 account statements/);
  const after = await listed();
  assert.ok(after.every((s) => s.message_id !== 'MSG-OVER'), 'nothing of the refused message is stored');
  assert.ok(diskBytes(dataDir) - beforeOver < 64 * 1024, 'the refused message wrote nothing of size');
});
