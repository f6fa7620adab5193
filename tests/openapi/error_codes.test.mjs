// Proves every problem `code` varelayd can answer is in docs/openapi.yaml's ErrorCode enum with the HTTP status the server sends for it, and the enum names no code the server lacks (`varelayd --print-error-codes` lists ErrorCode of src/domain/error.h with problem.cpp's status).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { REPO_ROOT, doc, documentedErrorCodes } from './contract.mjs';

function binaryPath() {
  const configured = process.env.VARELAYD;
  return path.resolve(REPO_ROOT, configured && configured.length > 0 ? configured : 'build/release/apps/varelayd/varelayd');
}

// "code status" lines from the server.
function servedCodes() {
  const out = execFileSync(binaryPath(), ['--print-error-codes'], { encoding: 'utf8', timeout: 10_000 });
  const codes = new Map();
  for (const line of out.split('\n').filter((l) => l.trim() !== '')) {
    const m = /^([a-z0-9_]+) (\d{3})$/.exec(line);
    assert.ok(m, `--print-error-codes printed a line that is not "code status": ${line}`);
    codes.set(m[1], Number(m[2]));
  }
  return codes;
}

test('the ErrorCode enum is exactly the codes varelayd answers', () => {
  const served = [...servedCodes().keys()].sort();
  const documented = [...documentedErrorCodes()].sort();
  assert.ok(served.length > 10, 'varelayd lists its codes');
  assert.deepEqual({
    served_not_documented: served.filter((c) => !documented.includes(c)),
    documented_not_served: documented.filter((c) => !served.includes(c)),
  }, { served_not_documented: [], documented_not_served: [] });
});

test('the ErrorCode description gives each code the status varelayd sends with it', () => {
  const described = new Map();
  for (const m of doc.components.schemas.ErrorCode.description.matchAll(/`([a-z0-9_]+)` (\d{3})/g)) described.set(m[1], Number(m[2]));
  const wrong = [];
  for (const [code, status] of servedCodes()) {
    if (described.get(code) !== status) wrong.push(`${code}: served ${status}, described ${described.get(code) ?? 'nowhere'}`);
  }
  assert.deepEqual(wrong, []);
});
