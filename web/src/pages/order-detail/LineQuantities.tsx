import type { OrderLine } from '../../api/model';
import type { LineQuantity } from './orderApi';
import { productName } from '../../format/product';

/** How many units of each line an action may cover: those not yet shipped, or not yet refunded. */
export function remaining(line: OrderLine, of: 'fulfil' | 'refund'): number {
  return Math.max(0, line.quantity - (of === 'fulfil' ? line.fulfilled_quantity : line.refunded_quantity));
}

/** The chosen quantities as the API takes them: lines with none are left out. */
export function chosenLines(quantities: Record<string, number>): LineQuantity[] {
  return Object.entries(quantities)
    .filter(([, q]) => q > 0)
    .map(([line_id, quantity]) => ({ line_id, quantity }));
}

/** A table of an order's lines with a quantity input per line, up to what the action may cover. */
export function LineQuantities({
  lines,
  of,
  caption,
  quantities,
  onChange,
}: {
  lines: OrderLine[];
  of: 'fulfil' | 'refund';
  caption: string;
  quantities: Record<string, number>;
  onChange: (next: Record<string, number>) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col" className="num">
              {of === 'fulfil' ? 'Not shipped' : 'Not refunded'}
            </th>
            <th scope="col" className="num">
              {of === 'fulfil' ? 'Ship' : 'Refund'}
            </th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => {
            const max = remaining(l, of);
            const id = `${of}-qty-${l.id}`;
            return (
              <tr key={l.id}>
                <td>
                  <label htmlFor={id}>{productName(l.title, l.variant_title)}</label>
                  {l.sku && <div className="muted">{l.sku}</div>}
                </td>
                <td className="num">{max}</td>
                <td className="num">
                  <input
                    id={id}
                    className="qty"
                    type="number"
                    min={0}
                    max={max}
                    step={1}
                    disabled={max === 0}
                    value={quantities[l.id] ?? 0}
                    onChange={(e) => {
                      const n = Math.trunc(Number(e.target.value));
                      onChange({ ...quantities, [l.id]: Number.isFinite(n) ? Math.min(Math.max(n, 0), max) : 0 });
                    }}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
