import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Dashboard } from '../../api/model';
import { formatMoney } from '../../format/money';

type Day = Dashboard['days'][number];

export interface SalesPoint {
  date: string;
  net: number; // minor units of the chart's one currency
}

export function ActivityChart({ days }: { days: Day[] }) {
  return (
    <figure className="chart" aria-label="Orders and webhooks per day">
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={days} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="date" tickFormatter={(d: string) => d.slice(5)} fontSize={12} />
          <YAxis allowDecimals={false} fontSize={12} />
          <Tooltip />
          <Legend />
          <Bar dataKey="orders" name="Orders" fill="#4f46e5" radius={[3, 3, 0, 0]} isAnimationActive={false} />
          <Bar dataKey="webhooks" name="Webhooks" fill="#64748b" radius={[3, 3, 0, 0]} isAnimationActive={false} />
          <Bar dataKey="webhooks_failed" name="Webhooks failed" fill="#b91c1c" radius={[3, 3, 0, 0]} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="visually-hidden">
        {days.map((d) => `${d.date}: ${d.orders} orders, ${d.webhooks} webhooks, ${d.webhooks_failed} failed`).join('; ')}
      </figcaption>
    </figure>
  );
}

export function SalesChart({ data, currency, exponent }: { data: SalesPoint[]; currency: string; exponent: number }) {
  const money = (v: number) => formatMoney(v, currency, exponent);
  return (
    <figure className="chart" aria-label={`Net sales per day in ${currency}`}>
      <ResponsiveContainer width="100%" height={240}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 24 }}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="date" tickFormatter={(d: string) => d.slice(5)} fontSize={12} />
          <YAxis fontSize={12} tickFormatter={money} width={90} />
          <Tooltip formatter={(value: number) => money(value)} />
          <Line dataKey="net" name={`Net sales (${currency})`} stroke="#047857" strokeWidth={2} dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
      <figcaption className="visually-hidden">{data.map((d) => `${d.date}: ${money(d.net)}`).join('; ')}</figcaption>
    </figure>
  );
}
