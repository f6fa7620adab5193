// Proves that docs/openapi.yaml documents exactly the routes varelayd serves: no undocumented
// route, no documented route the server lacks.
//
// Run from anywhere: `node --test tests/openapi/`. The server binary is $VARELAYD, or by default
// build/release/apps/varelayd/varelayd; a relative path is taken from the repository root. The
// binary is run as `varelayd --print-routes`, which prints one `METHOD /path/{param}` line per
// route on stdout and exits 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SPEC_PATH = path.join(REPO_ROOT, 'docs', 'openapi.yaml');
const DEFAULT_BINARY = 'build/release/apps/varelayd/varelayd';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PRINT_ROUTES_TIMEOUT_MS = 10_000;
const ROUTE_LINE = /^([A-Z]+) (\/\S*)$/;

function binaryPath() {
  const configured = process.env.VARELAYD;
  return path.resolve(REPO_ROOT, configured && configured.length > 0 ? configured : DEFAULT_BINARY);
}

// The (method, path) pairs of the OpenAPI document, as "METHOD /path" strings.
function documentedRoutes() {
  const doc = parse(readFileSync(SPEC_PATH, 'utf8'));
  assert.ok(doc && typeof doc.paths === 'object' && doc.paths !== null, `${SPEC_PATH} has no paths`);
  const routes = [];
  for (const [routePath, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      if (item && Object.hasOwn(item, method)) routes.push(`${method.toUpperCase()} ${routePath}`);
    }
  }
  return routes;
}

// The routes printed by `varelayd --print-routes`, as "METHOD /path" strings.
function servedRoutes(binary) {
  if (!existsSync(binary) || !statSync(binary).isFile()) {
    assert.fail(
      `varelayd binary not found at ${binary}.\n` +
        'Build it first (cmake --preset release && cmake --build --preset release), or point ' +
        'VARELAYD at a built varelayd (a relative path is taken from the repository root).',
    );
  }
  let stdout;
  try {
    stdout = execFileSync(binary, ['--print-routes'], {
      encoding: 'utf8',
      timeout: PRINT_ROUTES_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const how = err.signal ? `was killed by ${err.signal}` : `exited with status ${err.status}`;
    assert.fail(
      `\`${binary} --print-routes\` ${how}.\n` +
        `stderr:\n${err.stderr ?? ''}\nstdout:\n${err.stdout ?? ''}`,
    );
  }
  const routes = [];
  const malformed = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (ROUTE_LINE.test(line)) routes.push(line);
    else malformed.push(line);
  }
  assert.deepEqual(
    malformed,
    [],
    `--print-routes printed lines that are not "METHOD /path":\n  ${malformed.join('\n  ')}`,
  );
  return routes;
}

function duplicates(list) {
  const seen = new Set();
  return [...new Set(list.filter((x) => (seen.has(x) ? true : (seen.add(x), false))))];
}

// "/v1/a/{x}" and "/v1/a/{y}" are the same route on the wire; only the parameter name differs.
function shape(route) {
  return route.replace(/\{[^}]*\}/g, '{}');
}

test('docs/openapi.yaml parses and documents routes', () => {
  const routes = documentedRoutes();
  assert.ok(routes.length > 0, 'the OpenAPI document lists no operations');
  assert.deepEqual(duplicates(routes), [], 'the OpenAPI document lists a route twice');
});

test('docs/openapi.yaml documents exactly the routes varelayd serves', () => {
  const documented = documentedRoutes();
  const served = servedRoutes(binaryPath());
  assert.ok(served.length > 0, 'varelayd --print-routes printed no routes');
  assert.deepEqual(duplicates(served), [], 'varelayd --print-routes printed a route twice');

  const documentedSet = new Set(documented);
  const servedSet = new Set(served);
  const onlyDocumented = [...documentedSet].filter((r) => !servedSet.has(r)).sort();
  const onlyServed = [...servedSet].filter((r) => !documentedSet.has(r)).sort();
  if (onlyDocumented.length === 0 && onlyServed.length === 0) return;

  const lines = ['docs/openapi.yaml and varelayd --print-routes disagree.'];
  if (onlyDocumented.length > 0) {
    lines.push(`Documented but not served (${onlyDocumented.length}):`);
    for (const r of onlyDocumented) lines.push(`  ${r}`);
  }
  if (onlyServed.length > 0) {
    lines.push(`Served but not documented (${onlyServed.length}):`);
    for (const r of onlyServed) lines.push(`  ${r}`);
  }
  const renamed = onlyDocumented.flatMap((d) =>
    onlyServed.filter((s) => shape(s) === shape(d)).map((s) => `  ${d}  <->  ${s}`),
  );
  if (renamed.length > 0) {
    lines.push('These differ only in path parameter names:');
    lines.push(...renamed);
  }
  assert.fail(lines.join('\n'));
});
