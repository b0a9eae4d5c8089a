import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import { saveResponse } from '../../api/download';
import type { AuditVerify } from '../../api/types';
import { MutationError } from '../../components/ErrorNotice';
import { JsonView } from '../../components/JsonView';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { dayEnd, dayStart } from '../../format/time';

export function AuditPage() {
  const verify = useQuery({
    queryKey: ['audit', 'verify'],
    queryFn: ({ signal }) => request<AuditVerify>('/api/v1/audit/verify', { signal }),
    staleTime: 60_000,
  });
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
        <QueryBoundary query={verify} what="the verification">
          {(v) => (
            <>
              <p className={v.ok ? 'notice notice-success' : 'notice notice-critical'} role="status">
                {v.ok
                  ? `Verified: all ${v.events} events of this shop, in ${v.streams} streams, match their hash chains.`
                  : `Verification FAILED: ${v.findings.length} findings; the stored history does not match its hashes.`}
              </p>
              <JsonView label="Verification details" value={v} />
            </>
          )}
        </QueryBoundary>
        <button type="button" className="btn" onClick={() => void verify.refetch()} disabled={verify.isFetching}>
          {verify.isFetching ? 'Verifying…' : 'Verify again'}
        </button>
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
