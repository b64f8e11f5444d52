// A validator for the subset of JSON Schema that schema/pipelines.schema.json uses: type (object,
// integer, number, boolean, string), properties, required, additionalProperties (false or a schema),
// propertyNames, pattern, minimum, maximum, const, anyOf and local $ref. A dependency such as Ajv would
// do more, but this subset reads in one screen, reports every issue (not the first) with a path and an
// expectation in the words of the other option errors, and keeps the package free of code generation.
import { isPlainObject, received } from './validate.js';

/** The JSON Schema keywords this walker understands; anything else in a schema is annotation. */
export interface Schema {
  type?: 'object' | 'integer' | 'number' | 'boolean' | 'string';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | false;
  propertyNames?: Schema;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  const?: unknown;
  anyOf?: Schema[];
  $ref?: string;
  $defs?: Record<string, Schema>;
  default?: unknown;
  description?: string;
}

/** One thing wrong in the data: where, what was expected there, and what was found. */
export interface ConfigIssue {
  /** Dotted path from the root, e.g. `pipelines.payments.retry.maxAttempts`. */
  readonly path: string;
  readonly expected: string;
  /** The value found, rendered short and safe for a log line. */
  readonly received: string;
}

/** Follows a local `$ref` (`#/$defs/name`). */
export function deref(root: Schema, schema: Schema): Schema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.replace('#/$defs/', '');
  const target = root.$defs?.[name];
  if (target === undefined) throw new Error(`schema: unresolved $ref ${schema.$ref}`);
  return deref(root, target);
}

function describe(root: Schema, given: Schema): string {
  const schema = deref(root, given);
  if (schema.anyOf !== undefined) return schema.anyOf.map((s) => describe(root, s)).join(' or ');
  if ('const' in schema) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const kind = schema.type === 'integer' ? 'an integer' : 'a number';
      const min = schema.minimum ?? Number.NEGATIVE_INFINITY;
      if (schema.maximum === undefined) return `${kind} of at least ${min}`;
      return `${kind} from ${min} to ${schema.maximum}`;
    }
    case 'boolean':
      return 'a boolean';
    case 'string':
      return schema.pattern === undefined ? 'a string' : `a string matching /${schema.pattern}/`;
    case 'object':
      return 'an options object';
    default:
      return 'any value';
  }
}

function typeMatches(schema: Schema, value: unknown): boolean {
  switch (schema.type) {
    case 'object':
      return isPlainObject(value);
    case 'integer':
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    default:
      return 'const' in schema ? Object.is(schema.const, value) : true;
  }
}

/** Appends to `issues` every way `value` fails `schema`, at `path`. */
export function walk(root: Schema, given: Schema, value: unknown, path: string, issues: ConfigIssue[]): void {
  const schema = deref(root, given);
  const fail = (expected: string) => issues.push({ path, expected, received: received(value) });
  if (schema.anyOf !== undefined) {
    const branches = schema.anyOf.map((s) => deref(root, s));
    // The branch of the value's own type explains best what is wrong inside it.
    const branch = branches.find((s) => typeMatches(s, value));
    if (branch === undefined) fail(describe(root, schema));
    else if (branch.type === 'object') walk(root, branch, value, path, issues);
    else {
      // A scalar out of range: say every form the option takes (`false or an integer from 1 to …`).
      const inner: ConfigIssue[] = [];
      walk(root, branch, value, path, inner);
      if (inner.length > 0) fail(describe(root, schema));
    }
    return;
  }
  if ('const' in schema) {
    if (!Object.is(schema.const, value)) fail(describe(root, schema));
    return;
  }
  if (schema.type === undefined) return;
  if (!typeMatches(schema, value)) return void fail(describe(root, schema));
  if (schema.type === 'integer' || schema.type === 'number') {
    const n = value as number;
    const outside =
      !Number.isFinite(n) ||
      (schema.type === 'integer' && !Number.isInteger(n)) ||
      (schema.minimum !== undefined && n < schema.minimum) ||
      (schema.maximum !== undefined && n > schema.maximum);
    if (outside) fail(describe(root, schema));
    return;
  }
  if (schema.type === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value as string)) {
      fail(describe(root, schema));
    }
    return;
  }
  if (schema.type !== 'object') return;
  const object = value as Record<string, unknown>;
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  for (const key of schema.required ?? []) {
    if (object[key] === undefined) {
      const property = schema.properties?.[key];
      issues.push({
        path: at(key),
        expected: property === undefined ? 'a value' : describe(root, property),
        received: 'undefined',
      });
    }
  }
  for (const [key, child] of Object.entries(object)) {
    if (schema.propertyNames !== undefined) {
      const before = issues.length;
      walk(root, schema.propertyNames, key, at(key), issues);
      if (issues.length > before) {
        const issue = issues[before]!;
        issues[before] = { ...issue, expected: `a name that is ${issue.expected}` };
        continue;
      }
    }
    const property = schema.properties?.[key];
    if (property !== undefined) walk(root, property, child, at(key), issues);
    else if (schema.additionalProperties === false) {
      const known = Object.keys(schema.properties ?? {}).join(', ');
      issues.push({ path: at(key), expected: `no such option (one of ${known})`, received: received(child) });
    } else if (schema.additionalProperties !== undefined) {
      walk(root, schema.additionalProperties, child, at(key), issues);
    }
  }
}
