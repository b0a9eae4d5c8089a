import { useState, type FormEvent } from 'react';
import type { OrderDetail } from '../../api/model';
import type { OrderAction } from './orderApi';

/** Tags as Shopify keeps them: comma-separated, trimmed, no empties or repeats. */
export function parseTags(input: string): string[] {
  return [...new Set(input.split(',').map((t) => t.trim()).filter(Boolean))];
}

/** Edits the order's note and tags, which Shopify shows the merchant too. */
export function NotesTagsForm({
  order,
  busy,
  onSubmit,
}: {
  order: OrderDetail;
  busy: boolean;
  onSubmit: (a: Extract<OrderAction, { kind: 'annotate' }>) => void;
}) {
  const [note, setNote] = useState(order.note);
  const [tags, setTags] = useState(order.tags.join(', '));
  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit({ kind: 'annotate', note: note.trim(), tags: parseTags(tags) });
  }
  return (
    <form className="panel inline-form wide" onSubmit={submit} aria-label="Note and tags">
      <h2>Note and tags</h2>
      <label htmlFor="order-note">Note</label>
      <textarea id="order-note" rows={3} value={note} onChange={(e) => setNote(e.target.value)} />
      <label htmlFor="order-tags">Tags, separated by commas</label>
      <input id="order-tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="gift, priority" />
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save note and tags'}
        </button>
      </div>
    </form>
  );
}
