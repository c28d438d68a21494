/** An error with an HTTP status and a reason the client can act on. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (m: string, details?: unknown) => new HttpError(400, m, details);
export const notFound = (m: string) => new HttpError(404, m);
export const conflict = (m: string) => new HttpError(409, m);
export const forbidden = (m: string) => new HttpError(403, m);
export const paymentRequired = (m: string) => new HttpError(402, m);
