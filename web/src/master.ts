// The master's pages under /master/: sign in, the division accounts with their spending against
// their limits, issuing one, its limits and rules and status, co-approvals, and statements.
//
// The session token (POST /v1/master/sessions) is kept in sessionStorage and sent as
// `Authorization: Bearer vms_...`, never as a cookie: a browser attaches cookies to requests
// other sites make it send, which is what CSRF abuses; it attaches no bearer token, so there is
// no CSRF surface. sessionStorage ends with the tab; the CSP (no inline or foreign script) guards
// it from injected scripts.
import './style.css';
import { ApiError, call, callText } from './api';
import { field, h, langSwitch } from './dom';
import { formatSeoul, formatWon, groupNumber, nextSeoulDayStart, parseWon, seoulDate, seoulDayStart } from './format';
import { CATEGORIES, initialLang, lang, reasonText, setLang, t, tableKeys, type Key } from './i18n';
import type { Approval, DivisionAccount, IssueRequest, MerchantCategory, Rules, Session, Statement } from './master_types';

const app = document.getElementById('app')!;
const SESSION_KEY = 'varelay.session';
const BASE = '/master';

function session(): string | null {
  return sessionStorage.getItem(SESSION_KEY);
}

function api<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  return call<T>(path, { method, body, authorization: `Bearer ${session() ?? ''}` });
}

// ---- navigation: one page, its views at their own paths (varelayd serves the HTML for all) ----

function go(path: string): void {
  history.pushState(null, '', path);
  void route();
}

function link(path: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  const a = h('a', { href: path, ...attrs }, text);
  a.addEventListener('click', (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    go(path);
  });
  return a;
}

async function route(): Promise<void> {
  const parts = location.pathname.slice(BASE.length).split('/').filter(Boolean);
  if (!session()) return show(t('master.signin.title'), signIn());
  try {
    if (parts.length === 0 || parts[0] === 'accounts' && parts.length === 1) return show(t('master.nav.accounts'), await accounts());
    if (parts[0] === 'issue') return show(t('master.nav.issue'), issueForm());
    if (parts[0] === 'accounts') return show(t('master.title'), await accountPage(decodeURIComponent(parts[1])));
    if (parts[0] === 'approvals') return show(t('master.nav.approvals'), await approvals());
    if (parts[0] === 'statement') return show(t('master.nav.statement'), statement());
    return show(t('error.not_found'), h('p', {}, t('error.not_found')));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      sessionStorage.removeItem(SESSION_KEY);
      return show(t('master.signin.title'), signIn(e.words()));
    }
    return show(t('master.title'), errorBox(e));
  }
}

let rerender: () => void = () => void route();

function show(title: string, content: HTMLElement): void {
  document.title = `${title} · varelay`;
  const signedIn = session() !== null;
  const nav = signedIn ? h('nav', { 'aria-label': t('master.title') },
    link(`${BASE}/`, t('master.nav.accounts')), link(`${BASE}/issue`, t('master.nav.issue')),
    link(`${BASE}/approvals`, t('master.nav.approvals')), link(`${BASE}/statement`, t('master.nav.statement')),
    signOutButton()) : null;
  app.replaceChildren(
    h('header', { class: 'bar' }, h('h1', {}, t('master.title')), langSwitch(() => rerender())),
    nav ?? '',
    h('main', {}, h('h2', {}, title), content));
}

function errorBox(e: unknown, testid = 'error'): HTMLElement {
  const text = e instanceof ApiError ? e.words() : typeof e === 'string' ? e : t('error.network');
  return h('p', { class: 'error', role: 'alert', 'data-testid': testid }, text);
}

// ---- sign in and out ----

function signIn(message?: string): HTMLElement {
  const login = h('input', { type: 'text', autocomplete: 'username', required: true, 'data-testid': 'login' });
  const password = h('input', { type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'password' });
  const status = h('div', { 'aria-live': 'polite' }, message ? errorBox(message) : '');
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'signin' }, t('master.signin'));
  const form = h('form', {}, field('login', t('master.login'), login).wrap,
    field('password', t('master.password'), password).wrap, status, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = await call<Session>('/v1/master/sessions', { method: 'POST', body: { login: login.value, password: password.value } });
      sessionStorage.setItem(SESSION_KEY, answer.token);
      go(`${BASE}/`);
    } catch (e) {
      const words = e instanceof ApiError && (e.status === 401 || e.code === 'unauthorized') ? t('master.signin.failed') : e;
      status.replaceChildren(errorBox(words, 'signin-error'));
      submit.disabled = false;
    }
  });
  return form;
}

function signOutButton(): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'link', 'data-testid': 'signout' }, t('master.signout'));
  button.addEventListener('click', async () => {
    try {
      await api('/v1/master/sessions/current', 'DELETE');
    } catch {
      // signed out here whatever the server says
    }
    sessionStorage.removeItem(SESSION_KEY);
    go(`${BASE}/`);
  });
  return button;
}

// ---- accounts ----

function accountName(a: DivisionAccount): string {
  return a.label || a.dependant.name;
}

function statusWords(a: DivisionAccount): string {
  const words = t(`master.status.${a.status}` as Key);
  return a.locked ? `${words}, ${t('master.status.locked')}` : words;
}

/** Spending against a limit: a <meter> (no inline style needed, so the CSP holds) and the figures. */
function spending(label: string, spent: number, limit: number | null | undefined): HTMLElement {
  const figures = limit ? `${formatWon(spent, lang())} ${t('master.of')} ${formatWon(limit, lang())}`
    : `${formatWon(spent, lang())} (${t('master.no_limit')})`;
  return h('div', { class: 'spend' }, h('span', { class: 'spend-label' }, label),
    limit ? h('meter', { min: '0', max: String(limit), value: String(Math.min(spent, limit)), low: String(limit * 0.7),
      high: String(limit * 0.9), optimum: '0', 'aria-label': `${label}: ${figures}` }) : '',
    h('span', { class: 'spend-figures' }, figures));
}

async function accounts(): Promise<HTMLElement> {
  const list = (await api<{ items: DivisionAccount[] }>('/v1/master/division-accounts')).items;
  if (list.length === 0) return h('p', { class: 'muted', 'data-testid': 'accounts-empty' }, t('master.accounts.empty'));
  return h('ul', { class: 'accounts', 'data-testid': 'accounts' }, ...list.map((a) => h('li', { class: 'card' },
    h('p', { class: 'account-head' }, link(`${BASE}/accounts/${encodeURIComponent(a.id)}`, accountName(a)),
      ' ', h('span', { class: `badge ${a.status}${a.locked ? ' locked' : ''}` }, statusWords(a))),
    h('p', { class: 'number' }, groupNumber(a.number ?? '')),
    spending(t('master.today'), a.spent?.today ?? 0, a.limits?.per_day),
    spending(t('master.month'), a.spent?.this_month ?? 0, a.limits?.per_month))));
}

interface RulesForm {
  nodes: HTMLElement[];
  read(): Rules | string;  // the body, or the words of what is wrong
}

function wonInput(id: string, value?: number | null): HTMLInputElement {
  return h('input', { type: 'text', inputmode: 'numeric', id, value: value ? String(value) : undefined, 'data-testid': id });
}

/** A date input showing an instant's Seoul day. */
function dateInput(value?: string | null): HTMLInputElement {
  return h('input', { type: 'date', value: value ? seoulDate(new Date(value)).today : undefined });
}

/** Limits and rules, for issuing (empty) and for changing (filled from the account). */
function rulesForm(a?: DivisionAccount): RulesForm {
  const perPayment = wonInput('limit-payment', a?.limits.per_payment);
  const perDay = wonInput('limit-day', a?.limits.per_day);
  const perMonth = wonInput('limit-month', a?.limits.per_month);
  const threshold = wonInput('threshold', a?.approval?.threshold);
  const allow = h('textarea', { rows: '2' }, (a?.merchants_allowed ?? []).join('\n'));
  const denied = new Set(a?.categories_denied ?? []);
  const boxes = CATEGORIES.map((c) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: c, checked: denied.has(c) }), t(`category.${c}` as Key)));
  const from = dateInput(a?.valid_from);
  const until = dateInput(a?.valid_until);
  const nodes = [
    field('limit-payment', t('master.limit.payment'), perPayment).wrap,
    field('limit-day', t('master.limit.day'), perDay).wrap,
    field('limit-month', t('master.limit.month'), perMonth).wrap,
    field('threshold', t('master.threshold'), threshold).wrap,
    field('allow', t('master.allow'), allow).wrap,
    h('fieldset', {}, h('legend', {}, t('master.deny')), ...boxes),
    field('valid-from', t('master.valid_from'), from).wrap,
    field('valid-until', t('master.valid_until'), until).wrap,
  ];
  const read = (): Rules | string => {
    const won = [perPayment, perDay, perMonth, threshold].map((i) => parseWon(i.value));
    if (won.some((n) => Number.isNaN(n))) return t('master.amount.invalid');
    const allowList = allow.value.split(/\s+/).filter(Boolean);
    return {
      limits: { per_payment: won[0], per_day: won[1], per_month: won[2] },
      approval: won[3] === null ? null : { threshold: won[3], timeout_minutes: a?.approval?.timeout_minutes ?? 10 },
      merchants_allowed: allowList.length ? allowList : null,
      categories_denied: boxes.map((b) => b.querySelector('input')!).filter((i) => i.checked).map((i) => i.value as MerchantCategory),
      valid_from: from.value ? seoulDayStart(from.value) : null,
      // the last valid day is included: valid until the next day begins
      valid_until: until.value ? nextSeoulDayStart(until.value) : null,
    };
  };
  return { nodes, read };
}

function issueForm(): HTMLElement {
  const name = h('input', { type: 'text', required: true, maxlength: '50', 'data-testid': 'name' });
  const label = h('input', { type: 'text', maxlength: '50', 'data-testid': 'label' });
  const phone = h('input', { type: 'tel', inputmode: 'numeric', autocomplete: 'off', maxlength: '13', 'data-testid': 'phone' });
  const password = h('input', { type: 'text', autocomplete: 'off', required: true, maxlength: '64', 'data-testid': 'initial-password' });
  const rules = rulesForm();
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'issue' }, t('master.issue'));
  const form = h('form', {}, field('name', t('master.name'), name).wrap, field('label', t('master.label'), label, t('master.label.hint')).wrap,
    field('phone', t('master.phone'), phone).wrap,
    field('initial-password', t('master.initial_password'), password, t('master.password.rules')).wrap,
    ...rules.nodes, status, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = rules.read();
    if (typeof body === 'string') return status.replaceChildren(errorBox(body));
    submit.disabled = true;
    try {
      const digits = phone.value.replace(/\D/g, '');
      const request: IssueRequest = { ...body, dependant: { name: name.value, phone: digits || null }, password: password.value };
      if (label.value) request.label = label.value;
      const issued = await api<DivisionAccount>('/v1/master/division-accounts', 'POST', request);
      status.replaceChildren(h('div', { class: 'ok', 'data-testid': 'issued' }, h('p', {}, t('master.issued')),
        h('p', { class: 'number big', 'data-testid': 'issued-number' }, groupNumber(issued.number)),
        link(`${BASE}/accounts/${encodeURIComponent(issued.id)}`, accountName(issued))));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
    submit.disabled = false;
  });
  return form;
}

async function accountPage(id: string): Promise<HTMLElement> {
  const a = await api<DivisionAccount>(`/v1/master/division-accounts/${encodeURIComponent(id)}`);
  const path = `/v1/master/division-accounts/${encodeURIComponent(id)}`;
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'account-status' });
  const rules = rulesForm(a);
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'save' }, t('master.save'));
  const form = h('form', {}, ...rules.nodes, save);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = rules.read();
    if (typeof body === 'string') return status.replaceChildren(errorBox(body));
    try {
      await api(path, 'PATCH', body);
      status.replaceChildren(h('p', { class: 'ok' }, t('master.saved')));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  return h('div', {},
    h('p', {}, link(`${BASE}/`, `← ${t('master.back')}`)),
    h('section', { class: 'card' },
      h('p', { class: 'account-head' }, accountName(a), ' ', h('span', { class: `badge ${a.status}` }, statusWords(a))),
      h('p', { class: 'number' }, groupNumber(a.number ?? '')),
      spending(t('master.today'), a.spent?.today ?? 0, a.limits?.per_day),
      spending(t('master.month'), a.spent?.this_month ?? 0, a.limits?.per_month),
      actions(a, path, status)),
    status, form, statement(a.id));
}

function actions(a: DivisionAccount, path: string, status: HTMLElement): HTMLElement {
  const act = (label: Key, verb: string, body?: () => unknown, confirmKey?: Key) => {
    const button = h('button', { type: 'button', 'data-testid': `action-${verb}` }, t(label));
    button.addEventListener('click', async () => {
      if (confirmKey && !confirm(t(confirmKey))) return;
      try {
        await api(`${path}/${verb}`, 'POST', body ? body() : undefined);  // the actions take no body
        void route();
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    });
    return button;
  };
  if (a.status === 'closed') return h('div', {});
  const newPassword = h('input', { type: 'text', autocomplete: 'off', maxlength: '64', 'aria-label': t('master.reset_password'),
    placeholder: t('master.initial_password'),
    'data-testid': 'new-password' });
  return h('div', { class: 'actions' },
    a.status === 'frozen' ? act('master.unfreeze', 'unfreeze') : act('master.freeze', 'freeze'),
    a.locked ? act('master.unlock', 'unlock') : null,
    h('span', { class: 'inline' }, newPassword, act('master.reset_password', 'password', () => ({ password: newPassword.value }))),
    act('master.close', 'close', undefined, 'master.close.confirm'));
}

// ---- approvals ----

async function approvals(): Promise<HTMLElement> {
  // The list holds the latest decided ones too; only pending ones take an answer.
  const list = (await api<{ items: Approval[] }>('/v1/master/approvals')).items.filter((p) => p.status === 'pending');
  if (list.length === 0) return h('p', { class: 'muted', 'data-testid': 'approvals-empty' }, t('master.approvals.empty'));
  return h('ul', { class: 'approvals' }, ...list.map((p) => {
    const status = h('div', { 'aria-live': 'polite' });
    const answer = (verb: 'approve' | 'decline') => {
      const button = h('button', { type: 'button', class: verb === 'approve' ? 'primary' : '', 'data-testid': verb },
        t(verb === 'approve' ? 'master.approve' : 'master.decline'));
      button.addEventListener('click', async () => {
        try {
          await api(`/v1/master/approvals/${encodeURIComponent(p.id)}/${verb}`, 'POST');
          void route();
        } catch (e) {
          status.replaceChildren(errorBox(e));
        }
      });
      return button;
    };
    return h('li', { class: 'card' },
      h('p', { class: 'amount' }, formatWon(p.amount, lang())),
      h('p', {}, `${p.merchant} · ${p.dependant}`),
      h('p', { class: 'muted' }, `${t('master.deadline')}: ${formatSeoul(p.deadline_at)}`),
      h('div', { class: 'actions' }, answer('approve'), answer('decline')), status);
  }));
}

// ---- statements ----

/** A period's payments, of one account or of all, shown as a table or downloaded as CSV. */
function statement(accountId?: string): HTMLElement {
  const { today, monthStart } = seoulDate(new Date());
  const from = h('input', { type: 'date', value: monthStart, 'data-testid': 'from' });
  const to = h('input', { type: 'date', value: today, 'data-testid': 'to' });
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'statement' });
  const path = accountId ? `/v1/master/division-accounts/${encodeURIComponent(accountId)}/statement` : '/v1/master/statement';
  // Seoul days, both included (the API's from and to).
  const query = () => `?from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
  const showButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'statement-show' }, t('master.statement.show'));
  const csv = h('button', { type: 'button', 'data-testid': 'statement-csv' }, t('master.statement.csv'));
  const form = h('form', { class: 'period' }, field(`${accountId ?? 'all'}-from`, t('master.statement.from'), from).wrap,
    field(`${accountId ?? 'all'}-to`, t('master.statement.to'), to).wrap, showButton, csv);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      result.replaceChildren(statementTable(await api<Statement>(path + query())));
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  });
  csv.addEventListener('click', async () => {
    try {
      const text = await callText(path + query(), { accept: 'text/csv', authorization: `Bearer ${session() ?? ''}` });
      const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })),
        download: `statement-${accountId ?? 'all'}-${from.value}-${to.value}.csv` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  });
  return h('section', { class: 'card' }, h('h3', {}, t('master.nav.statement')), form, result);
}

function statementTable(statement: Statement): HTMLElement {
  if (statement.items.length === 0) return h('p', { class: 'muted' }, t('master.statement.empty'));
  const head = (['master.col.when', 'master.col.account', 'master.col.merchant', 'master.col.amount', 'master.col.status'] as Key[])
    .map((k) => h('th', { scope: 'col' }, t(k)));
  const net = statement.total_paid - statement.total_refunded;
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ...head)),
    h('tbody', {}, ...statement.items.map((l) => h('tr', {},
      h('td', {}, l.authorized_at ? formatSeoul(l.authorized_at) : '—'),
      h('td', {}, l.dependant),
      h('td', { class: 'wrap' }, l.merchant,
        l.status === 'declined' && l.decline_reason ? h('small', { class: 'reason' }, reasonText(l.decline_reason)) : null),
      h('td', { class: 'num' }, formatWon(l.amount, lang())),
      h('td', {}, paymentStatusWords(l.status))))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: '3' }, t('master.statement.total')),
      h('td', { class: 'num', 'data-testid': 'statement-total' }, formatWon(net, lang())), h('td', {})))));
}

/** A payment's status in words (a decline's reason goes under the merchant, where the line can wrap). */
function paymentStatusWords(status: string): string {
  const key = `payment.${status}` as Key;
  return key in tableKeys ? t(key) : status;
}

setLang(initialLang());
rerender = () => void route();
window.addEventListener('popstate', () => void route());
void route();
