// The shapes the master pages send and read: docs/openapi.yaml's division schemas (written on
// branch div-api). Once they are in this tree's docs/openapi.yaml, these become aliases of
// generated/openapi.ts's components['schemas'], as api.ts's Problem and ErrorCode are.

export type Relation = 'child' | 'spouse' | 'parent' | 'sibling' | 'employee' | 'other';
export const RELATIONS: Relation[] = ['child', 'spouse', 'parent', 'sibling', 'employee', 'other'];

export interface Limits {
  per_payment: number | null;
  per_day: number | null;
  per_month: number | null;
}

export interface ApprovalRule {
  threshold: number;
  timeout_minutes?: number;
}

/** DivisionRules: what issuing and changing an account set. */
export interface Rules {
  limits?: Partial<Limits>;
  merchants_allowed?: string[] | null;
  categories_denied?: string[];
  valid_from?: string | null;
  valid_until?: string | null;
  approval?: ApprovalRule | null;
}

/** DivisionAccount. */
export interface DivisionAccount {
  id: string;
  number: string;
  status: 'active' | 'frozen' | 'closed';
  locked: boolean;
  dependant: { name: string; relation: string; phone: string | null };
  limits: Limits;
  merchants_allowed: string[] | null;
  categories_denied: string[];
  valid_from: string | null;
  valid_until: string | null;
  approval: { threshold: number; timeout_minutes: number } | null;
  spent: { today: number; this_month: number };
  created_at: string;
  closed_at?: string;
}

/** Approval (the list holds the latest decided ones too). */
export interface Approval {
  id: string;
  payment_id: string;
  account_id: string;
  dependant: string;
  merchant: string;
  order_id?: string;
  amount: number;
  status: 'pending' | 'approved' | 'declined' | 'timed_out';
  created_at: string;
  deadline_at: string;
}

/** DivisionStatementLine: a payment in a statement. */
export interface StatementLine {
  payment_id: string;
  account_id: string;
  number: string;
  dependant: string;
  merchant: string;  // the merchant's name
  order_id: string;
  status: string;
  decline_reason: string | null;
  amount: number;
  refunded: number;
  authorized_at: string | null;
}

/** DivisionStatement: a period's lines and totals (from and to are Seoul days, both included). */
export interface Statement {
  from: string;
  to: string;
  items: StatementLine[];
  total_paid: number;
  total_refunded: number;
}

/** MasterSession. */
export interface Session {
  token: string;
  master_id: string;
  expires_at: string;
}
