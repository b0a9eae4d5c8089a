import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import type { InventoryFigures, Written } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';

type Mode = 'adjust' | 'count';

/** AdjustForm changes stock by a delta (received, damaged) or sets a counted on-hand figure, always with a reason. */
export function AdjustForm({ item, onDone }: { item: InventoryFigures; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<Mode>('adjust');
  const [value, setValue] = useState('');
  const [reason, setReason] = useState('');
  const n = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(n) && (mode === 'count' ? n >= 0 : n !== 0) && reason.trim() !== '';

  const save = useMutation({
    mutationFn: () =>
      request<InventoryFigures & Written>(`/api/v1/inventory/${encodeURIComponent(item.key)}/${mode}`, {
        method: 'POST',
        body: mode === 'adjust' ? { delta: n, reason: reason.trim() } : { on_hand: n, reason: reason.trim() },
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['inventory'] });
      onDone();
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (valid) save.mutate();
  }

  return (
    <form className="panel inline-form" onSubmit={submit} aria-labelledby="adjust-h">
      <h2 id="adjust-h">
        Adjust <code>{item.key}</code>
      </h2>
      <p className="muted">
        On hand {item.on_hand}, reserved {item.reserved}, available {item.available}.
      </p>
      <fieldset className="segmented">
        <legend className="visually-hidden">Kind of change</legend>
        <label>
          <input type="radio" name="mode" checked={mode === 'adjust'} onChange={() => setMode('adjust')} /> Add or remove
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === 'count'} onChange={() => setMode('count')} /> Set counted on hand
        </label>
      </fieldset>
      <label htmlFor="adj-value">{mode === 'adjust' ? 'Change (e.g. 10 or -2)' : 'Counted on hand'}</label>
      <input id="adj-value" inputMode="numeric" autoFocus value={value} onChange={(e) => setValue(e.target.value)} />
      <label htmlFor="adj-reason">Reason</label>
      <input
        id="adj-reason"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        placeholder="Received purchase order 1042"
      />
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={!valid || save.isPending}>
          Save
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Close
        </button>
      </div>
      <MutationError error={save.error} />
    </form>
  );
}
