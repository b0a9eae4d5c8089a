import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { WebhookFilter } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { localToRFC3339, useBulkRedeliver } from './recovery';

const resultLabel = { would_redeliver: 'Would process again', redelivered: 'Processed again', failed: 'Failed' } as const;

/** Process failed webhooks again by filter: the events each would write first, then the run. */
export function BulkRedeliverPanel() {
  const [topic, setTopic] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [errorText, setErrorText] = useState('');
  const bulk = useBulkRedeliver();
  const filter: WebhookFilter = {
    topic: topic.trim(),
    error_contains: errorText.trim(),
    since: localToRFC3339(since),
    until: localToRFC3339(until),
  };
  const preview = (e: FormEvent) => {
    e.preventDefault();
    bulk.mutate({ ...filter, dry_run: true });
  };
  const report = bulk.data;

  return (
    <section className="panel" aria-labelledby="bulk-redeliver-h">
      <h2 id="bulk-redeliver-h">Process failed webhooks again</h2>
      <form className="filters" onSubmit={preview} aria-label="Choose failed webhooks" onChange={() => bulk.reset()}>
        <div className="field">
          <label htmlFor="br-topic">Topic</label>
          <input id="br-topic" value={topic} onChange={(e) => setTopic(e.target.value)} placeholder="orders/create" />
        </div>
        <div className="field">
          <label htmlFor="br-since">Received from</label>
          <input id="br-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="br-until">Received before</label>
          <input id="br-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="br-error">Error contains</label>
          <input id="br-error" value={errorText} onChange={(e) => setErrorText(e.target.value)} />
        </div>
        <button type="submit" className="btn" disabled={bulk.isPending}>
          Preview
        </button>
      </form>
      <MutationError error={bulk.error} />
      {report && (
        <div aria-live="polite">
          <p className={report.dry_run ? 'notice notice-muted' : report.failed > 0 ? 'notice notice-critical' : 'notice notice-success'} role="status">
            {report.dry_run
              ? report.matched === 0
                ? 'Nothing matches: no failed webhook fits this filter.'
                : `Preview: ${report.matched === 1 ? '1 failed webhook matches' : `${report.matched} failed webhooks match`}. Nothing has been written yet.`
              : `Done: ${report.redelivered} processed again, ${report.failed} failed.`}
          </p>
          {report.items.length > 0 && (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Failed webhooks and what processing them again does</caption>
                <thead>
                  <tr>
                    <th scope="col">Webhook</th>
                    <th scope="col">Why it failed</th>
                    <th scope="col">{report.dry_run ? 'It would write' : 'Outcome'}</th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {report.items.map((o) => (
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
                          (report.dry_run
                            ? o.changes.length === 0
                              ? 'Nothing new'
                              : o.changes.map((c) => `${c.events.join(', ')} on ${c.stream}`).join('; ')
                            : `${o.outcome.status}${o.outcome.detail ? `: ${o.outcome.detail}` : ''}`)}
                      </td>
                      <td>{resultLabel[o.result]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {report.dry_run && report.matched > 0 && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={bulk.isPending}
              onClick={() => bulk.mutate({ ...filter, dry_run: false })}
            >
              Process {report.items.length === 1 ? '1 webhook' : `${report.items.length} webhooks`} again
            </button>
          )}
        </div>
      )}
    </section>
  );
}
