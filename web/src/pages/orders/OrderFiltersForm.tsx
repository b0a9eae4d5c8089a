import { useEffect, useState, type FormEvent } from 'react';
import { statusLabel } from '../../components/StatusBadge';
import type { OrderFilters } from './ordersApi';

const statuses = ['placed', 'paid', 'partially_fulfilled', 'fulfilled', 'cancelled', 'partially_refunded', 'refunded'];
const financial = ['pending', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded', 'voided', 'expired'];
const fulfillment = ['unfulfilled', 'partial', 'fulfilled', 'restocked'];

export function OrderFiltersForm({ value, onChange }: { value: OrderFilters; onChange: (f: OrderFilters) => void }) {
  // The search box is applied on submit, the selects at once.
  const [q, setQ] = useState(value.q);
  useEffect(() => setQ(value.q), [value.q]);

  function set<K extends keyof OrderFilters>(key: K, v: OrderFilters[K]) {
    onChange({ ...value, [key]: v });
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    set('q', q);
  }

  return (
    <form className="filters" onSubmit={submit} role="search" aria-label="Filter orders">
      <div className="field field-grow">
        <label htmlFor="order-q">Search</label>
        <div className="input-row">
          <input
            id="order-q"
            type="search"
            placeholder="Order name, email or customer"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
          <button type="submit" className="btn">
            Search
          </button>
        </div>
      </div>
      <Select id="f-status" label="Status" options={statuses} value={value.status} onChange={(v) => set('status', v)} />
      <Select
        id="f-fin"
        label="Payment"
        options={financial}
        value={value.financial_status}
        onChange={(v) => set('financial_status', v)}
      />
      <Select
        id="f-ful"
        label="Fulfillment"
        options={fulfillment}
        value={value.fulfillment_status}
        onChange={(v) => set('fulfillment_status', v)}
      />
      <div className="field">
        <label htmlFor="f-from">Placed from</label>
        <input id="f-from" type="date" value={value.from} onChange={(e) => set('from', e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="f-to">Placed to</label>
        <input id="f-to" type="date" value={value.to} onChange={(e) => set('to', e.target.value)} />
      </div>
    </form>
  );
}

function Select({
  id,
  label,
  options,
  value,
  onChange,
}: {
  id: string;
  label: string;
  options: string[];
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {statusLabel(o)}
          </option>
        ))}
      </select>
    </div>
  );
}
