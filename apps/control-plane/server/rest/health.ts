/** GET /api/health: 200 when the server and its database answer, 503 (with the reason) when the database does not. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DbHealthMonitor } from '../db-health.ts';

export function healthHandler(dbHealth: DbHealthMonitor) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    const database = dbHealth.current;
    const body = JSON.stringify({ status: database.ok ? 'ok' : 'database_unreachable', database });
    res.writeHead(database.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
  };
}
