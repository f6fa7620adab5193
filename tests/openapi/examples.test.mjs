// Proves every example in docs/openapi.yaml validates against its own schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses): schema `examples`, media-type and parameter `example`/`examples` (components/examples followed), request bodies, responses and webhooks alike.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { doc, follow, validatorAt } from './contract.mjs';

// Every [segments of a schema, example value, where] pair in the document.
function examplePairs() {
  const pairs = [];
  const visit = (node, segments) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach((child, i) => visit(child, [...segments, i]));
      return;
    }
    const inSchema = segments.includes('schemas') || segments.includes('schema') || segments.includes('properties');
    const hasSchema = node.schema && typeof node.schema === 'object';
    if (hasSchema) {
      // A media type or a parameter: its examples are of its schema.
      if ('example' in node) pairs.push([[...segments, 'schema'], node.example, [...segments, 'example'].join('/')]);
      if (node.examples && !Array.isArray(node.examples)) {
        for (const name of Object.keys(node.examples)) {
          const [, example] = follow([...segments, 'examples', name]);
          if (example && 'value' in example) pairs.push([[...segments, 'schema'], example.value, [...segments, 'examples', name].join('/')]);
        }
      }
    } else if (inSchema && Array.isArray(node.examples) && segments.at(-1) !== 'properties') {
      node.examples.forEach((value, i) => pairs.push([segments, value, [...segments, 'examples', i].join('/')]));
    }
    for (const [key, child] of Object.entries(node)) {
      if (hasSchema && key === 'examples') continue;
      if (key === 'examples' && Array.isArray(child)) continue;
      if (key === 'example') continue;
      visit(child, [...segments, key]);
    }
  };
  visit(doc.paths, ['paths']);
  visit(doc.webhooks, ['webhooks']);
  visit(doc.components, ['components']);
  return pairs;
}

test('every example in docs/openapi.yaml validates against its schema', () => {
  const pairs = examplePairs();
  assert.ok(pairs.length > 100, `the document has examples (found ${pairs.length})`);
  const failures = [];
  for (const [segments, value, where] of pairs) {
    const validate = validatorAt(segments);
    if (!validate(value)) {
      failures.push(`${where}: ${validate.errors.map((e) => `${e.instancePath || '(value)'} ${e.message}`).join('; ')}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${pairs.length} examples do not validate`);
});
