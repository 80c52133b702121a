import { ApiError } from '../../src/domain/apiError';

/** The ApiError a call throws; a result, or any other error, fails the test. */
export function apiErrorOf(call: () => unknown): ApiError {
  try {
    call();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError, got a result');
}
