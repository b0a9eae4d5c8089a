import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { request } from '../../api/client';
import type { Dashboard } from '../../api/model';
import { Money } from '../../components/Money';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatMoney } from '../../format/money';
import { ActivityChart, SalesChart, type SalesPoint } from './Charts';

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function defaultRange(): { from: string; to: string } {
  const to = new Date();
  const from = new Date(to);
  from.setUTCDate(from.getUTCDate() - 29);
  return { from: isoDay(from), to: isoDay(to) };
}

/** Net sales per day in one currency, every day of the range (0 where none). */
function salesSeries(d: Dashboard, currency: string): SalesPoint[] {
  const net = new Map(d.sales.filter((s) => s.currency === currency).map((s) => [s.date, s.net]));
  return d.days.map((day) => ({ date: day.date, net: net.get(day.date) ?? 0 }));
}

export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const fallback = defaultRange();
  const from = params.get('from') ?? fallback.from;
  const to = params.get('to') ?? fallback.to;
  const [draft, setDraft] = useState({ from, to });
  const [chosenCurrency, setCurrency] = useState<string | null>(null);
  const dashboard = useQuery({
    queryKey: ['dashboard', from, to],
    queryFn: ({ signal }) => request<Dashboard>('/api/v1/dashboard', { signal, query: { from, to } }),
    refetchInterval: 30_000,
  });

  function apply(e: FormEvent) {
    e.preventDefault();
    setParams({ from: draft.from, to: draft.to });
  }

  return (
    <section className="page">
      <PageHeader title="Dashboard" subtitle="Your shop's figures over the days you choose (UTC), computed on the server." />
      <form className="filters" onSubmit={apply} aria-label="Choose the days">
        <div className="field">
          <label htmlFor="d-from">From</label>
          <input id="d-from" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} required />
        </div>
        <div className="field">
          <label htmlFor="d-to">To</label>
          <input id="d-to" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} required />
        </div>
        <button type="submit" className="btn">
          Show
        </button>
      </form>
      <QueryBoundary query={dashboard} what="the dashboard">
        {(d) => {
          const orders = d.days.reduce((n, x) => n + x.orders, 0);
          const webhooks = d.days.reduce((n, x) => n + x.webhooks, 0);
          const failed = d.days.reduce((n, x) => n + x.webhooks_failed, 0);
          const currencies = d.average_order_value.map((a) => a.currency);
          const currency = chosenCurrency && currencies.includes(chosenCurrency) ? chosenCurrency : currencies[0];
          const aov = d.average_order_value.find((a) => a.currency === currency);
          return (
            <>
              <div className="tiles">
                <Tile label="Orders" value={String(orders)} />
                {d.average_order_value.map((a) => (
                  <Tile
                    key={a.currency}
                    label={`Sales (${a.currency}), average ${formatMoney(a.average, a.currency, a.currency_exponent)}`}
                    value={formatMoney(a.total, a.currency, a.currency_exponent)}
                  />
                ))}
                <Tile label="Webhooks received" value={String(webhooks)} />
                <Tile label="Webhooks failed" value={String(failed)} tone={failed > 0 ? 'critical' : undefined} />
                <Tile
                  label="Open dead letters"
                  value={String(d.open_dead_letters)}
                  tone={d.open_dead_letters > 0 ? 'critical' : undefined}
                  to="/dead-letters"
                />
                <Tile
                  label="Items on backorder"
                  value={`${d.backorders.items} (${d.backorders.units} units)`}
                  tone={d.backorders.items > 0 ? 'critical' : undefined}
                  to="/inventory?backordered=true"
                />
              </div>
              <section className="panel" aria-labelledby="activity-h">
                <h2 id="activity-h">Orders and webhooks per day</h2>
                <ActivityChart days={d.days} />
              </section>
              <section className="panel" aria-labelledby="sales-h">
                <div className="panel-head">
                  <h2 id="sales-h">Net sales per day</h2>
                  {currencies.length > 1 && (
                    <div className="field field-inline">
                      <label htmlFor="d-currency">Currency</label>
                      <select id="d-currency" value={currency} onChange={(e) => setCurrency(e.target.value)}>
                        {currencies.map((c) => (
                          <option key={c}>{c}</option>
                        ))}
                      </select>
                    </div>
                  )}
                </div>
                {currency && aov ? (
                  <SalesChart data={salesSeries(d, currency)} currency={currency} exponent={aov.currency_exponent} />
                ) : (
                  <p className="muted">No sales in these days.</p>
                )}
              </section>
              <section className="panel" aria-labelledby="top-h">
                <h2 id="top-h">Top products</h2>
                {d.top_products.length === 0 ? (
                  <p className="muted">Nothing sold in these days.</p>
                ) : (
                  <div className="table-wrap">
                    <table className="table">
                      <caption className="visually-hidden">Top products by units sold, net of refunds</caption>
                      <thead>
                        <tr>
                          <th scope="col">Product</th>
                          <th scope="col">SKU</th>
                          <th scope="col" className="num">
                            Units
                          </th>
                          <th scope="col" className="num">
                            Revenue
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {d.top_products.map((p) => (
                          <tr key={`${p.title}|${p.sku}|${p.currency}`}>
                            <td>{p.title}</td>
                            <td>{p.sku || '—'}</td>
                            <td className="num">{p.units}</td>
                            <td className="num">
                              <Money minor={p.revenue} currency={p.currency} exponent={p.currency_exponent} />
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </section>
            </>
          );
        }}
      </QueryBoundary>
    </section>
  );
}

function Tile({ label, value, tone, to }: { label: string; value: string; tone?: 'critical'; to?: string }) {
  const body = (
    <>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
    </>
  );
  return (
    <div className={tone ? `tile tile-${tone}` : 'tile'}>
      {to ? (
        <Link to={to} className="tile-link">
          {body}
        </Link>
      ) : (
        body
      )}
    </div>
  );
}
