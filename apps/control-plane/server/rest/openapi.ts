/** The OpenAPI 3.1 document of /api/v1, generated from the route table's zod schemas (zod-openapi). */
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { z } from 'zod';
import { REST_ROUTES } from './routes.ts';

export const REST_BASE = '/api/v1';

const ZError = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).nullable().optional() }) }).meta({ id: 'Error' });

export function openApiDocument(): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of REST_ROUTES) {
    const errors = Object.fromEntries(
      [['400', 'bad input'], ['401', 'no, bad, expired or revoked API token'], ['403', 'the role is not enough'], ['404', 'no such thing'], ['409', 'the state changed'], ['412', 'refused in the cluster as it is']].map(([code, description]) => [code, { description, content: { 'application/json': { schema: ZError } } }]),
    );
    paths[`${REST_BASE}${r.path}`] = {
      ...paths[`${REST_BASE}${r.path}`],
      [r.method]: {
        summary: r.summary,
        security: [{ bearer: [] }],
        ...(r.params || r.query ? { requestParams: { ...(r.params ? { path: r.params } : {}), ...(r.query ? { query: r.query } : {}) } } : {}),
        ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
        responses: {
          [String(r.status ?? 200)]: { description: 'OK', content: r.stream ? { 'application/x-ndjson': { schema: z.string() } } : { 'application/json': { schema: z.unknown() } } },
          ...errors,
        },
      },
    } as ZodOpenApiPathsObject[string];
  }
  return createDocument({
    openapi: '3.1.0',
    info: { title: 'Keel control plane', version: '1', description: 'Automation API. Authenticate with `Authorization: Bearer <API token>` (create one on the API tokens page).' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  });
}
