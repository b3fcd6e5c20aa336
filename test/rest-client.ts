import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { TestApp } from './helpers.js';

// ajv-formats is CommonJS: its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface RestResult {
  status: number;
  headers: Headers;
  /** The parsed JSON body, the text of any other body, or undefined when there is none. */
  body: any;
}

/**
 * REST calls whose answers are checked against the app's own OpenAPI document: the operation is
 * found by method and path template, and the body must match the schema documented for its status
 * (a status the operation does not document fails the call), with every header documented as
 * always sent. Router errors on paths or methods that
 * have no operation (404, 405) must match the error schema.
 */
export async function createRestClient(t: TestApp) {
  const document = (await (await t.http('GET', '/openapi.json')).json()) as any;
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema(document, 'openapi.json');
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
  }));

  function check(schema: object, body: unknown, what: string) {
    const validate = ajv.compile(schema);
    if (!validate(body)) {
      throw new Error(`${what} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
    }
  }

  async function rest(
    method: string,
    path: string,
    options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<RestResult> {
    const res = await t.http(method, path, options);
    const text = await res.text();
    const what = `${method} ${path} → ${res.status}`;
    const type = res.headers.get('content-type') ?? '';
    const body = text && type.startsWith('application/json') ? JSON.parse(text) : text || undefined;
    const template = templates.find((p) => p.pattern.test(path.split('?')[0]!))?.template;
    const operation = template && document.paths[template][method === 'HEAD' ? 'get' : method.toLowerCase()];
    if (!operation) {
      if (res.status !== 404 && res.status !== 405) throw new Error(`${what}: no documented operation`);
      check({ $ref: 'openapi.json#/components/schemas/Error' }, body, what);
    } else {
      const response = operation.responses[String(res.status)];
      if (!response) throw new Error(`${what}: status not documented`);
      // Every header the document says this answer always carries (Location, Retry-After, …) is there.
      for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
        const required = header.$ref ? document.components.headers[header.$ref.split('/').pop()].required : header.required;
        if (required && !res.headers.has(name)) throw new Error(`${what}: no ${name} header`);
      }
      const schema = response.content?.['application/json']?.schema;
      if (method === 'HEAD' || res.status === 204) {
        if (text !== '') throw new Error(`${what}: a body where none belongs`);
      } else if (schema) {
        if (!type.startsWith('application/json')) throw new Error(`${what}: content-type ${type}`);
        check(schema.$ref ? { $ref: `openapi.json${schema.$ref}` } : schema, body, what);
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  return { document, rest, ajv };
}
