// Proves the response check the e2e tests' api() runs: a documented answer passes, an undocumented status or a body off its schema fails naming the route, the status and the error, and a path the document lacks passes only with an any-route refusal.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { validateResponse } from './contract.mjs';

const json = (status, body, type = 'application/json') => ({
  status, headers: { 'content-type': type }, body, text: JSON.stringify(body),
});
const problem = (status, code) => json(status, {
  type: `urn:varelay:problem:${code}`, title: code, status, detail: code, code,
}, 'application/problem+json');

test('a documented answer passes; an undocumented status or a body off its schema is named', () => {
  assert.deepEqual(validateResponse('GET', '/v1/deposits', problem(401, 'unauthorized')), []);
  assert.deepEqual(validateResponse('GET', '/v1/deposits?limit=1', json(200, { items: [], next_after: null })), []);

  const teapot = validateResponse('GET', '/v1/deposits', problem(418, 'teapot'));
  assert.equal(teapot.length, 1);
  assert.match(teapot[0], /^GET \/v1\/deposits: status 418 is not documented$/);

  const off = validateResponse('GET', '/v1/assignments/asg_aaaaaaaaaaaaaaaaaaaa', json(200, { id: 7 }));
  assert.ok(off.length > 0);
  assert.ok(off.every((p) => p.startsWith('GET /v1/assignments/{assignment_id} 200: ')), off.join('\n'));
});

test('a path or method the document lacks passes only with an any-route refusal', () => {
  assert.deepEqual(validateResponse('GET', '/v1/no-such-route', problem(404, 'route_not_found')), []);
  assert.deepEqual(validateResponse('DELETE', '/v1/deposits', problem(405, 'method_not_allowed')), []);
  assert.match(validateResponse('GET', '/v1/no-such-route', json(200, {}))[0], /^GET \/v1\/no-such-route: no such path in the document \(answered 200\)$/);
  assert.match(validateResponse('DELETE', '/v1/deposits', json(200, {}))[0], /^DELETE \/v1\/deposits: no such operation in the document/);
  assert.ok(validateResponse('GET', '/v1/no-such-route', problem(404, 'not_found')).length > 0);
});
