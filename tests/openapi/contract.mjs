// docs/openapi.yaml as a validator: its schemas compiled with Ajv (JSON Schema 2020-12, which
// OpenAPI 3.1 uses), for checking the document's own examples and the relay's live answers.
//
//   import { validateResponse, assertResponseMatches } from '../openapi/contract.mjs';
//   assertResponseMatches('GET', '/v1/banks', res);   // res: {status, headers, body, text}
//
// A response is checked against the operation the method and path name (the path as sent, with
// its query, or a template such as /v1/banks/{bank_code}), under the status it came with (or the
// operation's 2XX/4XX/default), for the media type it declares.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SPEC_PATH = path.join(REPO_ROOT, 'docs', 'openapi.yaml');
const DOC_ID = 'urn:varelay:openapi';

export const doc = parse(readFileSync(SPEC_PATH, 'utf8'));

// OpenAPI's own keywords inside schemas are not JSON Schema's; Ajv is told they are annotations.
export const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ $id: DOC_ID, components: doc.components, paths: doc.paths, webhooks: doc.webhooks });

/** A JSON pointer's escaped form of one segment. */
const escape = (segment) => String(segment).replaceAll('~', '~0').replaceAll('/', '~1');

/** The value at `pointer` (an array of segments) in the document. */
export function at(segments) {
  return segments.reduce((node, s) => (node === undefined ? undefined : node[s]), doc);
}

const validators = new Map();
/** The compiled validator of the schema at `segments` in the document (refs resolve inside it). */
export function validatorAt(segments) {
  const ref = `${DOC_ID}#/${segments.map(escape).join('/')}`;
  let v = validators.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: ref });
    validators.set(ref, v);
  }
  return v;
}

/** Follows an OpenAPI `$ref` (to components/responses, examples, parameters) to [segments, object]. */
export function follow(segments) {
  let node = at(segments);
  for (let hops = 0; node && typeof node.$ref === 'string' && hops < 8; hops++) {
    assert.ok(node.$ref.startsWith('#/'), `only local refs are followed: ${node.$ref}`);
    segments = node.$ref.slice(2).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    node = at(segments);
  }
  return [segments, node];
}

/** The document's path template that `urlPath` (with or without a query) is an instance of, or null. */
export function templateFor(urlPath) {
  const bare = urlPath.split('?')[0];
  if (doc.paths[bare]) return bare;
  for (const template of Object.keys(doc.paths)) {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
    if (re.test(bare)) return template;
  }
  return null;
}

// What docs/openapi.yaml's "Errors" section lets any route answer besides its own responses.
const ANY_ROUTE = {
  400: ['malformed_request', 'unknown_field'], 404: ['route_not_found'], 405: ['method_not_allowed'],
  413: ['body_too_large'], 431: ['headers_too_large'], 500: ['internal'], 503: ['shutting_down', 'overloaded'],
};

function responseKey(responses, status) {
  const s = String(status);
  if (responses[s]) return s;
  const range = `${s[0]}XX`;
  if (responses[range]) return range;
  if (responses[range.toLowerCase()]) return range.toLowerCase();
  return responses.default ? 'default' : null;
}

/** The schema errors of an any-route refusal's body against the document's Problem. */
function problemErrors(route, status, body) {
  const validate = validatorAt(['components', 'schemas', 'Problem']);
  return validate(body) ? [] : validate.errors.map((e) => `${route} ${status}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
}

/**
 * Checks one answer against the document. Returns a list of problems (empty when it conforms):
 * an undocumented route or status, a media type the operation does not declare, or the body's
 * schema errors.
 */
export function validateResponse(method, urlPath, { status, headers, body, text }) {
  const template = templateFor(urlPath);
  const op = template ? doc.paths[template][method.toLowerCase()] : undefined;
  const route = `${method} ${template ?? urlPath.split('?')[0]}`;
  // A path or method the document lacks may still be answered with an any-route refusal.
  const key = op ? responseKey(op.responses ?? {}, status) : null;
  if (!key || (key === 'default' && ANY_ROUTE[status])) {
    if (ANY_ROUTE[status]?.includes(body?.code)) return problemErrors(route, status, body);
    if (!template) return [`${route}: no such path in the document (answered ${status})`];
    if (!op) return [`${route}: no such operation in the document (answered ${status})`];
    if (!key) return [`${route}: status ${status} is not documented`];
  }
  const [segments, response] = follow(['paths', template, method.toLowerCase(), 'responses', key]);
  const content = response?.content;
  const type = (headers?.get?.('content-type') ?? headers?.['content-type'] ?? '').split(';')[0].trim();
  if (!content) {
    return text && text.length > 0 && status !== 204 && type !== ''
      ? [`${method} ${template} ${status}: a body (${type}) where the document declares none`] : [];
  }
  if (!content[type]) return [`${method} ${template} ${status}: media type '${type}' is not one of ${Object.keys(content).join(', ')}`];
  if (!content[type].schema) return [];
  let value = body;
  if (value === null && type.endsWith('json')) return [`${method} ${template} ${status}: the body is not JSON: ${text?.slice(0, 200)}`];
  if (!type.endsWith('json')) value = text;
  const validate = validatorAt([...segments, 'content', type, 'schema']);
  if (validate(value)) return [];
  return validate.errors.map((e) => `${method} ${template} ${status}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Asserts an answer conforms to the document (see validateResponse); returns the body. */
export function assertResponseMatches(method, urlPath, res, what = '') {
  const problems = validateResponse(method, urlPath, res);
  assert.deepEqual(problems, [], `${what || `${method} ${urlPath}`} answered ${res.status} against docs/openapi.yaml:\n${problems.join('\n')}\nbody: ${res.text?.slice(0, 2000)}`);
  return res.body;
}

/** The document's ErrorCode enum. */
export function documentedErrorCodes() {
  return doc.components.schemas.ErrorCode.enum;
}

/** Asserts a webhook message body conforms to the document's schema for its `type` (webhooks section). */
export function assertWebhookMatches(body, what = '') {
  const op = doc.webhooks?.[body?.type]?.post;
  assert.ok(op, `docs/openapi.yaml documents no webhook ${body?.type}`);
  const validate = validatorAt(['webhooks', body.type, 'post', 'requestBody', 'content', 'application/json', 'schema']);
  assert.ok(validate(body), `${what || body.type} against docs/openapi.yaml: ${JSON.stringify(validate.errors)}`);
  return body;
}
