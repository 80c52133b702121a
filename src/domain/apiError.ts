/**
 * An error the API answers with: a status, a stable machine-readable code and a message that
 * names the field or rule, so a person (or a script) can act on it.
 */
/** Extra keys of an error body: the spec field at fault, where there is one. */
export interface ApiErrorDetails {
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ApiErrorDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (code: string, message: string, details?: ApiErrorDetails) =>
  new ApiError(400, code, message, details);
export const forbidden = (code: string, message: string, details?: ApiErrorDetails) => new ApiError(403, code, message, details);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const unprocessable = (code: string, message: string, details?: ApiErrorDetails) =>
  new ApiError(422, code, message, details);
export const unavailable = (message: string) => new ApiError(503, 'temporarily_unavailable', message);
