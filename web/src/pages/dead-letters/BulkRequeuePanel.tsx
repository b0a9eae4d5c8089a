import { useState, type FormEvent } from 'react';
import type { DeadLetterFilter } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { Subject } from './DeadLettersPage';
import { localToRFC3339, useBulkRequeue } from './recovery';

const handlers = ['webhooks', 'email', 'inventory', 'reports'];
const resultLabel = { would_requeue: 'Would re-queue', requeued: 'Re-queued', failed: 'Failed' } as const;

/** Re-queue dead letters by filter: a dry-run preview first, then the run and its report. */
export function BulkRequeuePanel() {
  const [handler, setHandler] = useState('');
  const [eventType, setEventType] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [errorText, setErrorText] = useState('');
  const bulk = useBulkRequeue();
  const filter: DeadLetterFilter = {
    handler,
    event_type: eventType.trim(),
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
    <section className="panel" aria-labelledby="bulk-requeue-h">
      <h2 id="bulk-requeue-h">Re-queue dead letters in bulk</h2>
      <form className="filters" onSubmit={preview} aria-label="Choose dead letters to re-queue" onChange={() => bulk.reset()}>
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
        <div className="field">
          <label htmlFor="bq-since">Failed from</label>
          <input id="bq-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="bq-until">Failed before</label>
          <input id="bq-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="bq-error">Error contains</label>
          <input id="bq-error" value={errorText} onChange={(e) => setErrorText(e.target.value)} placeholder="429" />
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
                ? 'Nothing matches: no open dead letter fits this filter.'
                : `Preview: ${report.matched === 1 ? '1 open dead letter matches' : `${report.matched} open dead letters match`}. Nothing has changed yet.`
              : `Done: ${report.requeued} re-queued, ${report.failed} failed.`}
            {report.items.length < report.matched && ` Only the oldest ${report.items.length} are handled per run.`}
          </p>
          {report.items.length > 0 && (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">{report.dry_run ? 'What a re-queue would do' : 'What the re-queue did'}</caption>
                <thead>
                  <tr>
                    <th scope="col">Dead letter</th>
                    <th scope="col">What happened</th>
                    <th scope="col">What a re-queue does</th>
                    <th scope="col">About</th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {report.items.map((o) => (
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
              Re-queue {report.items.length === 1 ? '1 dead letter' : `${report.items.length} dead letters`}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
