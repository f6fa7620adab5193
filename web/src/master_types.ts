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
  label?: string;  // the master's name for it (the engine's DivisionAccount::label)
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
  status?: 'pending' | 'approved' | 'declined' | 'timed_out';  // the list holds decided ones too
  payment?: string;
  account?: string;
  account_label?: string;
  merchant?: string;
  merchant_name?: string;
  amount: number;
  deadline?: string;
}

/** A statement's line: a division payment. */
export interface StatementLine {
  id?: string;
  created_at?: string;
  authorised_at?: string | null;
  account?: string;
  account_label?: string;
  merchant?: string;
  merchant_name?: string;
  order_id?: string;
  amount: number;
  refunded?: number;
  status?: string;
  decline_reason?: string | null;
}

/** What a line spent: its amount less refunds, for payments that went through. */
export function spentBy(line: StatementLine): number {
  const through = line.status === 'approved' || line.status === 'partially_refunded' || line.status === 'refunded';
  return through ? line.amount - (line.refunded ?? 0) : 0;
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
