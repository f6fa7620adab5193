// The shapes the master pages send and read: docs/openapi.yaml's schemas, through the types
// generated from it (generated/openapi.ts), so a change to the contract breaks this build.
import type { components } from './generated/openapi';

type Schemas = components['schemas'];

export type DivisionAccount = Schemas['DivisionAccount'];
export type Rules = Schemas['DivisionRules'];
export type IssueRequest = Schemas['IssueDivisionAccountRequest'];
export type UpdateRequest = Schemas['UpdateDivisionAccountRequest'];
export type Approval = Schemas['Approval'];
export type StatementLine = Schemas['DivisionStatementLine'];
export type Statement = Schemas['DivisionStatement'];
export type Session = Schemas['MasterSession'];
export type MerchantCategory = Schemas['MerchantCategory'];
