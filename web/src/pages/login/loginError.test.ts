import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/problem';
import { shopDomain } from './LoginPage';
import { loginError } from './loginError';

describe('sign-in', () => {
  it('takes a shop handle or domain', () => {
    expect(shopDomain(' Demo ')).toBe('demo.myshopify.com');
    expect(shopDomain('Demo.MyShopify.com')).toBe('demo.myshopify.com');
    expect(shopDomain('')).toBe('');
  });

  it('words each failure', () => {
    const problem = (status: number, errors?: { field: string; message: string }[]) =>
      new ApiError(status, { type: 'about:blank', title: 'x', status, errors }, 'x');
    expect(loginError(problem(401))).toBe('The shop, email or password is incorrect.');
    expect(loginError(problem(422, [{ field: 'shop', message: 'must be a shop domain' }]))).toMatch(/shop's domain/);
    expect(loginError(problem(429))).toMatch(/Too many sign-in attempts/);
    expect(loginError(problem(503))).toMatch(/unavailable right now/);
  });
});
