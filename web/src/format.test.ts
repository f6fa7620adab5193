// Proves the pages' pure helpers: number grouping and the Luhn check, won amounts and Seoul times.
import { describe, expect, it } from 'vitest';
import { formatSeoul, formatWon, groupNumber, luhnValid, numberDigits, numberValid, parseWon, seoulDate } from './format';

describe('division-account numbers', () => {
  it('keeps 16 digits of what is typed and groups them 4-4-4-4', () => {
    expect(numberDigits('9412-3456 7890 12345678')).toBe('9412345678901234');
    expect(groupNumber('9412345678901234')).toBe('9412 3456 7890 1234');
    expect(groupNumber('94123')).toBe('9412 3');
    expect(groupNumber('9412')).toBe('9412');
  });
  it('checks the Luhn digit', () => {
    expect(luhnValid('4539578763621486')).toBe(true);
    expect(luhnValid('4539578763621487')).toBe(false);
    expect(numberValid('9400000000000008')).toBe(luhnValid('9400000000000008'));
    expect(numberValid('79927398713')).toBe(false); // valid Luhn, but not 16 digits
    expect(luhnValid('79927398713')).toBe(true);
  });
});

describe('amounts and times', () => {
  it('writes won with separators in each language', () => {
    expect(formatWon(39000, 'ko')).toBe('39,000원');
    expect(formatWon(1234567, 'en')).toBe('₩1,234,567');
    expect(parseWon('50,000')).toBe(50000);
    expect(parseWon('')).toBeNull();
    expect(parseWon('12.5')).toBeNaN();
  });
  it('shows instants in Asia/Seoul with the zone', () => {
    expect(formatSeoul('2026-12-07T15:30:00Z')).toBe('2026-12-08 00:30 KST');
    expect(seoulDate(new Date('2026-11-30T16:00:00Z'))).toEqual({ today: '2026-12-01', monthStart: '2026-12-01' });
  });
});
