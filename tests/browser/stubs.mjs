// Fixed answers of the division routes (docs/division-accounts.md, "Routes") for the browser tests
// that draw every state of the pages for the screenshots, fulfilled inside the browser, never
// leaving it. The same pages against the real server and bank: full_flow.test.mjs.

export const STUB_PAYMENT = {
  id: 'dvp_0123456789abcdefghij',
  merchant_name: '데모상점',
  order_id: 'order-1001',
  amount: 39000,
  currency: 'KRW',
  status: 'awaiting_credentials',
  decline_reason: null,
  expires_at: '2026-12-07T03:15:00Z',
};

function account(id, number, name, extra) {
  return { id, number, label: name, status: 'active', locked: false, dependant: { name, phone: null },
    limits: { per_payment: null, per_day: null, per_month: null }, merchants_allowed: null, categories_denied: [],
    valid_from: null, valid_until: null, approval: null, spent: { today: 0, this_month: 0 },
    created_at: '2026-11-02T01:00:00Z', ...extra };
}

function accounts() {
  return [
    account('dva_jiho0000000000000000', '9412345678901234', 'Jiho', {
      limits: { per_payment: 20000, per_day: 30000, per_month: 200000 }, spent: { today: 12000, this_month: 51500 },
      approval: { threshold: 15000, timeout_minutes: 10 }, categories_denied: ['gambling', 'alcohol'] }),
    account('dva_seoyeon00000000000000', '9400000000000007', 'Seoyeon', {
      locked: true, limits: { per_payment: null, per_day: null, per_month: 100000 }, spent: { today: 0, this_month: 96000 } }),
  ];
}

function line(at, merchant, amount, status, reason = null) {
  return { payment_id: `dvp_${at.slice(8, 10)}${amount}`.padEnd(24, '0'), account_id: 'dva_jiho0000000000000000',
    number: '9412345678901234', dependant: 'Jiho', merchant, order_id: `o-${amount}`, status, decline_reason: reason,
    amount, refunded: 0, authorized_at: at };
}

const STATEMENT = {
  from: '2026-12-01', to: '2026-12-07',
  items: [line('2026-12-02T03:10:00Z', '데모상점', 39500, 'approved'), line('2026-12-07T01:30:00Z', '분식집', 12000, 'approved'),
    line('2026-12-07T02:00:00Z', 'PC방', 9000, 'declined', 'category_denied')],
  total_paid: 51500, total_refunded: 0,
};

/** Routes /v1/master/** of `page` to an in-browser stand-in; returns the calls it saw, in order. */
export async function stubMasterApi(page) {
  const calls = [];
  const list = accounts();
  let approvals = [{ id: 'apr_0000000000000000001', payment_id: 'dvp_0000000000000000018k', account_id: list[0].id,
    dependant: 'Jiho', merchant: '서점', order_id: 'o-77', amount: 18000, status: 'pending',
    created_at: '2026-12-07T03:00:00Z', deadline_at: '2026-12-07T03:10:00Z' }];
  await page.route('**/v1/master/**', async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    const call = { method: req.method(), path: url.pathname, authorization: req.headers().authorization,
      accept: req.headers().accept, body: req.postData() ? JSON.parse(req.postData()) : undefined };
    calls.push(call);
    const p = url.pathname.replace('/v1/master', '');
    const json = (body, status = 200) => route.fulfill({ status, json: body });
    if (p === '/sessions' && call.method === 'POST') return json({ token: 'vms_stub_session', master_id: 'mst_stub0000000000000000', expires_at: '2026-12-07T15:00:00Z' }, 201);
    if (p === '/division-accounts' && call.method === 'GET') return json({ items: list });
    if (p === '/division-accounts' && call.method === 'POST') {
      const { dependant, password, label, ...rules } = call.body;
      return json(account('dva_minji000000000000000', '9487654321098765', label ?? dependant.name, rules), 201);
    }
    const found = list.find((a) => p.startsWith(`/division-accounts/${a.id}`));
    if (found && p.endsWith('/statement')) {
      if (call.accept === 'text/csv') return route.fulfill({ status: 200, contentType: 'text/csv', body: 'authorised_at,amount\n' });
      return json(STATEMENT);
    }
    if (found && p.endsWith('/freeze')) return json(Object.assign(found, { status: 'frozen' }));
    if (found && call.method === 'PATCH') return json(Object.assign(found, call.body, { limits: { ...found.limits, ...call.body.limits } }));
    if (found) return json(found);
    if (p === '/approvals') return json({ items: approvals });
    if (p.startsWith('/approvals/')) {
      const decided = { ...approvals[0], status: p.endsWith('/approve') ? 'approved' : 'declined' };
      approvals = [decided];  // the list keeps the decided one
      return json(decided);
    }
    if (p === '/statement') {
      if (call.accept === 'text/csv') return route.fulfill({ status: 200, contentType: 'text/csv', body: 'authorised_at,amount\n' });
      return json(STATEMENT);
    }
    return json({ code: 'route_not_found', detail: 'stub has no such route' }, 404);
  });
  return calls;
}
