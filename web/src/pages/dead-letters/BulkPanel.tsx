import { useState, type FormEvent, type ReactNode } from 'react';
import { MutationError } from '../../components/ErrorNotice';
import { localToRFC3339 } from './recovery';

/** The filter fields every bulk action has: when the items failed and what their error says. */
export interface WhenAndWhy {
  error_contains: string;
  since: string | null;
  until: string | null;
}

/** What a bulk action answers: a preview (dry run) or the run, at most a page of items. */
interface Report {
  dry_run: boolean;
  matched: number;
  failed: number;
  items: unknown[];
}

interface Props<F, R extends Report> {
  /** Prefixes the element ids. */
  id: string;
  title: string;
  formLabel: string;
  /** Labels the time fields: "Failed" from/before. */
  when: string;
  errorPlaceholder?: string;
  bulk: {
    mutate: (f: F & { dry_run: boolean }) => void;
    reset: () => void;
    data?: R;
    error: unknown;
    isPending: boolean;
  };
  /** The action's filter, given the fields every action has. */
  filter: (common: WhenAndWhy) => F;
  /** The action's own filter fields, shown before the common ones. */
  fields: ReactNode;
  /** What the report says, as a sentence. */
  summary: (r: R) => string;
  caption: (r: R) => string;
  columns: (r: R) => string[];
  /** One item as a table row (a keyed <tr>). */
  row: (item: R['items'][number], r: R) => ReactNode;
  /** The label of the button that runs what the preview showed. */
  run: (r: R) => string;
}

/** A bulk action chosen by a filter: a dry-run preview first, then the run and its report. */
export function BulkPanel<F, R extends Report>(p: Props<F, R>) {
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [errorText, setErrorText] = useState('');
  const filter = p.filter({ error_contains: errorText.trim(), since: localToRFC3339(since), until: localToRFC3339(until) });
  const { bulk } = p;
  const preview = (e: FormEvent) => {
    e.preventDefault();
    bulk.mutate({ ...filter, dry_run: true });
  };
  const report = bulk.data;

  return (
    <section className="panel" aria-labelledby={`${p.id}-h`}>
      <h2 id={`${p.id}-h`}>{p.title}</h2>
      <form className="filters" onSubmit={preview} aria-label={p.formLabel} onChange={() => bulk.reset()}>
        {p.fields}
        <div className="field">
          <label htmlFor={`${p.id}-since`}>{p.when} from</label>
          <input id={`${p.id}-since`} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${p.id}-until`}>{p.when} before</label>
          <input id={`${p.id}-until`} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${p.id}-error`}>Error contains</label>
          <input id={`${p.id}-error`} value={errorText} onChange={(e) => setErrorText(e.target.value)} placeholder={p.errorPlaceholder} />
        </div>
        <button type="submit" className="btn" disabled={bulk.isPending}>
          Preview
        </button>
      </form>
      <MutationError error={bulk.error} />
      {report && (
        <div aria-live="polite">
          <p className={report.dry_run ? 'notice notice-muted' : report.failed > 0 ? 'notice notice-critical' : 'notice notice-success'} role="status">
            {p.summary(report)}
            {report.items.length < report.matched && ` Only the oldest ${report.items.length} are handled per run.`}
          </p>
          {report.items.length > 0 && (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">{p.caption(report)}</caption>
                <thead>
                  <tr>
                    {p.columns(report).map((c) => (
                      <th scope="col" key={c}>
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>{report.items.map((item) => p.row(item, report))}</tbody>
              </table>
            </div>
          )}
          {report.dry_run && report.matched > 0 && (
            <button type="button" className="btn btn-primary" disabled={bulk.isPending} onClick={() => bulk.mutate({ ...filter, dry_run: false })}>
              {p.run(report)}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
