// Pure helpers the pages share: division-account numbers, won amounts, Seoul times. No DOM here,
// so Vitest checks them without a browser (format.test.ts).

export const NUMBER_DIGITS = 16;

/** The digits of what was typed, at most 16 (spaces, dashes and anything else dropped). */
export function numberDigits(typed: string): string {
  return typed.replace(/\D/g, '').slice(0, NUMBER_DIGITS);
}

/** Digits grouped 4-4-4-4 with spaces, as printed on the dependant's card: "9412 3456 ...". */
export function groupNumber(digits: string): string {
  return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** The Luhn check (ISO/IEC 7812-1) over all digits, the last being the check digit. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Whether `digits` can be a division-account number: 16 digits and a right check digit. */
export function numberValid(digits: string): boolean {
  return digits.length === NUMBER_DIGITS && luhnValid(digits);
}

export type Lang = 'ko' | 'en';

/** A won amount (integer) with thousands separators: "39,000원" / "₩39,000". */
export function formatWon(amount: number, lang: Lang): string {
  const n = new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { maximumFractionDigits: 0 }).format(amount);
  return lang === 'ko' ? `${n}원` : `₩${n}`;
}

/** An instant in Asia/Seoul with the zone shown: "2026-12-07 21:05 KST". */
export function formatSeoul(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(date);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} KST`;
}

/** A whole-won amount typed in a form ("50,000" or "50000"); null when empty, NaN when not a number. */
export function parseWon(typed: string): number | null {
  const t = typed.replace(/[,\s원₩]/g, '');
  if (t === '') return null;
  return /^\d{1,15}$/.test(t) ? Number(t) : Number.NaN;
}

/** Today's date in Asia/Seoul as YYYY-MM-DD, and the first of its month (statement periods). */
export function seoulDate(now: Date): { today: string; monthStart: string } {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(now);
  return { today, monthStart: `${today.slice(0, 8)}01` };
}

/** The instant a Seoul calendar day begins (UTC+9, no daylight saving), as RFC 3339. */
export function seoulDayStart(date: string): string {
  return `${date}T00:00:00+09:00`;
}

/** The instant the Seoul day after `date` begins: the end of `date`, included. */
export function nextSeoulDayStart(date: string): string {
  const next = new Date(Date.parse(`${date}T00:00:00Z`) + 24 * 3600 * 1000).toISOString().slice(0, 10);
  return seoulDayStart(next);
}
