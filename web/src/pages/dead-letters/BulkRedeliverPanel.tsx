import { useState } from 'react';
import { Link } from 'react-router';
import { BulkPanel } from './BulkPanel';
import { useBulkRedeliver } from './recovery';

const resultLabel = { would_redeliver: 'Would process again', redelivered: 'Processed again', failed: 'Failed' } as const;

/** Process failed webhooks again by filter: the events each would write first, then the run. */
export function BulkRedeliverPanel() {
  const [topic, setTopic] = useState('');
  return (
    <BulkPanel
      id="br"
      title="Process failed webhooks again"
      formLabel="Choose failed webhooks"
      when="Received"
      bulk={useBulkRedeliver()}
      filter={(common) => ({ ...common, topic: topic.trim() })}
      fields={
        <div className="field">
          <label htmlFor="br-topic">Topic</label>
          <input id="br-topic" value={topic} onChange={(e) => setTopic(e.target.value)} placeholder="orders/create" />
        </div>
      }
      summary={(r) =>
        r.dry_run
          ? r.matched === 0
            ? 'Nothing matches: no failed webhook fits this filter.'
            : `Preview: ${r.matched === 1 ? '1 failed webhook matches' : `${r.matched} failed webhooks match`}. Nothing has been written yet.`
          : `Done: ${r.redelivered} processed again, ${r.failed} failed.`
      }
      caption={() => 'Failed webhooks and what processing them again does'}
      columns={(r) => ['Webhook', 'Why it failed', r.dry_run ? 'It would write' : 'Outcome', 'Result']}
      row={(o, r) => (
        <tr key={o.webhook.id}>
          <td>
            <Link to={`/webhooks/${o.webhook.id}`}>{o.webhook.topic}</Link>
            {o.webhook.order_id && (
              <>
                {' · '}
                <Link to={`/orders/${o.webhook.order_id}`}>order</Link>
              </>
            )}
          </td>
          <td className="wrap">{o.webhook.error ?? '—'}</td>
          <td className="wrap">
            {o.error ??
              (r.dry_run
                ? o.changes.length === 0
                  ? 'Nothing new'
                  : o.changes.map((c) => `${c.events.join(', ')} on ${c.stream}`).join('; ')
                : `${o.outcome.status}${o.outcome.detail ? `: ${o.outcome.detail}` : ''}`)}
          </td>
          <td>{resultLabel[o.result]}</td>
        </tr>
      )}
      run={(r) => `Process ${r.items.length === 1 ? '1 webhook' : `${r.items.length} webhooks`} again`}
    />
  );
}
