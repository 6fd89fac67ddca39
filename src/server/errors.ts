/**
 * One error type for the whole server. Routes, services and adapters throw AppError;
 * the HTTP layer turns it into `{"error":{"code","message"}}` with `status`.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 400, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} was not found.`, 404);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);

/**
 * A problem that must stop start-up. main.ts prints its message as one line (no stack trace)
 * and exits with status 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
