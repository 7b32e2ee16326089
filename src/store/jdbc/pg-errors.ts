import { QmqError } from '../../util/errors.js';

/**
 * Turns what `pg` throws into an error an operator can act on. The SQLSTATE codes are
 * PostgreSQL's (Appendix A, "PostgreSQL Error Codes"); socket errors are Node's.
 */
export function describeDatabase(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable connection string)';
  }
}

/** Errors that mean the configuration is wrong: retrying will not help. */
const CONFIG_SQLSTATES: Record<string, string> = {
  '28P01': 'wrong password',
  '28000': 'the server rejected the login (pg_hba.conf or role)',
  '3D000': 'the database does not exist',
  '42501': 'the role lacks a privilege it needs',
};

export function isConfigError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code !== undefined && code in CONFIG_SQLSTATES;
}

/** A socket-level or server-shutdown failure: the connection is gone and must be rebuilt. */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err.code && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(err.code)) return true;
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
  if (err.code && /^(57P0[123]|08...)$/.test(err.code)) return true;
  return /Connection terminated|connection timeout|Query read timeout|Client has encountered a connection error|not queryable/i.test(err.message ?? '');
}

export function databaseError(connectionString: string, what: string, e: unknown): QmqError {
  const err = e as { code?: string; message?: string };
  const where = describeDatabase(connectionString);
  const hint = err.code ? CONFIG_SQLSTATES[err.code] : undefined;
  if (hint !== undefined) {
    return new QmqError('CONFIG_INVALID', `PostgreSQL at ${where}: ${hint} (${err.code}: ${err.message}) while ${what}`, { cause: e });
  }
  if (isConnectionError(e)) {
    return new QmqError('STORE_IO', `cannot reach PostgreSQL at ${where} while ${what}: ${err.code ?? ''} ${err.message ?? String(e)}`.replace(/  +/g, ' '), { cause: e });
  }
  return new QmqError('STORE_IO', `PostgreSQL at ${where} failed while ${what}: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`, { cause: e });
}
