import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { saveTokens } from '../api/tokens';
import type { Profile, Role } from '../api/model';

export function profile(role: Role): Profile {
  return { kind: 'user', id: 'u1', shop: 'demo.myshopify.com', role, permissions: [], email: `${role}@example.com`, name: role };
}

/** renderAs renders ui at path for a signed-in user of the role; the profile is already cached. */
export function renderAs(role: Role, ui: ReactElement, { path = '/', route = '/' } = {}) {
  saveTokens({ accessToken: 'a', refreshToken: 'r' });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, refetchInterval: false } } });
  client.setQueryData(['profile'], profile(role));
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={ui} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
