import { useQuery } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { GetJson } from '../../api/model';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';

/** Operations shows how far the relay and each read model trail the newest event. */
export function OperationsPage() {
  const lag = useQuery({
    queryKey: ['status', 'lag'],
    queryFn: ({ signal }) => request<GetJson<'/api/v1/status/lag'>>('/api/v1/status/lag', { signal }),
    refetchInterval: 5_000,
  });
  return (
    <section className="page">
      <PageHeader title="Operations" subtitle="How far each reader of the event log is behind. Refreshes every 5 seconds." />
      <QueryBoundary query={lag} what="projection lag">
        {(data) => (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">How far each reader of the event log is behind</caption>
              <thead>
                <tr>
                  <th scope="col">Reader</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">
                    Events behind
                  </th>
                  <th scope="col" className="num">
                    Seconds behind
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((l) => (
                  <tr key={`${l.kind}-${l.name}`}>
                    <td>{l.name === 'relay' ? 'relay (to Redis Streams)' : l.name}</td>
                    <td>{l.kind}</td>
                    <td className="num">{l.events}</td>
                    <td className="num">{l.seconds.toFixed(1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryBoundary>
    </section>
  );
}
