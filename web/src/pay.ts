// The payment page, /pay/{payment_id}#t=<page token>: the dependant sees who asks for how much,
// enters the division account's number and password, and is sent back to the shop with the
// result. The merchant never sees the password; the page token only opens this one payment.
import './style.css';
import { ApiError, call } from './api';
import type { components } from './generated/openapi';
import { h, field, langSwitch } from './dom';
import { formatWon, groupNumber, numberDigits, numberValid } from './format';
import { initialLang, lang, reasonText, setLang, t } from './i18n';

/** What GET /v1/division-payments/{id}/page and .../authorize answer (docs/openapi.yaml). */
type PaymentPage = components['schemas']['DivisionPaymentPage'];

const FINAL = new Set(['approved', 'declined', 'expired', 'partially_refunded', 'refunded']);
const POLL_INTERVAL_MS = 2000;
const POLL_LIMIT_MS = 61 * 60 * 1000; // the longest co-approval deadline (60 minutes) and a minute
const REDIRECT_DELAY_MS = 1500;       // long enough to read the result

const app = document.getElementById('app')!;
const paymentId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const token = takeToken();
let page: PaymentPage | null = null;
let problem: string | null = null;  // why the page cannot go on
let notice: string | null = null;   // a refusal the dependant can fix (wrong password)
let busy = false;
let typedNumber = '';  // kept across re-renders: after a wrong password only the password is typed again

// The token travels in the fragment (never sent to any server, never in a Referer); it is kept for
// this tab in sessionStorage so a reload works, and taken out of the address bar.
function takeToken(): string {
  const storageKey = `varelay.page.${paymentId}`;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('t');
  if (fromHash) {
    sessionStorage.setItem(storageKey, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(storageKey) ?? '';
}

function authorization(): string {
  return `Page ${token}`;
}

function render(): void {
  document.title = `${t('pay.title')} · varelay`;
  const body: Node[] = [];
  if (problem) body.push(h('p', { class: 'error', role: 'alert', 'data-testid': 'problem' }, problem));
  else if (!page) body.push(h('p', { class: 'muted' }, t('pay.loading')));
  else {
    body.push(summary(page));
    body.push(page.status === 'awaiting_credentials' ? form() : outcome(page));
  }
  app.replaceChildren(
    h('header', { class: 'bar' }, h('h1', {}, t('pay.title')), langSwitch(render)),
    h('section', { class: 'card' }, ...body),
  );
}

function summary(p: PaymentPage): HTMLElement {
  return h('dl', { class: 'summary' },
    h('dt', {}, t('pay.merchant')), h('dd', { 'data-testid': 'merchant' }, p.merchant_name ?? '—'),
    h('dt', {}, t('pay.order')), h('dd', {}, p.order_id ?? '—'),
    h('dt', {}, t('pay.amount')), h('dd', { class: 'amount', 'data-testid': 'amount' }, formatWon(p.amount, lang())));
}

function form(): HTMLFormElement {
  const number = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: '19',
    placeholder: '9400 0000 0000 0000', 'data-testid': 'number' });
  const password = h('input', { type: 'password', autocomplete: 'off', maxlength: '64', 'data-testid': 'password' });
  const numberField = field('number', t('pay.number'), number, t('pay.number.hint'));
  const passwordField = field('password', t('pay.password'), password);
  number.value = groupNumber(typedNumber);
  number.addEventListener('input', () => {
    regroup(number);
    typedNumber = numberDigits(number.value);
  });
  number.addEventListener('blur', () => {
    if (number.value) checkNumber(number, numberField.error);
  });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'submit' },
    busy ? t('pay.submitting') : t('pay.submit'));
  submit.disabled = busy;
  const formEl = h('form', { novalidate: true }, numberField.wrap, passwordField.wrap,
    notice ? h('p', { class: 'error', role: 'alert', 'data-testid': 'notice' }, notice) : null, submit);
  formEl.addEventListener('submit', (event) => {
    event.preventDefault();
    const okNumber = checkNumber(number, numberField.error);
    const okPassword = password.value.length > 0;
    passwordField.error.textContent = okPassword ? '' : t('pay.password.missing');
    password.setAttribute('aria-invalid', String(!okPassword));
    if (okNumber && okPassword) void authorize(numberDigits(number.value), password.value);
  });
  return formEl;
}

// Keeps the typed digits grouped 4-4-4-4 and the caret after the same digit it followed.
function regroup(input: HTMLInputElement): void {
  const caret = input.selectionStart ?? input.value.length;
  const digitsBefore = numberDigits(input.value.slice(0, caret)).length;
  input.value = groupNumber(numberDigits(input.value));
  let at = 0;
  for (let seen = 0; at < input.value.length && seen < digitsBefore; at++) {
    if (input.value[at] !== ' ') seen++;
  }
  input.setSelectionRange(at, at);
}

function checkNumber(input: HTMLInputElement, error: HTMLElement): boolean {
  const ok = numberValid(numberDigits(input.value));
  error.textContent = ok ? '' : t('pay.number.invalid');
  input.setAttribute('aria-invalid', String(!ok));
  return ok;
}

async function authorize(number: string, password: string): Promise<void> {
  busy = true;
  // A wrong password is 422 wrong_password with attempts_left; the payment stays open.
  notice = null;
  render();
  try {
    page = await call<PaymentPage>(`/v1/division-payments/${encodeURIComponent(paymentId)}/authorize`,
      { method: 'POST', authorization: authorization(), body: { number, password } });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'payment_not_authorizable') return load();  // it moved on: show where
    notice = e instanceof ApiError && e.code in REASON_CODES ? reasonText(e.code) : describe(e);
    const left = e instanceof ApiError ? e.problem.attempts_left : undefined;
    if (typeof left === 'number') notice += ` ${t('pay.attempts_left')} ${left}`;
  } finally {
    busy = false;
  }
  render();
  follow();
}

// Decline reasons the API may answer as a problem code while the payment stays open.
const REASON_CODES: Record<string, true> = { wrong_password: true, account_not_found: true, account_locked: true };

function outcome(p: PaymentPage): HTMLElement {
  const waiting = p.status === 'awaiting_approval' || p.status === 'debiting';
  const title = p.status === 'approved' || p.status.endsWith('refunded') ? t('pay.approved')
    : p.status === 'declined' ? t('pay.declined')
    : p.status === 'expired' ? t('pay.expired')
    : p.status === 'awaiting_approval' ? t('pay.awaiting_approval') : t('pay.debiting');
  const kind = p.status === 'approved' ? 'ok' : waiting ? 'wait' : 'bad';
  return h('div', { class: `outcome ${kind}`, 'data-testid': 'outcome', 'data-status': p.status },
    h('p', { class: 'outcome-title' }, title),
    p.status === 'declined' ? h('p', { 'data-testid': 'reason' }, reasonText(p.decline_reason ?? undefined)) : null,
    FINAL.has(p.status) && safeRedirect(p) ? h('p', { class: 'muted' }, t('pay.redirecting'), ' ',
      h('a', { href: safeRedirect(p)! }, t('pay.back'))) : null);
}

function safeRedirect(p: PaymentPage): string | null {
  if (!p.redirect_url) return null;
  try {
    const url = new URL(p.redirect_url);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

let pollStarted = 0;

// After an answer: back to the shop when the payment is final, else ask again until it is.
function follow(): void {
  if (!page) return;
  const redirect = safeRedirect(page);
  if (FINAL.has(page.status)) {
    if (redirect) setTimeout(() => location.assign(redirect), REDIRECT_DELAY_MS);
    return;
  }
  if (page.status !== 'awaiting_approval' && page.status !== 'debiting') return;
  pollStarted ||= Date.now();
  if (Date.now() - pollStarted > POLL_LIMIT_MS) return;
  setTimeout(() => void load(), POLL_INTERVAL_MS);
}

async function load(): Promise<void> {
  try {
    page = await call<PaymentPage>(`/v1/division-payments/${encodeURIComponent(paymentId)}/page`,
      { authorization: authorization() });
  } catch (e) {
    problem = describe(e);
  }
  render();
  follow();
}

function describe(e: unknown): string {
  // A token that does not open this payment (401), or no such payment (404): the link is at fault.
  if (e instanceof ApiError && (e.status === 401 || e.status === 404) && e.code !== 'route_not_found') return t('pay.link_invalid');
  return e instanceof ApiError ? e.words() : t('error.network');
}

setLang(initialLang());
if (!paymentId || !token) {
  problem = t('pay.no_token');
  render();
} else {
  render();
  void load();
}
