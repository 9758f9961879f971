/**
 * Typed errors that the API's error middleware maps to JSON. Anything the client got wrong is an AppError with a 4xx
 * status; everything else is a 500 that is logged and counted, never shown in detail.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) },
    };
  }
}

/** 400: the request is malformed or a field has the wrong type or value. */
export class ValidationError extends AppError {
  constructor(message: string, field?: string, code = 'invalid_request') {
    super(400, code, message, field);
  }
}

/** 413: the body, or the table in it, exceeds a documented limit. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string, field?: string) {
    super(413, 'payload_too_large', message, field);
  }
}

/** 415: a content type this endpoint does not accept. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message, 'content-type');
  }
}

/** 422: well-formed, but inconsistent with stored state (k larger than the dataset's rows, a text column...). */
export class UnprocessableError extends AppError {
  constructor(message: string, field?: string) {
    super(422, 'unprocessable', message, field);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string, field?: string) {
    super(404, 'not_found', `${what} ${JSON.stringify(id)} does not exist`, field);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}
