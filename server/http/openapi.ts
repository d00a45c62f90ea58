import type { ApiRoute } from './route-kit';

/** The error answers a route can give, from what it declares. */
function errorsOf(r: ApiRoute): [string, string][] {
  const errors: [string, string][] = [['401', 'Not signed in']];
  if (r.body) errors.push(['400', 'The body is not valid (bad-body), or a value is unknown']);
  if (r.access) {
    errors.push(['403', 'case-restricted: only its owner, leads and admins see this case']);
    errors.push(['404', 'case-not-found']);
  }
  if (r.method === 'patch')
    errors.push(['409', 'illegal-transition {allowed} or closure-incomplete {missing}']);
  if (r.body?.version)
    errors.push(['412', 'version-conflict {current}: the case changed since that version']);
  return errors;
}

/** The OpenAPI document, generated from the same route table the app serves. */
export function openApiDocument(routes: ApiRoute[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = '/api' + r.path.replace(/:(\w+)/g, '{$1}');
    const params = [
      ...[...r.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...Object.entries(r.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: false,
        description,
        schema: { type: 'string' },
      })),
    ];
    paths[path] ??= {};
    paths[path][r.method] = {
      summary: r.summary,
      security: [{ bearer: [] }, { session: [] }],
      parameters: params,
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: Object.fromEntries(
                      Object.entries(r.body).map(([name, description]) => [name, { description }]),
                    ),
                  },
                },
              },
            },
          }
        : {}),
      responses: {
        '200': { description: 'OK' },
        ...Object.fromEntries(
          errorsOf(r).map(([code, description]) => [
            code,
            {
              description,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            },
          ]),
        ),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tocsin API', version: '0.1.0' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        // The PWA's session (`__Host-tocsin` over https); writes also send X-CSRF-Token.
        session: { type: 'apiKey', in: 'cookie', name: 'tocsin' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: { error: { type: 'string' }, message: { type: 'string' } },
          additionalProperties: true,
        },
      },
    },
  };
}
