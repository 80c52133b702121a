import pino from 'pino';

/**
 * One structured logger. Authorization headers and tokens are redacted wherever they appear,
 * so no secret reaches a log line.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  redact: {
    paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.token', 'token', '*.authorization'],
    censor: '[redacted]',
  },
});
