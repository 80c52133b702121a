/**
 * The signed-in token lives in this tab's sessionStorage only: closing the tab signs out, and no
 * other tab, cookie or disk file ever holds it.
 */
const KEY = 'argus.token';

export const session = {
  token(): string | null {
    return sessionStorage.getItem(KEY);
  },
  signIn(token: string): void {
    sessionStorage.setItem(KEY, token);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
  },
};
