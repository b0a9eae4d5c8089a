import { useState } from 'react';
import { Link } from 'react-router';
import type { StoredEvent } from '../../api/model';
import { JsonView } from '../../components/JsonView';
import { formatPrecise } from '../../format/time';
import { causedByWebhook, describeEvent } from './eventFacts';

export interface TimelineProps {
  events: StoredEvent[];
  selected: string | null;
  onSelect: (position: string | null) => void;
}

/** Timeline is the order's event history, oldest first, with what caused each event. */
export function Timeline({ events, selected, onSelect }: TimelineProps) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <ol className="timeline" aria-label="Order history">
      {events.map((e) => (
        <li key={e.event_id} className={selected === e.position ? 'timeline-item selected' : 'timeline-item'}>
          <div className="timeline-head">
            <span className="timeline-title">{describeEvent(e)}</span>
            <code className="muted">{e.type}</code>
            <time dateTime={e.recorded_at} className="muted">
              {formatPrecise(e.recorded_at)}
            </time>
          </div>
          <div className="timeline-meta">
            <span>v{e.stream_version}</span>
            {e.metadata.actor && <span title={e.metadata.actor}>by {actorLabel(e.actor_name, e.metadata.actor)}</span>}
            {e.metadata.source && <span>via {e.metadata.source}</span>}
            {e.metadata.causation_id &&
              (causedByWebhook(e) ? (
                <span>
                  caused by webhook{' '}
                  <Link to={`/webhooks/${encodeURIComponent(e.metadata.causation_id)}`}>{short(e.metadata.causation_id)}</Link>
                </span>
              ) : (
                <span>
                  caused by <code title={e.metadata.causation_id}>{short(e.metadata.causation_id)}</code>
                </span>
              ))}
            {e.metadata.correlation_id && (
              <span>
                correlation <code title={e.metadata.correlation_id}>{short(e.metadata.correlation_id)}</code>
              </span>
            )}
          </div>
          <div className="btn-row">
            <button
              type="button"
              className="btn btn-small"
              aria-pressed={selected === e.position}
              onClick={() => onSelect(selected === e.position ? null : e.position)}
            >
              {selected === e.position ? 'Back to now' : 'View order at this point'}
            </button>
            <button
              type="button"
              className="btn btn-small btn-link"
              aria-expanded={open === e.event_id}
              onClick={() => setOpen(open === e.event_id ? null : e.event_id)}
            >
              {open === e.event_id ? 'Hide data' : 'Show data'}
            </button>
          </div>
          {open === e.event_id && (
            <JsonView label={`Data of event ${e.stream_version}`} value={{ data: e.data, metadata: e.metadata, hash: e.hash }} />
          )}
        </li>
      ))}
    </ol>
  );
}

function short(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}

/** actorLabel names who made an event: a person's or token's name, else what kind of actor it was. */
export function actorLabel(name: string, actor: string): string {
  if (name) return name;
  const [kind, id = ''] = actor.split(':', 2);
  if (kind === 'worker') return id === 'webhooks' ? 'Shopify webhook processing' : `the ${id} worker`;
  if (kind === 'user') return 'a removed user';
  if (kind === 'token') return 'a removed API token';
  if (kind === 'cli') return 'the command line';
  return actor;
}
