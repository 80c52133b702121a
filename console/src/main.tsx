import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { App } from './App';
import './styles.css';

const queries = new QueryClient({
  defaultOptions: {
    // A refusal (404, 403) is an answer, not a blip: show it at once instead of retrying it.
    queries: { retry: (count, error) => count < 2 && !('status' in error && (error as { status: number }).status >= 400), refetchOnWindowFocus: true },
  },
});

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <Router base="/console">
        <App />
      </Router>
    </QueryClientProvider>
  </StrictMode>,
);
