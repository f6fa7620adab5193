// Telegram frames as a bank sends them (docs/telegrams.md), and a framed TCP connection to the
// relay's telegram listener, for the end-to-end tests that speak telegrams.

import net from 'node:net';

export const text = (s, n) => s.padEnd(n, ' ').slice(0, n);
export const num = (v, n) => String(v).padStart(n, '0');

/** Today's date and time in Korea (the telegrams' clock): {ymd: 'YYYYMMDD', hms: 'HHMMSS'}. */
export function kstStamp(date = new Date()) {
  const k = new Date(date.getTime() + 9 * 3600_000).toISOString();
  return { ymd: k.slice(0, 10).replaceAll('-', ''), hms: k.slice(11, 19).replaceAll(':', '') };
}

/** A telegram header (100 bytes) for a message of this relay's bank link. */
export function header({ message, business, sequence, sendCount = 1, bank = '004', original = null }) {
  const { ymd, hms } = kstStamp();
  return text('VARELAY01', 9) + text('VR000001', 8) + '04' + message + business + String(sendCount) + num(sequence, 6) +
    ymd + hms + '0000' + '0000' + (original ? original.date + num(original.sequence, 6) : '0'.repeat(14)) +
    text(`KB${num(sequence, 6)}`, 15) + bank + ' '.repeat(13);
}

/** A deposit notice (0200/300) for `amount` won into `number`. */
export function depositTelegram({ sequence, number, amount, kind = '20', sendCount = 1, original = null, bank = '004' }) {
  const { ymd, hms } = kstStamp();
  const body = text('1002345678901', 15) + '01' + kind + '04' + num(amount, 13) + num(0, 13) + text('', 6) +
    text('KIM MINJI', 14) + text('', 10) + num(amount, 13) + num(0, 13) + num(0, 13) + text(number, 16) + ymd + hms +
    text('', 6) + bank + text('', 7) + ' '.repeat(38);
  return header({ message: '0200', business: '300', sequence, sendCount, bank, original }) + body;
}

/** A connection that sends framed telegrams and reads framed answers (null: the relay closed it). */
export async function connectTelegrams(port) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let buffer = Buffer.alloc(0);
  let closed = false;
  const waiters = [];
  const pump = () => {
    while (waiters.length > 0) {
      if (buffer.length >= 4) {
        const length = Number(buffer.subarray(0, 4).toString('latin1'));
        if (buffer.length >= 4 + length) {
          const frame = buffer.subarray(4, 4 + length);
          buffer = buffer.subarray(4 + length);
          waiters.shift().resolve(frame);
          continue;
        }
      }
      if (closed) { waiters.shift().resolve(null); continue; }
      break;
    }
  };
  socket.on('data', (d) => { buffer = Buffer.concat([buffer, d]); pump(); });
  socket.on('close', () => { closed = true; pump(); });
  socket.on('error', () => {});
  return {
    /** Sends a telegram framed with its 4-digit length, or, with raw, the bytes as given. */
    send(telegramOrRaw, { raw = false } = {}) {
      const payload = Buffer.from(telegramOrRaw, 'latin1');
      socket.write(raw ? payload : Buffer.concat([Buffer.from(num(payload.length, 4), 'latin1'), payload]));
    },
    /** The next answer frame, or null when the relay closed the connection. */
    next() { return new Promise((resolve) => { waiters.push({ resolve }); pump(); }); },
    close() { socket.destroy(); },
  };
}

/** The response code of an answer frame. */
export const responseCode = (frame) => frame.subarray(47, 51).toString('latin1');
