// A webhook receiver as a merchant would run one, for the end-to-end tests: it verifies every request with the
// npm `standardwebhooks` package, records each delivery in order of arrival, and answers as the test tells it.
//
//   const receiver = await startReceiver({ secret });      // or { https: { key, cert } }; secret may come later
//   receiver.url                                           // http://127.0.0.1:<port>/hooks (https:// with https)
//   receiver.setSecret(created.secret)                     // the whsec_... the relay showed at endpoint creation
//   receiver.respondWith(204 | 'hang' | (delivery) => ...) // programmable answer (see respondWith)
//   await receiver.down(); await receiver.up()             // connections refused, then served again on the same port
//   await receiver.waitForDeliveries(2)                    // poll with a deadline, never sleep
//
// A request whose signature does not verify is answered 400 and recorded with verified: false, whatever the
// behaviour says: a real merchant must never act on an unverified message.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';

import { waitFor } from './relay.mjs';

const HOST = '127.0.0.1';
const PATH = '/hooks';
const REBIND_TIMEOUT_MS = 5_000;

// Every receiver this module started and has not closed, so a test file's `after` hook can close stragglers.
const open = new Set();

/** A random Standard Webhooks secret (`whsec_` + base64 of 32 random bytes), for "another secret" checks. */
export function randomSecret() {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Verifies one recorded delivery with `secret` exactly as a merchant would (standardwebhooks over the raw body
 * and the three webhook-* headers). Returns the parsed body; throws WebhookVerificationError when it does not verify.
 */
export function verifyDelivery(delivery, secret) {
  return new Webhook(secret).verify(delivery.raw, {
    'webhook-id': delivery.headers['webhook-id'],
    'webhook-timestamp': delivery.headers['webhook-timestamp'],
    'webhook-signature': delivery.headers['webhook-signature'],
  });
}

/** Whether `delivery` verifies with `secret` (a different, wrong secret gives false). */
export function verifiesWith(delivery, secret) {
  try {
    verifyDelivery(delivery, secret);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a receiver on 127.0.0.1:0 (plain HTTP, or HTTPS with `https: {key, cert}` in PEM).
 *
 * Each request becomes a delivery record, pushed to `receiver.deliveries` when it has been read:
 *   {id (webhook-id), timestamp (webhook-timestamp, a number), signatures (the webhook-signature entries),
 *    headers (lower-case names), method, path, raw (the body as text), body (parsed JSON or null),
 *    verified, error (why it did not verify, or null), receivedAt (ms), answered (status sent, or null),
 *    answeredAt, closedAt (ms when the connection of an unanswered request closed, else null)}.
 */
export async function startReceiver({ secret = null, https: tls = null } = {}) {
  let currentSecret = secret;
  let behaviour = 204;
  const deliveries = [];
  const sockets = new Set();
  const tlsErrors = [];

  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = { ...req.headers };
      const delivery = {
        id: headers['webhook-id'] ?? null,
        timestamp: headers['webhook-timestamp'] === undefined ? null : Number(headers['webhook-timestamp']),
        signatures: (headers['webhook-signature'] ?? '').split(' ').filter((s) => s.length > 0),
        headers,
        method: req.method,
        path: req.url,
        raw,
        body: null,
        verified: false,
        error: null,
        receivedAt: Date.now(),
        answered: null,
        answeredAt: null,
        closedAt: null,
      };
      try {
        delivery.body = JSON.parse(raw);
      } catch {
        delivery.body = null;
      }
      if (currentSecret === null) {
        delivery.error = 'the receiver has no secret yet';
      } else {
        try {
          verifyDelivery(delivery, currentSecret);
          delivery.verified = true;
        } catch (err) {
          delivery.error = err.message;
        }
      }
      deliveries.push(delivery);
      // The connection, not the response, tells when the relay gave up on an unanswered request.
      const socket = req.socket;
      const onClose = () => { delivery.closedAt = Date.now(); };
      socket.once('close', onClose);
      const answer = (a) => {
        if (a === 'hang' || res.destroyed || res.writableEnded || socket.destroyed) return;
        const { status, headers: extra = {}, body = '' } = typeof a === 'number' ? { status: a } : a;
        socket.off('close', onClose);  // a kept-alive connection carries later requests: don't pile up listeners
        delivery.answered = status;
        delivery.answeredAt = Date.now();
        res.writeHead(status, { 'content-type': 'text/plain', ...extra });
        res.end(body);
      };
      if (!delivery.verified) {
        answer({ status: 400, body: `not verified: ${delivery.error}` });
        return;
      }
      const chosen = typeof behaviour === 'function' ? behaviour(delivery) : behaviour;
      Promise.resolve(chosen).then(answer, (err) => answer({ status: 500, body: String(err) }));
    });
  };

  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  if (tls) server.on('tlsClientError', (err) => tlsErrors.push(err));

  const listen = (port) => new Promise((resolve, reject) => {
    const onError = (err) => { server.off('listening', onListening); reject(err); };
    const onListening = () => { server.off('error', onError); resolve(server.address().port); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: HOST, port, exclusive: true });
  });
  const port = await listen(0);
  let listening = true;

  // server.close() only stops accepting; the open (keep-alive or hung) connections are destroyed too, so the
  // relay cannot slip a delivery through a connection made before the outage.
  // Resolves once every connection has closed (and its listeners ran), so pending() is exact afterwards.
  const closeListener = async () => {
    const closed = listening ? new Promise((resolve) => server.close(resolve)) : Promise.resolve();
    listening = false;
    for (const s of sockets) s.destroy();
    await closed;
    await waitFor(() => sockets.size === 0, { timeoutMs: 5_000, intervalMs: 5, what: 'the receiver\'s connections to close' });
  };

  const receiver = {
    port,
    url: `${tls ? 'https' : 'http'}://${HOST}:${port}${PATH}`,
    path: PATH,
    deliveries,
    tlsErrors,
    get secret() { return currentSecret; },
    /** The secret every request is verified with from now on. */
    setSecret(s) { currentSecret = s; },
    /**
     * How to answer verified requests from now on: a status (`204`, `410`, `500`, ...), `'hang'` (never answer;
     * the connection stays open until the relay gives up or the receiver goes down), or a function of the
     * delivery record returning either of those or `{status, headers, body}`, or a promise of one.
     */
    respondWith(b) { behaviour = b; },
    hang() { behaviour = 'hang'; },
    /** Closes the listening socket and every open connection: new connections are refused until up(). */
    down: closeListener,
    /** Listens again on the same port (retrying briefly if the port is momentarily taken). */
    async up() {
      if (listening) return;
      await waitFor(async () => {
        try {
          await listen(port);
          return true;
        } catch (err) {
          if (err.code !== 'EADDRINUSE') throw err;
          return false;
        }
      }, { timeoutMs: REBIND_TIMEOUT_MS, intervalMs: 50, what: `the receiver to listen again on port ${port}` });
      listening = true;
    },
    get listening() { return listening; },
    /** Requests that were not answered and whose connection is still open (the relay is still waiting). */
    pending() { return deliveries.filter((d) => d.answered === null && d.closedAt === null); },
    /** The deliveries with each webhook-id once, first arrival kept, in order of arrival. */
    uniqueById() {
      const seen = new Set();
      return deliveries.filter((d) => (seen.has(d.id) ? false : (seen.add(d.id), true)));
    },
    /** The deliveries of one event (every attempt), in order of arrival. */
    attemptsOf(eventId) { return deliveries.filter((d) => d.id === eventId); },
    /** Waits until at least `n` requests arrived; returns the first `n`. */
    async waitForDeliveries(n, { timeoutMs = 10_000, what } = {}) {
      await waitFor(() => deliveries.length >= n, { timeoutMs, what: what ?? `${n} deliveries at ${receiver.url} (have ${deliveries.length})` });
      return deliveries.slice(0, n);
    },
    /** Waits until at least `n` distinct webhook-ids arrived; returns uniqueById(). */
    async waitForUnique(n, { timeoutMs = 10_000, what } = {}) {
      await waitFor(() => receiver.uniqueById().length >= n, {
        timeoutMs, what: what ?? `${n} distinct events at ${receiver.url} (have ${receiver.uniqueById().length})`,
      });
      return receiver.uniqueById();
    },
    /** Waits until a delivery satisfies `predicate`; returns the first such delivery. */
    async waitForMatch(predicate, { timeoutMs = 10_000, what = 'a matching delivery' } = {}) {
      return waitFor(() => deliveries.find(predicate), { timeoutMs, what: `${what} at ${receiver.url}` });
    },
    /** Waits for the first delivery of an event of this type (and optionally this order id). */
    async waitForType(type, { orderId, timeoutMs = 10_000 } = {}) {
      return receiver.waitForMatch((d) => d.body?.type === type && (orderId === undefined || d.body?.data?.order_id === orderId),
        { timeoutMs, what: `a ${type} event${orderId === undefined ? '' : ` for ${orderId}`}` });
    },
    /** Stops for good: refuses new connections and drops open ones. */
    async close() {
      await closeListener();
      open.delete(receiver);
    },
  };
  open.add(receiver);
  return receiver;
}

/** Closes every receiver this module started that is still open (for `after` hooks). */
export async function closeAllReceivers() {
  await Promise.all([...open].map((r) => r.close()));
}

/** Asserts a delivery verified with the receiver's secret and returns its parsed body. */
export function assertVerified(delivery, what = 'delivery') {
  assert.ok(delivery.verified, `${what} ${delivery.id} verifies with standardwebhooks: ${delivery.error}\n${delivery.raw}`);
  return delivery.body;
}
