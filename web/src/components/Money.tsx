import { formatMoney } from '../format/money';

export function Money({ minor, currency }: { minor: number | null | undefined; currency: string }) {
  if (minor === null || minor === undefined) return <span>—</span>;
  return <span className="num">{formatMoney(minor, currency)}</span>;
}
