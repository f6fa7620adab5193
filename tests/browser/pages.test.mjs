// Proves the web pages as a real varelayd serves them, in headless Chromium on a phone screen:
// served with their CSP, caching and nosniff headers; both languages; the payment page's number
// field (grouping, Luhn) and its messages; the sign-in form showing the server's real refusal;
// the master pages rendering accounts, limits, approvals and statements. No page logs an error,
// breaks its CSP or sends a request off loopback. Saves a screenshot of each page (docs/screenshots).
// The payment page loads a real payment from the real server. Two tests feed the page fixed answers
// inside the browser (stubs.mjs), to draw every state for the screenshots (declined, awaiting
// approval; a master with accounts, approvals and statements); full_flow.test.mjs drives those
// same pages against the real server and simulated bank end to end.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, api, expectStatus, killAll, makeTempDir, rawHttp, removeDir, startRelay } from '../e2e/relay.mjs';
import { assertBuilt, FAILED_LOAD, launch, luhnNumber, openPage, screenshot, WEB_ROOT } from './browser.mjs';
import { stubMasterApi, STUB_PAYMENT } from './stubs.mjs';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

describe('web pages', () => {
  let dataDir;
  let relay;
  let browser;
  let payment;  // a real payment of 39,000 won at 데모상점: its id and the page's path with its token

  before(async () => {
    assertBuilt();
    dataDir = makeTempDir('varelay-browser-');
    relay = await startRelay({ dataDir, args: ['--web-root', WEB_ROOT] });
    const admin = api(relay.url, ADMIN_KEY);
    expectStatus(await admin.post('/v1/banks', { code: '004', name: 'KB Kookmin Bank' }), 201);
    expectStatus(await admin.post('/v1/merchants', { id: 'shop', name: STUB_PAYMENT.merchant_name }), 201);
    expectStatus(await admin.post('/v1/merchants/shop/contracts', { bank: '004', mother_account: '004100000000001', holder_name: 'shop' }), 201);
    const shop = api(relay.url, expectStatus(await admin.post('/v1/api-keys', { role: 'merchant', merchant: 'shop', label: 'shop' }), 201).key);
    payment = expectStatus(await shop.post('/v1/division-payments', { order_id: 'order-1001', amount: 39000, return_url: 'https://shop.example/back' },
      { headers: { 'Idempotency-Key': 'order-1001' } }), 201);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    await killAll();
    removeDir(dataDir);
  });

  test('pages and assets are served with the CSP, caching and nosniff headers', async () => {
    const page = await fetch(`${relay.url}/pay/dvp_00000000000000000000`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.equal(page.headers.get('content-security-policy'), CSP);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from another origin');

    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 2, `the page names its script and style: ${assets}`);
    for (const asset of assets) {
      assert.match(asset, /-[A-Za-z0-9_-]{8}\.(js|css)$/, 'asset names carry a content hash');
      const res = await fetch(relay.url + asset);
      assert.equal(res.status, 200, asset);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', asset);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', asset);
      assert.match(res.headers.get('content-type'), asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    }

    const master = await fetch(`${relay.url}/master/accounts/dva_1`);
    assert.equal(master.status, 200);
    const etag = master.headers.get('etag');
    const again = await fetch(`${relay.url}/master/`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, 'the HTML revalidates by its ETag');
    const head = await fetch(`${relay.url}/master/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), master.headers.get('content-length'));
    // Sent as written (fetch would resolve the dot segments before sending).
    for (const bad of ['/assets/..%2f..%2fCMakeLists.txt', '/assets/%2e%2e/pay/index.html', '/assets/../pay/index.html',
      '/pay', '/nothing.js']) {
      assert.equal((await rawHttp(relay.port, { path: bad })).status, 404, bad);
    }
    assert.equal((await fetch(`${relay.url}/pay/dvp_1`, { method: 'POST' })).status, 404);
  });

  test('a web root that is not a built folder refuses the start, saying why', async () => {
    const dir = makeTempDir('varelay-browser-bad-');
    try {
      await assert.rejects(startRelay({ dataDir: dir, args: ['--web-root', `${dir}/missing`] }),
        /varelayd: --web-root: .*missing is not a directory/);
    } finally {
      removeDir(dir);
    }
  });

  test('the payment page shows the payment in both languages and groups and Luhn-checks the number', async () => {
    for (const [locale, words] of [['en-US', { title: 'Pay with your division account', invalid: /not a division-account number/ }],
      ['ko-KR', { title: '분할계좌로 결제', invalid: /분할계좌 번호가 아닙니다/ }]]) {
      const page = await openPage(browser, { locale });
      await page.goto(relay.url + payment.payment_page_url);
      await page.getByRole('heading', { name: words.title }).waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
      assert.match(await page.getByTestId('amount').textContent(), locale === 'ko-KR' ? /^39,000원$/ : /^₩39,000$/);
      assert.equal(await page.getByTestId('merchant').textContent(), STUB_PAYMENT.merchant_name);

      const number = page.getByTestId('number');
      await number.pressSequentially('9412-3456 7890 1235');
      assert.equal(await number.inputValue(), '9412 3456 7890 1235', 'grouped 4-4-4-4, other characters dropped');
      await page.getByTestId('password').fill('482915');
      await page.getByTestId('submit').click();
      assert.match(await page.locator('#number-error').textContent(), words.invalid, 'a wrong check digit is refused before sending');
      assert.equal(await number.getAttribute('aria-invalid'), 'true');
      await screenshot(page, `pay-invalid-number-${locale.slice(0, 2)}`);

      await number.fill('');
      await number.pressSequentially(luhnNumber('941234567890123'));
      assert.equal(await number.inputValue(), '9412 3456 7890 1234');
      await number.blur();
      assert.equal(await page.locator('#number-error').textContent(), '');
      assert.equal(await number.getAttribute('aria-invalid'), 'false');
      await screenshot(page, `pay-${locale.slice(0, 2)}`);
      page.assertClean();
      await page.close();
    }
  });

  test('the payment page shows each result and the decline reason in words', async () => {
    const page = await openPage(browser, { locale: 'en-US' });
    let answer = { ...STUB_PAYMENT, status: 'declined', decline_reason: 'over_daily_limit' };
    // Fixed answers, so that every state is drawn (the real flow: full_flow.test.mjs).
    await page.route('**/v1/division-payments/*/page', (route) => route.fulfill({ json: STUB_PAYMENT }));
    await page.route('**/v1/division-payments/*/authorize', (route) => route.fulfill({ json: answer }));
    await page.goto(`${relay.url}/pay/${STUB_PAYMENT.id}#t=vpt_test_token`);
    await page.getByTestId('number').fill(luhnNumber('941234567890123'));
    await page.getByTestId('password').fill('482915');
    await page.getByTestId('submit').click();
    await page.getByTestId('outcome').waitFor();
    assert.equal(await page.getByTestId('outcome').getAttribute('data-status'), 'declined');
    assert.equal(await page.getByTestId('reason').textContent(), 'This payment would go over today\'s limit.');
    await screenshot(page, 'pay-declined-en');
    await page.close();

    const approved = await openPage(browser, { locale: 'ko-KR' });
    answer = { ...STUB_PAYMENT, status: 'awaiting_approval' };
    await approved.route('**/v1/division-payments/*/page', (route) => route.fulfill({ json: STUB_PAYMENT }));
    await approved.route('**/v1/division-payments/*/authorize', (route) => route.fulfill({ json: answer }));
    await approved.goto(`${relay.url}/pay/${STUB_PAYMENT.id}#t=vpt_test_token`);
    await approved.getByTestId('number').fill(luhnNumber('941234567890123'));
    await approved.getByTestId('password').fill('482915');
    await approved.getByTestId('submit').click();
    await approved.getByText('계좌 주인의 승인을 기다리고 있습니다…').waitFor();
    await screenshot(approved, 'pay-awaiting-approval-ko');
    approved.assertClean();
    await approved.close();
    page.assertClean();
  });

  test('the payment page says what is wrong with a link without token or an unknown payment', async () => {
    const page = await openPage(browser, { locale: 'en-US', allowConsole: [FAILED_LOAD] });
    await page.goto(`${relay.url}/pay/dvp_00000000000000000000`);
    assert.match(await page.getByTestId('problem').textContent(), /payment link is incomplete/);
    // The real server's answer for a payment it does not know, and for a wrong token.
    // Another path each: a new fragment alone would not load the page again.
    await page.goto(`${relay.url}/pay/dvp_11111111111111111111#t=vpt_unknown`);
    assert.match(await page.getByTestId('problem').textContent(), /payment link is not valid/);
    await page.goto(`${relay.url}/pay/${payment.id}#t=pg_not_the_token`);
    assert.match(await page.getByTestId('problem').textContent(), /payment link is not valid/);
    await screenshot(page, 'pay-unknown-en');
    page.assertClean();
    await page.close();
  });

  test('sign-in shows the real server\'s refusal in words, in Korean and after the switch in English', async () => {
    const page = await openPage(browser, { locale: 'ko-KR', allowConsole: [FAILED_LOAD] });
    await page.goto(`${relay.url}/master/`);
    await page.getByRole('heading', { name: '계좌 주인 로그인' }).waitFor();
    await screenshot(page, 'master-signin-ko');
    await page.getByTestId('lang').click();
    await page.getByRole('heading', { name: 'Sign in as an account holder' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.getByLabel('E-mail or phone').fill('parent@example.com');
    await page.getByLabel('Password').fill('not-the-password-1');
    await page.getByTestId('signin').click();
    const error = await page.getByTestId('signin-error').textContent();
    assert.ok(error.length > 10 && !/undefined|\{/.test(error), `a sentence, not raw data: ${error}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('varelay.session')), null, 'no session kept');
    await screenshot(page, 'master-signin-error-en');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in as an account holder' }).waitFor();  // the choice is remembered
    page.assertClean();
    await page.close();
  });

  test('the master pages show accounts against limits, issue, limits, approvals and statements', async () => {
    const page = await openPage(browser, { locale: 'en-US' });
    const calls = await stubMasterApi(page);  // fixed answers, to draw every state (the real flow: full_flow.test.mjs)
    await page.goto(`${relay.url}/master/`);
    await page.getByLabel('E-mail or phone').fill('parent@example.com');
    await page.getByLabel('Password').fill('correct horse 1');
    await page.getByTestId('signin').click();
    await page.getByTestId('accounts').waitFor();
    assert.equal(calls.at(-1).authorization, 'Bearer vms_stub_session', 'the session goes as a bearer token');
    assert.equal(await page.locator('meter').count(), 3, 'a bar per limit set');
    await screenshot(page, 'master-accounts-en');

    await page.getByRole('link', { name: 'Issue an account' }).click();
    await page.getByTestId('name').fill('Minji');
    await page.getByTestId('label').fill('Minji');
    await page.getByTestId('initial-password').fill('482915');
    await page.getByTestId('limit-day').fill('30,000');
    await page.getByLabel('Gambling').check();
    await page.getByTestId('issue').click();
    await page.getByTestId('issued-number').waitFor();
    const issued = calls.find((c) => c.method === 'POST' && c.path === '/v1/master/division-accounts');
    assert.equal(issued.body.limits.per_day, 30000);
    assert.deepEqual(issued.body.categories_denied, ['gambling']);
    assert.deepEqual(issued.body.dependant, { name: 'Minji', phone: null });
    assert.equal(issued.body.label, 'Minji');
    assert.equal(issued.body.password, '482915');
    await screenshot(page, 'master-issue-en');

    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('link', { name: 'Jiho' }).click();
    await page.getByTestId('save').waitFor();
    await page.getByTestId('limit-month').fill('250000');
    await page.getByTestId('save').click();
    await page.getByText('Saved.').waitFor();
    assert.equal(calls.find((c) => c.method === 'PATCH').body.limits.per_month, 250000);
    await page.getByTestId('action-freeze').click();
    await page.getByTestId('action-unfreeze').waitFor();
    await page.getByTestId('statement-show').click();
    await page.getByTestId('statement-total').waitFor();
    await screenshot(page, 'master-account-en');

    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.getByTestId('approve').first().waitFor();
    await screenshot(page, 'master-approvals-en');
    await page.getByTestId('approve').first().click();
    await page.getByTestId('approvals-empty').waitFor();

    await page.getByTestId('lang').click();
    await page.getByRole('link', { name: '거래 내역' }).click();
    await page.getByTestId('statement-show').click();
    assert.equal(await page.getByTestId('statement-total').textContent(), '51,500원');
    const download = page.waitForEvent('download');
    await page.getByTestId('statement-csv').click();
    assert.match((await download).suggestedFilename(), /^statement-all-2026-12-01-2026-12-07\.csv$/);
    assert.equal(calls.at(-1).accept, 'text/csv');
    await screenshot(page, 'master-statement-ko');
    page.assertClean();
    await page.close();
  });
});
