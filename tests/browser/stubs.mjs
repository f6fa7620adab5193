// Answers of the division routes (docs/division-accounts.md, "Routes") for the browser tests that
// run before varelayd serves those routes: fulfilled inside the browser, never leaving it.

export const STUB_PAYMENT = {
  id: 'dvp_0123456789abcdefghij',
  merchant_name: '데모상점',
  order_id: 'order-1001',
  amount: 39000,
  status: 'awaiting_credentials',
  redirect_url: null,
};

function accounts() {
  return [
    { id: 'dva_jiho0000000000000000', number: '9412345678901234', name: 'Jiho', relation: 'son', status: 'active',
      locked: false, limits: { per_payment: 20000, per_day: 30000, per_month: 200000 },
      spent: { today: 12000, this_month: 51500 }, approval_threshold: 15000, category_deny: ['gambling', 'alcohol'] },
    { id: 'dva_seoyeon00000000000000', number: '9400000000000007', name: 'Seoyeon', relation: 'daughter',
      status: 'active', locked: true, limits: { per_month: 100000 }, spent: { today: 0, this_month: 96000 } },
  ];
}

const STATEMENT = [
  { authorised_at: '2026-12-02T03:10:00Z', account: 'dva_jiho0000000000000000', account_label: 'Jiho',
    merchant_name: '데모상점', order_id: 'o-1', amount: 39500, status: 'approved' },
  { authorised_at: '2026-12-07T01:30:00Z', account: 'dva_jiho0000000000000000', account_label: 'Jiho',
    merchant_name: '분식집', order_id: 'o-2', amount: 12000, status: 'approved' },
  { authorised_at: '2026-12-07T02:00:00Z', account: 'dva_jiho0000000000000000', account_label: 'Jiho',
    merchant_name: 'PC방', order_id: 'o-3', amount: 9000, status: 'declined' },
];

/** Routes /v1/master/** of `page` to an in-browser stand-in; returns the calls it saw, in order. */
export async function stubMasterApi(page) {
  const calls = [];
  const list = accounts();
  let approvals = [{ id: 'apr_0000000000000000001', status: 'pending', account: list[0].id, account_label: 'Jiho',
    merchant_name: '서점', amount: 18000, deadline: '2026-12-07T03:10:00Z' }];
  await page.route('**/v1/master/**', async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    const call = { method: req.method(), path: url.pathname, authorization: req.headers().authorization,
      accept: req.headers().accept, body: req.postData() ? JSON.parse(req.postData()) : undefined };
    calls.push(call);
    const p = url.pathname.replace('/v1/master', '');
    const json = (body, status = 200) => route.fulfill({ status, json: body });
    if (p === '/sessions' && call.method === 'POST') return json({ token: 'vms_stub_session', expires_at: '2026-12-07T15:00:00Z' }, 201);
    if (p === '/division-accounts' && call.method === 'GET') return json({ items: list });
    if (p === '/division-accounts' && call.method === 'POST') {
      return json({ ...call.body, id: 'dva_minji000000000000000', number: '9487654321098765', status: 'active' }, 201);
    }
    const account = list.find((a) => p.startsWith(`/division-accounts/${a.id}`));
    if (account && p.endsWith('/statement')) {
      if (call.accept === 'text/csv') return route.fulfill({ status: 200, contentType: 'text/csv', body: 'authorised_at,amount\n' });
      return json({ items: STATEMENT });
    }
    if (account && p.endsWith('/freeze')) return json(Object.assign(account, { status: 'frozen' }));
    if (account && call.method === 'PATCH') return json(Object.assign(account, call.body));
    if (account) return json(account);
    if (p === '/approvals') return json({ items: approvals });
    if (p.startsWith('/approvals/')) {
      approvals = [];
      return json({ status: 'approved' });
    }
    if (p === '/statement') {
      if (call.accept === 'text/csv') return route.fulfill({ status: 200, contentType: 'text/csv', body: 'authorised_at,amount\n' });
      return json({ items: STATEMENT });
    }
    return json({ code: 'route_not_found', detail: 'stub has no such route' }, 404);
  });
  return calls;
}
