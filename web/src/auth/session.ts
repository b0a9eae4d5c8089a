import { useQuery } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { request } from '../api/client';
import { loadTokens, onTokensChange } from '../api/tokens';
import type { Profile } from '../api/model';
import { can, type Permission } from './permissions';

function subscribe(fn: () => void) {
  return onTokensChange(fn);
}
function signedInSnapshot() {
  return loadTokens() !== null;
}

/** useSignedIn follows whether the browser holds a session (tokens), across tabs of this page. */
export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribe, signedInSnapshot);
}

export const profileKey = ['profile'] as const;

/** useProfile is the signed-in principal: who, which shop, which role. */
export function useProfile() {
  const signedIn = useSignedIn();
  return useQuery({
    queryKey: profileKey,
    queryFn: ({ signal }) => request<Profile>('/api/v1/profile', { signal }),
    enabled: signedIn,
    staleTime: 5 * 60_000,
  });
}

/** useCan answers whether the signed-in role may do p (false while the profile loads). */
export function useCan(p: Permission): boolean {
  const { data } = useProfile();
  return can(data, p);
}
