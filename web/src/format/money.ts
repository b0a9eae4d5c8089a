// Money arrives as integer minor units of its currency. The currency's exponent
// (2 for USD, 0 for JPY, 3 for KWD) comes from Intl, which follows ISO 4217 as
// the server's domain/money.go does, so amounts are never scaled by a guess.

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency, currencyDisplay: 'narrowSymbol' });
    formatters.set(key, f);
  }
  return f;
}

/** currencyExponent is the number of minor-unit digits of the currency. */
export function currencyExponent(currency: string): number {
  try {
    return formatter(currency.toUpperCase(), 'en-US').resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** minorToDecimalString renders minor units exactly, without floating point: 1999 USD → "19.99". */
export function minorToDecimalString(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const neg = minor < 0;
  const digits = Math.abs(Math.trunc(minor)).toString().padStart(exp + 1, '0');
  const whole = exp === 0 ? digits : digits.slice(0, -exp);
  const frac = exp === 0 ? '' : `.${digits.slice(-exp)}`;
  return `${neg ? '-' : ''}${whole}${frac}`;
}

/** formatMoney shows minor units of currency for people: (1999, "USD") → "$19.99", (1500, "JPY") → "¥1,500". */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  const code = currency.toUpperCase();
  try {
    // The decimal string keeps exactness; Intl only adds symbol and grouping.
    const f = formatter(code, locale);
    const value = minorToDecimalString(minor, code);
    return f.format(value as unknown as number);
  } catch {
    return `${minorToDecimalString(minor, code)} ${code}`;
  }
}

/** parseMoney turns what a person typed ("19.99") into minor units, or null if it is not an amount. */
export function parseMoney(input: string, currency: string): number | null {
  const exp = currencyExponent(currency);
  const m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(input);
  if (!m) return null;
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  if (frac.length > exp && /[^0]/.test(frac.slice(exp))) return null;
  const minor = Number(whole + frac.slice(0, exp).padEnd(exp, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}
