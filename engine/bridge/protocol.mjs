// Translation between the GraphQL protocol that Prisma Client Python speaks
// and the JSON protocol, the only one the WebAssembly query engine understands.
import { Kind, parse } from 'graphql';

export class ProtocolError extends Error {}

// Root field = action prefix + model name (+ "OrThrow"); e.g. findFirstUserOrThrow.
const MODEL_ACTIONS = [
  'findUnique', 'findFirst', 'findMany', 'createOne', 'createMany', 'updateOne', 'updateMany',
  'deleteOne', 'deleteMany', 'upsertOne', 'aggregate', 'groupBy',
];
const RAW_ACTIONS = new Set(['queryRaw', 'executeRaw']);
const OR_THROW = 'OrThrow';

/**
 * The model names a datamodel declares.
 * @param {string} datamodel
 * @returns {Set<string>}
 */
export function modelNames(datamodel) {
  return new Set(Array.from(datamodel.matchAll(/^\s*model\s+(\w+)\s*\{/gm), (match) => match[1]));
}

/**
 * @typedef {{ alias: string, request: { modelName?: string, action: string, query: object } }} TranslatedQuery
 */

/**
 * Translate one GraphQL-protocol request body (`{query, variables}`) to a JSON-protocol request.
 * @param {{ query?: unknown }} body
 * @param {Set<string>} models
 * @returns {TranslatedQuery}
 */
export function translateQuery(body, models) {
  if (typeof body?.query !== 'string') throw new ProtocolError('Expected a JSON object with a "query" string.');
  let document;
  try {
    document = parse(body.query, { noLocation: true });
  } catch (error) {
    throw new ProtocolError(`Invalid GraphQL: ${/** @type {Error} */ (error).message}`);
  }
  const [operation] = document.definitions;
  if (document.definitions.length !== 1 || operation.kind !== Kind.OPERATION_DEFINITION) {
    throw new ProtocolError('Expected exactly one GraphQL operation.');
  }
  const fields = operation.selectionSet.selections;
  if (fields.length !== 1 || fields[0].kind !== Kind.FIELD) throw new ProtocolError('Expected exactly one root field.');
  const [root] = /** @type {import('graphql').FieldNode[]} */ (fields);
  const { modelName, action } = splitRootField(root.name.value, models);
  return {
    alias: root.alias?.value ?? root.name.value,
    request: { ...(modelName ? { modelName } : {}), action, query: fieldQuery(root) },
  };
}

/**
 * @param {string} name
 * @param {Set<string>} models
 */
function splitRootField(name, models) {
  if (RAW_ACTIONS.has(name)) return { modelName: undefined, action: name };
  for (const prefix of MODEL_ACTIONS) {
    if (!name.startsWith(prefix)) continue;
    let model = name.slice(prefix.length);
    let action = prefix;
    if (model.endsWith(OR_THROW) && !models.has(model)) {
      model = model.slice(0, -OR_THROW.length);
      action += OR_THROW;
    }
    if (models.has(model)) return { modelName: model, action };
  }
  throw new ProtocolError(`Unknown operation ${name}.`);
}

/**
 * @param {import('graphql').FieldNode} field
 * @returns {{ arguments: Record<string, unknown>, selection: Record<string, unknown> }}
 */
function fieldQuery(field) {
  return {
    arguments: Object.fromEntries((field.arguments ?? []).map((argument) => [argument.name.value, jsonValue(argument.value)])),
    selection: field.selectionSet ? selection(field.selectionSet) : {},
  };
}

/** @param {import('graphql').SelectionSetNode} selectionSet */
function selection(selectionSet) {
  /** @type {Record<string, unknown>} */
  const result = {};
  for (const node of selectionSet.selections) {
    if (node.kind !== Kind.FIELD) throw new ProtocolError('Fragments are not supported.');
    const plain = !node.selectionSet && !node.arguments?.length;
    result[node.name.value] = plain ? true : fieldQuery(node);
  }
  return result;
}

/**
 * A GraphQL literal as a JSON-protocol value. Integers beyond 2^53 travel as
 * tagged BigInt so that they keep every digit.
 * @param {import('graphql').ValueNode} node
 * @returns {unknown}
 */
function jsonValue(node) {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT: {
      const number = Number(node.value);
      return Number.isSafeInteger(number) ? number : { $type: 'BigInt', value: node.value };
    }
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(jsonValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, jsonValue(field.value)]));
    default:
      throw new ProtocolError(`Unsupported GraphQL value ${node.kind} (variables are not used by Prisma Client Python).`);
  }
}

/**
 * A JSON-protocol result value in the untagged shape of the GraphQL protocol:
 * DateTime as ISO text, Decimal and BigInt as text, Bytes as base64, Json parsed.
 * @param {unknown} value
 * @returns {unknown}
 */
export function untagged(value) {
  if (Array.isArray(value)) return value.map(untagged);
  if (value === null || typeof value !== 'object') return value;
  const record = /** @type {Record<string, unknown>} */ (value);
  if (typeof record.$type === 'string' && 'value' in record) {
    return record.$type === 'Json' ? JSON.parse(/** @type {string} */ (record.value)) : record.value;
  }
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, untagged(inner)]));
}

/**
 * Give a single JSON-protocol response the GraphQL protocol's shape: `{data: {<alias>: ...}}`, errors as they are.
 * @param {any} response
 * @param {string} alias
 */
export function graphqlResponse(response, alias) {
  if (response.errors) return { errors: response.errors };
  const [value] = Object.values(response.data ?? {});
  return { data: { [alias]: untagged(value) } };
}
