// Proves the telegram connector over real TCP: a bank's receivability inquiry is answered with the
// holder name or a reject code, a deposit notice pays the order and a re-send is answered 0000
// without booking twice, a cancellation names its original, and garbage, strangers and broken
// framing get a closed connection while the relay keeps serving.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { allDeposits, api, expectStatus, killAll, makeTempDir, removeDir, seedDemo, startRelay, waitFor } from './relay.mjs';
import { connectTelegrams, depositTelegram, header, kstStamp, num, text } from './telegram_frames.mjs';

after(killAll);

function inquiryTelegram({ sequence, number, amount }) {
  const body = text(number, 16) + text('', 30) + '04' + '0'.repeat(8) + '0'.repeat(14) + num(amount, 13) + text('', 2) +
    '10' + text('KIM MINJI', 20) + '004' + ' '.repeat(90);
  return header({ message: '0900', business: '100', sequence }) + body;
}

const field = (frame, offset, length) => frame.subarray(offset, offset + length);
const responseCode = (frame) => field(frame, 47, 4).toString('latin1');
const messageCode = (frame) => field(frame, 19, 4).toString('latin1');

test('telegrams over TCP: inquiry with holder name or reject code, one deposit despite a re-send, cancellation, and hostile input closed', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--telegram-listen', '127.0.0.1:0', '--telegram-bank', '004=127.0.0.0/8'] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const port = Number(/varelayd telegrams on 127\.0\.0\.1:(\d+)/.exec(relay.stdout())[1]);
  const seed = await seedDemo(relay, { perPool: 2, protocol: 'telegram' });
  const shop = api(relay.url, seed.keys.shop);
  const admin = api(relay.url, seed.keys.bank004);
  const order = expectStatus(await shop.post('/v1/assignments', { order_id: 'TG-1', amount: 5000, bank: '004' },
    { headers: { 'Idempotency-Key': 'tg-1' } }), 201, 'issue');

  const bank = await connectTelegrams(port);
  t.after(() => bank.close());
  bank.send(inquiryTelegram({ sequence: 1, number: order.number, amount: 5000 }));
  const accepted = await bank.next();
  assert.equal(accepted.length, 300);
  assert.equal(messageCode(accepted), '0910');
  assert.equal(responseCode(accepted), '0000');
  assert.equal(new TextDecoder('euc-kr').decode(field(accepted, 100 + 16, 30)).trim(), seed.holderNames.shop);

  bank.send(inquiryTelegram({ sequence: 2, number: order.number, amount: 4000 }));
  assert.equal(responseCode(await bank.next()), '0104', 'amount_mismatch, default code');
  bank.send(inquiryTelegram({ sequence: 3, number: '99999999999999', amount: 5000 }));
  assert.equal(responseCode(await bank.next()), '0101', 'unknown_number, default code');

  const notice = depositTelegram({ sequence: 4, number: order.number, amount: 5000 });
  bank.send(notice);
  const ack = await bank.next();
  assert.equal(messageCode(ack), '0210');
  assert.equal(responseCode(ack), '0000');
  assert.equal(expectStatus(await shop.get('/v1/orders/TG-1'), 200, 'order').status, 'paid');
  // The bank did not hear the answer and sends again (send count 2): 0000 again, booked once.
  bank.send(notice.slice(0, 26) + '2' + notice.slice(27));
  assert.equal(responseCode(await bank.next()), '0000');
  let deposits = await allDeposits(admin);
  assert.equal(deposits.length, 1);
  assert.equal(deposits[0].transaction_id, `tg:${kstStamp().ymd}:000004:${order.number}`);
  assert.equal(deposits[0].payer_name, 'KIM MINJI');

  const { ymd } = kstStamp();
  bank.send(depositTelegram({ sequence: 5, number: order.number, amount: 5000, kind: '51', original: { date: ymd, sequence: 4 } }));
  assert.equal(responseCode(await bank.next()), '0000');
  deposits = await allDeposits(admin);
  assert.equal(deposits.length, 1);
  assert.equal(deposits[0].status, 'cancelled');

  // A telegram whose body is garbage: a format-error answer, and the connection stays usable.
  const broken = notice.slice(0, 100 + 21) + 'ABCDEFGHIJKLM' + notice.slice(100 + 34);
  bank.send(broken);
  const formatError = await bank.next();
  assert.equal(responseCode(formatError), '0901');

  // Strangers and broken framing: closed without an answer; the relay keeps serving.
  const stranger = await connectTelegrams(port);
  stranger.send(depositTelegram({ sequence: 6, number: order.number, amount: 5000, bank: '088' }));
  assert.equal(await stranger.next(), null, 'a bank not configured for telegrams is cut off');
  const junk = await connectTelegrams(port);
  junk.send('00x5hello', { raw: true });
  assert.equal(await junk.next(), null, 'a non-digit length prefix closes the connection');
  const huge = await connectTelegrams(port);
  huge.send('9999', { raw: true });
  assert.equal(await huge.next(), null, 'an oversized frame closes the connection');
  const short = await connectTelegrams(port);
  short.send('hello');
  assert.equal(await short.next(), null, 'a frame too short to carry a header closes the connection');
  await waitFor(async () => (await fetch(`${relay.url}/healthz`)).ok, { what: 'the relay still serves' });
  assert.equal((await allDeposits(admin)).length, 1, 'nothing else was booked');
});

test('--telegram-request-missing: a hole in the bank\'s sequence numbers is asked for with 0600/200 after the answer; the bank\'s 0610 is taken and the re-sent notices are booked', async (t) => {
  const dataDir = makeTempDir();
  const relay = await startRelay({ dataDir, args: ['--telegram-listen', '127.0.0.1:0', '--telegram-bank', '004=127.0.0.0/8', '--telegram-request-missing'] });
  t.after(async () => { await relay.kill(); removeDir(dataDir); });
  const port = Number(/varelayd telegrams on 127\.0\.0\.1:(\d+)/.exec(relay.stdout())[1]);
  const seed = await seedDemo(relay, { perPool: 3, protocol: 'telegram' });
  const shop = api(relay.url, seed.keys.shop);
  const numbers = [];
  for (const order of ['GAP-1', 'GAP-2', 'GAP-3']) {
    numbers.push(expectStatus(await shop.post('/v1/assignments', { order_id: order, amount: 5000, bank: '004', region: 'seoul' },
      { headers: { 'Idempotency-Key': order } }), 201, order).number);
  }
  const bank = await connectTelegrams(port);
  t.after(() => bank.close());
  bank.send(depositTelegram({ sequence: 10, number: numbers[0], amount: 5000 }));
  assert.equal(responseCode(await bank.next()), '0000');
  bank.send(depositTelegram({ sequence: 13, number: numbers[2], amount: 5000 }));
  assert.equal(responseCode(await bank.next()), '0000', 'the notice is answered first');
  const ask = await bank.next();
  assert.equal(messageCode(ask), '0600');
  assert.equal(field(ask, 23, 3).toString('latin1'), '200');
  assert.equal(field(ask, 100 + 8, 6).toString('latin1'), '000011', 'from');
  assert.equal(field(ask, 100 + 14, 6).toString('latin1'), '000012', 'to');
  // The bank answers the request (0610) and re-sends what was lost.
  const answer = Buffer.from(ask);
  answer.write('0610', 19, 'latin1');
  bank.send(answer.toString('latin1'));
  bank.send(depositTelegram({ sequence: 11, number: numbers[1], amount: 5000 }));
  assert.equal(responseCode(await bank.next()), '0000', 'the connection took the 0610 and the re-sent notice');
  const deposits = await allDeposits(api(relay.url, seed.keys.bank004));
  assert.equal(deposits.length, 3);
});
