import { ApiError } from '../../api/problem';

/** loginError words a failed sign-in for the person at the keyboard. */
export function loginError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Sign-in failed. Try again.';
  switch (error.status) {
    case 0:
      return 'The server could not be reached. Check your connection and try again.';
    case 400:
    case 401:
      return 'The shop, email or password is incorrect.';
    case 422:
      return error.fieldError('shop') ? "Enter the shop's domain, like demo.myshopify.com." : error.message;
    case 403:
      return 'This account is deactivated. Ask the shop owner.';
    case 429:
      return 'Too many sign-in attempts. Wait a little and try again.';
    case 503:
      return 'Sign-in is unavailable right now. Try again in a few seconds.';
    default:
      return error.status >= 500 ? 'The server had a problem. Try again shortly.' : error.message;
  }
}
