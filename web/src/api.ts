// Calls to varelay's JSON API from the pages (same origin only: the CSP's connect-src 'self').
// A refusal is an ApiError carrying the problem+json `code`, so the pages can say it in words.
import type { components } from './generated/openapi';
import { t, type Key } from './i18n';

type Problem = components['schemas']['Problem'];
type ErrorCode = components['schemas']['ErrorCode'];

// Codes a person can act on, in words; typed by the contract's ErrorCode, so a renamed code breaks the build.
const CODE_WORDS: Partial<Record<ErrorCode, Key>> = {
  unauthorized: 'error.unauthorized', not_found: 'error.not_found', route_not_found: 'error.route_not_found',
  rate_limited: 'error.rate_limited',
};
// Codes of the division routes, not in docs/openapi.yaml yet (branch div-api): move them up when they are.
const DIVISION_CODE_WORDS: Record<string, Key> = { weak_password: 'error.weak_password' };

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, readonly detail: string,
    readonly problem: Record<string, unknown> = {}) {
    super(`${status} ${code}: ${detail}`);
  }

  /** What to show a person: words for the codes they can act on, else the server's own detail. */
  words(): string {
    const key = this.code === 'network' ? 'error.network'
      : CODE_WORDS[this.code as ErrorCode] ?? DIVISION_CODE_WORDS[this.code];
    if (key) return t(key);
    return this.detail ? `${t('error.generic')} (${this.detail})` : `${t('error.generic')} (${this.code})`;
  }
}

export interface CallOptions {
  method?: string;
  authorization?: string;
  body?: unknown;
  accept?: string;
}

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The answer's text (a CSV statement). */
export async function callText(path: string, options: CallOptions = {}): Promise<string> {
  return (await send(path, options)).text();
}

async function send(path: string, options: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  if (options.authorization) headers.Authorization = options.authorization;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit', // no cookies anywhere: the session is a bearer token (master.ts)
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', '');
  }
  if (!response.ok) {
    let problem: Partial<Problem> = {};
    try {
      problem = (await response.json()) as Partial<Problem>;
    } catch {
      // not problem+json: keep the status
    }
    throw new ApiError(response.status, problem.code ?? `http_${response.status}`, problem.detail ?? '', problem);
  }
  return response;
}
