import { ApiError } from '../api/problem';

/** ErrorNotice explains a failed request; 403 is shown as "Not allowed", not as a failure. */
export function ErrorNotice({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what?: string }) {
  if (error instanceof ApiError && error.status === 403) {
    return (
      <div className="notice notice-muted" role="status">
        <strong>Not allowed.</strong> Your role cannot {what ? `see ${what}` : 'do this'}. Ask the shop owner if you need
        access.
      </div>
    );
  }
  if (error instanceof ApiError && error.status === 404) {
    return (
      <div className="notice notice-muted" role="status">
        <strong>Not found.</strong> {what ? `${capitalise(what)} is` : 'This is'} not available
        {error.problem?.detail && error.problem.detail !== 'no such resource' ? `: ${error.problem.detail}` : ' on this server.'}
      </div>
    );
  }
  const message = error instanceof Error ? error.message : 'Something went wrong.';
  return (
    <div className="notice notice-critical" role="alert">
      <strong>Could not load{what ? ` ${what}` : ''}.</strong> {message}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** MutationError is the inline message under a form or action that failed. */
export function MutationError({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError && error.status === 403
      ? 'Not allowed.'
      : error instanceof ApiError && error.problem?.errors?.length
        ? error.problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ')
        : error instanceof Error
          ? error.message
          : 'The request failed.';
  const shopify = error instanceof ApiError ? (error.problem?.shopify_errors ?? []) : [];
  return (
    <div className="form-error" role="alert">
      <p>{text}</p>
      {shopify.length > 0 && (
        <ul aria-label="Shopify's reasons">
          {shopify.map((e, i) => (
            <li key={i}>
              {e.field?.length ? `${e.field.join('.')}: ` : ''}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
