import { Bar, BarChart, CartesianGrid, Legend, Line, ComposedChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMoney } from '../../format/money';
import type { DayPoint, HourPoint } from './aggregate';

export function OrdersChart({ data, currency }: { data: DayPoint[]; currency: string }) {
  return (
    <figure className="chart" aria-label="Orders and revenue per day">
      <ResponsiveContainer width="100%" height={260}>
        <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} fontSize={12} />
          <YAxis yAxisId="orders" allowDecimals={false} fontSize={12} />
          <YAxis
            yAxisId="revenue"
            orientation="right"
            fontSize={12}
            tickFormatter={(v: number) => formatMoney(v, currency).replace(/\.\d+$/, '')}
          />
          <Tooltip
            formatter={(value: number, name: string) => (name === 'Revenue' ? formatMoney(value, currency) : value)}
          />
          <Legend />
          <Bar yAxisId="orders" dataKey="orders" name="Orders" fill="#6366f1" radius={[3, 3, 0, 0]} />
          <Line yAxisId="revenue" dataKey="revenue" name="Revenue" stroke="#059669" strokeWidth={2} dot={false} />
        </ComposedChart>
      </ResponsiveContainer>
      <figcaption className="visually-hidden">
        {data.map((d) => `${d.day}: ${d.orders} orders, ${formatMoney(d.revenue, currency)}`).join('; ')}
      </figcaption>
    </figure>
  );
}

export function WebhooksChart({ data }: { data: HourPoint[] }) {
  return (
    <figure className="chart" aria-label="Webhooks received and failed per hour">
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="hour" fontSize={12} interval={2} />
          <YAxis allowDecimals={false} fontSize={12} />
          <Tooltip />
          <Legend />
          <Bar dataKey="received" name="Received" stackId="w" fill="#94a3b8" />
          <Bar dataKey="failed" name="Failed" stackId="f" fill="#dc2626" />
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="visually-hidden">
        {data.map((h) => `${h.hour}: ${h.received} received, ${h.failed} failed`).join('; ')}
      </figcaption>
    </figure>
  );
}
