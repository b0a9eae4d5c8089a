// Money arrives as integer minor units of its currency, with the currency's
// exponent (digits of its minor unit) from the server's ISO 4217 table: 2 for
// USD and HUF, 0 for JPY, 3 for KWD. The digits always come from the server,
// never from Intl, whose CLDR data differs for HUF, IDR, COP, PKR and others.

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, exponent: number, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}|${exponent}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      currencyDisplay: 'narrowSymbol',
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    });
    formatters.set(key, f);
  }
  return f;
}

/** minorToDecimalString renders minor units exactly, without floating point: (1999, 2) → "19.99". */
export function minorToDecimalString(minor: number, exponent: number): string {
  const neg = minor < 0;
  const digits = Math.abs(Math.trunc(minor)).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const frac = exponent === 0 ? '' : `.${digits.slice(-exponent)}`;
  return `${neg ? '-' : ''}${whole}${frac}`;
}

/**
 * formatMoney shows minor units for people with the server's digits:
 * (1999, "USD", 2) → "$19.99", (1500, "JPY", 0) → "¥1,500", (1999, "HUF", 2) → "HUF 19.99".
 */
export function formatMoney(minor: number, currency: string, exponent: number, locale?: string): string {
  const code = currency.toUpperCase();
  const value = minorToDecimalString(minor, exponent);
  try {
    // A decimal string keeps exactness; Intl only adds symbol and grouping.
    return formatter(code, exponent, locale).format(value as unknown as number);
  } catch {
    return `${value} ${code}`;
  }
}

/** parseMoney turns what a person typed ("19.99") into minor units, or null if it is not an amount. */
export function parseMoney(input: string, exponent: number): number | null {
  const m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(input);
  if (!m) return null;
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  if (frac.length > exponent && /[^0]/.test(frac.slice(exponent))) return null;
  const minor = Number(whole + frac.slice(0, exponent).padEnd(exponent, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}
