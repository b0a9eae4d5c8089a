import { useState } from 'react';
import { Subject } from './DeadLettersPage';
import { BulkPanel } from './BulkPanel';
import { useBulkRequeue } from './recovery';

const handlers = ['webhooks', 'email', 'inventory', 'reports'];
const resultLabel = { would_requeue: 'Would re-queue', requeued: 'Re-queued', failed: 'Failed' } as const;

/** Re-queue dead letters by filter: a dry-run preview first, then the run and its report. */
export function BulkRequeuePanel() {
  const [handler, setHandler] = useState('');
  const [eventType, setEventType] = useState('');
  return (
    <BulkPanel
      id="bq"
      title="Re-queue dead letters in bulk"
      formLabel="Choose dead letters to re-queue"
      when="Failed"
      errorPlaceholder="429"
      bulk={useBulkRequeue()}
      filter={(common) => ({ ...common, handler, event_type: eventType.trim() })}
      fields={
        <>
          <div className="field">
            <label htmlFor="bq-handler">Step</label>
            <select id="bq-handler" value={handler} onChange={(e) => setHandler(e.target.value)}>
              <option value="">Any</option>
              {handlers.map((h) => (
                <option key={h} value={h}>
                  {h}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="bq-type">Event type</label>
            <input id="bq-type" value={eventType} onChange={(e) => setEventType(e.target.value)} placeholder="order.placed" />
          </div>
        </>
      }
      summary={(r) =>
        r.dry_run
          ? r.matched === 0
            ? 'Nothing matches: no open dead letter fits this filter.'
            : `Preview: ${r.matched === 1 ? '1 open dead letter matches' : `${r.matched} open dead letters match`}. Nothing has changed yet.`
          : `Done: ${r.requeued} re-queued, ${r.failed} failed.`
      }
      caption={(r) => (r.dry_run ? 'What a re-queue would do' : 'What the re-queue did')}
      columns={() => ['Dead letter', 'What happened', 'What a re-queue does', 'About', 'Result']}
      row={(o) => (
        <tr key={o.dead_letter.id}>
          <td>
            #{o.dead_letter.id} <code>{o.dead_letter.handler}</code>
          </td>
          <td className="wrap">{o.explanation.what}</td>
          <td className="wrap">{o.error ?? o.explanation.effect}</td>
          <td>
            <Subject orderId={o.explanation.order_id} inventoryKey={o.explanation.inventory_key} />
          </td>
          <td>{resultLabel[o.result]}</td>
        </tr>
      )}
      run={(r) => `Re-queue ${r.items.length === 1 ? '1 dead letter' : `${r.items.length} dead letters`}`}
    />
  );
}
