import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import { saveResponse } from '../../api/download';
import type { AuditFinding, AuditStatus, AuditVerify, AuditVerifyRun } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { dayEnd, dayStart, formatPrecise } from '../../format/time';

export function AuditPage() {
  const queryClient = useQueryClient();
  // Each run walks the shop's hash chains now; nothing runs until asked.
  // The run answers when it is done; meanwhile the status tells its progress.
  const verify = useMutation({
    mutationFn: () => request<AuditVerifyRun>('/api/v1/audit/verify-runs', { method: 'POST' }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['audit', 'status'] }),
  });
  const status = useQuery({
    queryKey: ['audit', 'status'],
    queryFn: ({ signal }) => request<AuditStatus>('/api/v1/audit/status', { signal }),
    refetchInterval: (q) => (verify.isPending || q.state.data?.verify_run?.state === 'running' ? 500 : false),
  });
  const run = status.data?.verify_run ?? null;
  const running = verify.isPending || run?.state === 'running';
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [format, setFormat] = useState('jsonl');
  const exportLog = useMutation({
    mutationFn: async () => {
      const res = await request<Response>('/api/v1/audit/export', {
        raw: true,
        query: { since: dayStart(since), until: dayEnd(until), format },
      });
      await saveResponse(res, `ordermill-audit.${format}`);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    exportLog.mutate();
  }

  return (
    <section className="page">
      <PageHeader title="Audit" subtitle="Every event is hash-chained; verification recomputes the chains." />
      <section aria-labelledby="verify-h" className="panel">
        <h2 id="verify-h">Event log integrity</h2>
        <p className="muted">
          Verifying recomputes every hash chain of this shop's events and checks their heads against the newest signed
          checkpoint. The whole log is also verified on a schedule, which signs a new checkpoint each round.
        </p>
        <button type="button" className="btn btn-primary" onClick={() => verify.mutate()} disabled={running}>
          {running ? 'Verifying…' : run ? 'Verify again' : 'Verify now'}
        </button>
        <MutationError error={verify.error} />
        <VerifyRun run={verify.isPending && run?.state !== 'running' ? null : (verify.data ?? run)} starting={verify.isPending} />
      </section>
      <section aria-labelledby="schedule-h" className="panel">
        <h2 id="schedule-h">Scheduled verification</h2>
        <QueryBoundary query={status} what="the audit schedule">
          {(st) => <Schedule st={st} />}
        </QueryBoundary>
      </section>
      <form className="panel filters" onSubmit={submit} aria-labelledby="export-h">
        <h2 id="export-h">Export events</h2>
        <div className="field">
          <label htmlFor="a-since">Since</label>
          <input id="a-since" type="date" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-until">Until</label>
          <input id="a-until" type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-format">Format</label>
          <select id="a-format" value={format} onChange={(e) => setFormat(e.target.value)}>
            <option value="jsonl">JSON lines</option>
            <option value="csv">CSV</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={exportLog.isPending}>
          {exportLog.isPending ? 'Exporting…' : 'Export'}
        </button>
        <MutationError error={exportLog.error} />
      </form>
    </section>
  );
}

/** A duration in seconds in the largest whole unit: 3600 → "1 hour". */
function every(seconds: number): string {
  for (const [unit, size] of [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ] as const) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? unit : `${n} ${unit}s`;
    }
  }
  return `${seconds} seconds`;
}

function Schedule({ st }: { st: AuditStatus }) {
  return (
    <dl className="facts">
      <dt>Schedule</dt>
      <dd>
        {st.schedule_seconds === null
          ? 'Off: the whole log is verified only when an operator runs it.'
          : `The whole log, every ${every(st.schedule_seconds)}.`}
      </dd>
      <dt>Last run</dt>
      <dd>
        {st.last_run === null ? (
          'None yet.'
        ) : (
          <>
            <span className={st.last_run.ok ? 'badge badge-success' : 'badge badge-critical'}>
              {st.last_run.ok ? 'Clean' : 'Found tampering'}
            </span>{' '}
            {formatPrecise(st.last_run.finished_at)}
          </>
        )}
      </dd>
      <dt>Last signed checkpoint</dt>
      <dd>
        {st.checkpoint === null
          ? 'None yet: no checkpoint key is configured, or no clean round has signed one.'
          : `#${st.checkpoint.id}, signed ${formatPrecise(st.checkpoint.signed_at)} by key ${st.checkpoint.key_id}`}
      </dd>
    </dl>
  );
}

/** A verify run: its progress bar (full once finished), then its verdict. */
export function VerifyRun({ run, starting }: { run: AuditVerifyRun | null; starting: boolean }) {
  if (run === null) {
    return starting ? (
      <p className="muted" role="status">
        Counting this shop's events…
      </p>
    ) : null;
  }
  const max = Math.max(run.events_total, 1);
  const now = Math.min(run.events_checked, max);
  const label = `${run.events_checked.toLocaleString()} of ${run.events_total.toLocaleString()} events checked, in ${run.streams_total.toLocaleString()} streams`;
  return (
    <div className="verify-run">
      <div
        className="meter"
        role="progressbar"
        aria-label="Events verified"
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={now}
        aria-valuetext={label}
      >
        <div className="meter-fill" style={{ width: `${(100 * now) / max}%` }} />
      </div>
      <p className="muted" aria-live="polite">
        {run.state === 'running' ? `Verifying: ${label}.` : `${label}.`}
      </p>
      {run.state === 'finished' && run.result && <Verdict v={run.result} />}
      {run.state === 'failed' && (
        <p className="notice notice-critical" role="alert">
          {run.error || 'The run stopped before it finished.'}
        </p>
      )}
      {run.state === 'interrupted' && (
        <p className="notice notice-warning" role="status">
          The run was interrupted before it finished (its server stopped). Verify again.
        </p>
      )}
    </div>
  );
}

const findingLabel: Record<AuditFinding['kind'], string> = {
  altered: 'An event was changed after it was stored',
  broken: 'A hash chain is broken',
  missing: 'An event is missing',
  out_of_sequence: 'Events are out of sequence',
  checkpoint_signature: 'A checkpoint signature does not verify',
  checkpoint_head: 'A stream no longer ends where the checkpoint saw it',
  checkpoint_count: 'The checkpoint counted other events',
  checkpoint_export: 'The exported checkpoint differs',
};

function Verdict({ v }: { v: AuditVerify }) {
  const seconds = (new Date(v.finished_at).getTime() - new Date(v.started_at).getTime()) / 1000;
  return (
    <div className="verdict">
      <p className={v.ok ? 'notice notice-success' : 'notice notice-critical'} role="status">
        <strong>{v.ok ? 'Verified.' : 'Verification failed.'}</strong>
        {v.ok
          ? ` All ${v.events} events of this shop, in ${v.streams} streams, match their hash chains.`
          : ` ${v.findings.length} findings: the stored history does not match its hashes.`}
      </p>
      <dl className="facts">
        <dt>Events checked</dt>
        <dd>{v.events}</dd>
        <dt>Streams checked</dt>
        <dd>{v.streams}</dd>
        <dt>Findings</dt>
        <dd>{v.findings.length}</dd>
        <dt>Run</dt>
        <dd>
          {formatPrecise(v.finished_at)} ({seconds.toFixed(1)} s)
        </dd>
        <dt>Last signed checkpoint</dt>
        <dd>
          {v.checkpoint
            ? `#${v.checkpoint.id}, signed ${formatPrecise(v.checkpoint.signed_at)} by key ${v.checkpoint.key_id}${
                v.checkpoint.trusted_first_key ? ' (trusted: it signed the first checkpoint)' : ''
              }`
            : 'None yet: stream heads were checked against their chains only.'}
        </dd>
      </dl>
      {v.findings.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Findings</caption>
            <thead>
              <tr>
                <th scope="col">Finding</th>
                <th scope="col">Stream</th>
                <th scope="col" className="num">
                  Version
                </th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {v.findings.map((f) => (
                <tr key={`${f.kind}-${f.stream_id}-${f.stream_version}`}>
                  <td>{findingLabel[f.kind]}</td>
                  <td className="wrap">
                    <code>{f.stream_id}</code>
                  </td>
                  <td className="num">{f.stream_version}</td>
                  <td className="wrap">{f.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
