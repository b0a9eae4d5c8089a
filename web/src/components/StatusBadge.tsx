export type Tone = 'neutral' | 'info' | 'success' | 'warning' | 'critical';

// Colour follows meaning, so every list reads the same way. The label is always
// shown as text; colour is never the only cue.
const tones: Record<string, Tone> = {
  placed: 'info',
  pending: 'warning',
  paid: 'success',
  partially_fulfilled: 'info',
  partial: 'info',
  fulfilled: 'success',
  unfulfilled: 'neutral',
  cancelled: 'neutral',
  voided: 'neutral',
  partially_refunded: 'warning',
  refunded: 'neutral',
  processed: 'success',
  received: 'info',
  processing: 'info',
  queued: 'info',
  running: 'info',
  sent: 'success',
  delivered: 'success',
  completed: 'success',
  done: 'success',
  ready: 'success',
  ok: 'success',
  active: 'success',
  duplicate: 'neutral',
  ignored: 'neutral',
  stale: 'neutral',
  revoked: 'neutral',
  inactive: 'neutral',
  failed: 'critical',
  error: 'critical',
  rejected: 'critical',
  dead: 'critical',
  dead_lettered: 'critical',
  bounced: 'critical',
};

export function toneFor(status: string): Tone {
  return tones[status.toLowerCase()] ?? 'neutral';
}

export function statusLabel(status: string): string {
  const s = status.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="badge badge-neutral">Unknown</span>;
  return <span className={`badge badge-${toneFor(status)}`}>{statusLabel(status)}</span>;
}
