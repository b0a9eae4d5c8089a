import { formatMoney } from '../format/money';

/** Money shows minor units of currency with the exponent the API sent along. */
export function Money({ minor, currency, exponent }: { minor: number | null | undefined; currency: string; exponent: number }) {
  if (minor === null || minor === undefined) return <span>—</span>;
  return <span className="num">{formatMoney(minor, currency, exponent)}</span>;
}
