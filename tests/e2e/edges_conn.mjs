// A raw HTTP/1.1 connection for the edge tests: write bytes when the test says, read what comes,
// and note how the connection ended (a clean close, or a reset).

import net from 'node:net';

import { parseRawResponse, waitFor } from './relay.mjs';

/** Opens a connection to 127.0.0.1:`port` (from `localAddress`); resolves once connected. */
export async function openConnection(port, { localAddress = '127.0.0.1' } = {}) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const conn = { socket, received: Buffer.alloc(0), ended: false, closed: false, reset: false, consumed: 0 };
  socket.on('data', (d) => { conn.received = Buffer.concat([conn.received, d]); });
  socket.on('end', () => { conn.ended = true; });
  socket.on('close', () => { conn.closed = true; });
  socket.on('error', (e) => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') conn.reset = true; });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return conn;
}

/** The head of a request (no body): `Content-Length` only when given. */
export function requestHead(port, { method = 'GET', path = '/healthz', headers = {}, contentLength } = {}) {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (contentLength !== undefined) lines.push(`Content-Length: ${contentLength}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

/** A whole response at the front of `buf` (status, headers, the body its Content-Length gives; a 1xx alone), or null. */
function wholeResponse(buf) {
  const raw = buf.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const interim = /^HTTP\/1\.[01] (1\d\d)/.exec(raw);
  if (interim) return { response: { status: Number(interim[1]), headers: {} }, size: end + 4 };
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end));
  const size = end + 4 + (length ? Number(length[1]) : 0);
  if (buf.length < size) return null;
  return { response: parseRawResponse(buf.subarray(0, size)), size };
}

/**
 * The next response on `conn`, waiting up to `timeoutMs`; {status: null} when the connection
 * closed without one.
 */
export async function nextResponse(conn, { timeoutMs = 5000 } = {}) {
  let found = null;
  await waitFor(() => {
    found = wholeResponse(conn.received.subarray(conn.consumed));
    return found || conn.closed;
  }, { timeoutMs, intervalMs: 10, what: 'a response' });
  if (!found) return { status: null };
  conn.consumed += found.size;
  return found.response;
}

/** Waits until the server has closed `conn`; returns whether it was clean (no reset). */
export async function closedByServer(conn, { timeoutMs = 5000 } = {}) {
  await waitFor(() => conn.closed || conn.ended, { timeoutMs, intervalMs: 10, what: 'the server to close' });
  return !conn.reset;
}
