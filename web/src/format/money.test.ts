import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMoney, minorToDecimalString, parseMoney } from './money';

describe('money', () => {
  it('knows currency exponents', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
  });
  it('renders minor units exactly', () => {
    expect(minorToDecimalString(1999, 'USD')).toBe('19.99');
    expect(minorToDecimalString(5, 'USD')).toBe('0.05');
    expect(minorToDecimalString(-250, 'EUR')).toBe('-2.50');
    expect(minorToDecimalString(1500, 'JPY')).toBe('1500');
    expect(minorToDecimalString(1234, 'KWD')).toBe('1.234');
  });
  it('formats with symbol and no decimals for JPY', () => {
    expect(formatMoney(1999, 'USD', 'en-US')).toBe('$19.99');
    expect(formatMoney(1500, 'JPY', 'en-US')).toBe('¥1,500');
    expect(formatMoney(123456789, 'USD', 'en-US')).toBe('$1,234,567.89');
  });
  it('parses typed amounts into minor units', () => {
    expect(parseMoney('19.99', 'USD')).toBe(1999);
    expect(parseMoney('19.9', 'USD')).toBe(1990);
    expect(parseMoney('20', 'USD')).toBe(2000);
    expect(parseMoney('1500', 'JPY')).toBe(1500);
    expect(parseMoney('1500.0', 'JPY')).toBe(1500);
    expect(parseMoney('1500.5', 'JPY')).toBeNull();
    expect(parseMoney('1.999', 'USD')).toBeNull();
    expect(parseMoney('abc', 'USD')).toBeNull();
    expect(parseMoney('-1', 'USD')).toBeNull();
  });
});
