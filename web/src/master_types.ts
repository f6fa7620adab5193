// The shapes the master pages read, after docs/division-accounts.md ("Routes"). Each list route
// may answer a bare array or {"items": [...]}; listOf takes either. When the division schemas are
// in docs/openapi.yaml (branch div-api), these become aliases of generated/openapi.ts's
// components['schemas'], as api.ts's Problem and ErrorCode are.

export interface Limits {
  per_payment?: number | null;
  per_day?: number | null;
  per_month?: number | null;
}

export interface DivisionAccount {
  id: string;
  number: string;
  name?: string;
  relation?: string;
  phone?: string;
  status: 'active' | 'frozen' | 'closed';
  locked?: boolean;
  limits?: Limits;
  spent?: { today?: number; this_month?: number };
  approval_threshold?: number | null;
  merchant_allow?: string[] | null;
  category_deny?: string[] | null;
  valid_from?: string | null;
  valid_until?: string | null;
}

export interface Approval {
  id: string;
  payment_id?: string;
  division_account_id?: string;
  account_name?: string;
  merchant_name?: string;
  amount: number;
  deadline?: string;
}

export interface StatementLine {
  created_at?: string;
  authorized_at?: string;
  division_account_id?: string;
  account_name?: string;
  number?: string;
  merchant_name?: string;
  order_id?: string;
  amount: number;
  status?: string;
}

export interface Session {
  token: string;
  expires_at?: string;
}

export function listOf<T>(answer: unknown, ...names: string[]): T[] {
  if (Array.isArray(answer)) return answer as T[];
  if (answer && typeof answer === 'object') {
    for (const name of ['items', 'data', ...names]) {
      const value = (answer as Record<string, unknown>)[name];
      if (Array.isArray(value)) return value as T[];
    }
  }
  return [];
}
