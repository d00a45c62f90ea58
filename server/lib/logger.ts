import pino from 'pino';

export type Logger = pino.Logger;

/** Structured logs. Anything that looks like a credential is redacted wherever it appears. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { app: 'tocsin' },
    redact: {
      paths: [
        'password',
        'pass',
        'token',
        'authorization',
        '*.password',
        '*.pass',
        '*.token',
        '*.authorization',
        'req.headers.authorization',
        'req.headers.cookie',
        'auth.pass',
        '*.auth.pass',
      ],
      censor: '[redacted]',
    },
  });
}
