import { describe, expect, it } from 'vitest';
import serverCases from './money-server.json';
import { formatMoney, minorToDecimalString, parseMoney } from './money';

// money-server.json holds the server's own renderings (domain.Money.Decimal);
// a Go test (domain/money_web_test.go) fails when the server would write them otherwise.
describe('money in the server’s digits', () => {
  it.each(serverCases)('$currency $minor reads $decimal', ({ currency, exponent, minor, decimal }) => {
    expect(minorToDecimalString(minor, exponent)).toBe(decimal);
    // Grouping and symbol are the locale's; the digits are the server's.
    expect(formatMoney(minor, currency, exponent, 'en-US').replace(/[^\d.-]/g, '')).toBe(decimal);
    expect(parseMoney(decimal, exponent)).toBe(minor);
  });
  it('formats with symbol and grouping', () => {
    expect(formatMoney(1999, 'USD', 2, 'en-US')).toBe('$19.99');
    expect(formatMoney(1500, 'JPY', 0, 'en-US')).toBe('¥1,500');
    expect(formatMoney(123456789, 'USD', 2, 'en-US')).toBe('$1,234,567.89');
    // CLDR gives HUF no decimals; ISO 4217 (the server) gives it two.
    expect(formatMoney(1999, 'HUF', 2, 'en-US')).toMatch(/19\.99/);
    expect(formatMoney(12345, 'KWD', 3, 'en-US')).toMatch(/12\.345/);
    expect(formatMoney(-250, 'EUR', 2, 'en-US')).toBe('-€2.50');
  });
  it('parses typed amounts into minor units', () => {
    expect(parseMoney('19.99', 2)).toBe(1999);
    expect(parseMoney('19.99', 2)).toBe(1999); // HUF, which Intl would refuse
    expect(parseMoney('19.9', 2)).toBe(1990);
    expect(parseMoney('20', 2)).toBe(2000);
    expect(parseMoney('1500', 0)).toBe(1500);
    expect(parseMoney('1500.0', 0)).toBe(1500);
    expect(parseMoney('1500.5', 0)).toBeNull();
    expect(parseMoney('1.999', 2)).toBeNull();
    expect(parseMoney('1.999', 3)).toBe(1999);
    expect(parseMoney('abc', 2)).toBeNull();
    expect(parseMoney('-1', 2)).toBeNull();
  });
});
