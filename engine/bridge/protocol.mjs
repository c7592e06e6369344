// Translation between the GraphQL protocol that Prisma Client Python speaks
// and the JSON protocol, the only one the WebAssembly query engine understands.
// The parser alone: the package's root module loads all of graphql-js, a tenth of a second at every start.
import { Kind, parse } from 'graphql/language/index.mjs';
import { JsonArguments, datamodelShape } from './json-arguments.mjs';

export class ProtocolError extends Error {}

// Root field = action prefix + model name (+ "OrThrow"); e.g. findFirstUserOrThrow.
const MODEL_ACTIONS = [
  'findUnique', 'findFirst', 'findMany', 'createOne', 'createMany', 'updateOne', 'updateMany',
  'deleteOne', 'deleteMany', 'upsertOne', 'aggregate', 'groupBy',
];
const RAW_ACTIONS = new Set(['queryRaw', 'executeRaw']);
const OR_THROW = 'OrThrow';

/**
 * The models a datamodel declares, by name, with what the translation needs of each (json-arguments.mjs).
 * @param {string} datamodel
 * @returns {import('./json-arguments.mjs').DatamodelShape}
 */
export function modelNames(datamodel) {
  return datamodelShape(datamodel);
}

/**
 * @typedef {{ alias: string, request: { modelName?: string, action: string, query: object } | SerializedRequest }} TranslatedQuery
 */

/**
 * A JSON-protocol request already serialised, passed to the engine as it is.
 */
class SerializedRequest {
  /** @param {string} json */
  constructor(json) {
    this.json = json;
  }
}

/**
 * The JSON text of a JSON-protocol request.
 * @param {object} request
 */
export function requestJson(request) {
  return request instanceof SerializedRequest ? request.json : JSON.stringify(request);
}

/**
 * Translate one GraphQL-protocol request body (`{query, variables}`) to a JSON-protocol request.
 * @param {{ query?: unknown }} body
 * @param {import('./json-arguments.mjs').DatamodelShape} models
 * @returns {TranslatedQuery}
 */
export function translateQuery(body, models) {
  if (typeof body?.query !== 'string') throw new ProtocolError('Expected a JSON object with a "query" string.');
  const raw = rawQuery(body.query);
  if (raw) return raw;
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
    request: { ...(modelName ? { modelName } : {}), action, query: new JsonArguments(models).query(modelName, fieldQuery(root)) },
  };
}

// Prisma Client Python renders every raw query alike (prisma/_builder.py; acams_db/operations/generate.py leaves out its
// indentation): mutation {\nresult: executeRaw\n(\nquery: "<SQL>"\nparameters: "<the parameters as JSON>"\n)\n}
// The graphql parser reads string literals a character at a time, and the
// request is then serialised again for the engine: for the megabytes of
// parameters of a bulk statement, that was a fifth of its time. Such a query
// is recognised here and its two literals, JSON strings as well, are passed on
// unchanged; anything else takes the graphql parser.
const IGNORED = '[\\t\\n\\r ,\\uFEFF]*'; // GraphQL's ignored tokens: white space, line ends, commas, byte order mark
const RAW_QUERY_START = new RegExp(
  `^${IGNORED}mutation${IGNORED}\\{${IGNORED}result${IGNORED}:${IGNORED}(executeRaw|queryRaw)${IGNORED}\\(${IGNORED}query${IGNORED}:${IGNORED}`,
);
const RAW_QUERY_MIDDLE = new RegExp(`${IGNORED}parameters${IGNORED}:${IGNORED}`, 'y');
const RAW_QUERY_END = new RegExp(`${IGNORED}\\)${IGNORED}\\}${IGNORED}$`, 'y');

/**
 * The JSON-protocol request of a raw query in Prisma Client Python's rendering, else undefined.
 * @param {string} text
 * @returns {TranslatedQuery | undefined}
 */
function rawQuery(text) {
  const start = RAW_QUERY_START.exec(text);
  if (!start) return undefined;
  const queryStart = start[0].length;
  const query = jsonStringLiteral(text, queryStart, closingQuote(text, queryStart));
  if (!query) return undefined;
  RAW_QUERY_MIDDLE.lastIndex = queryStart + query.length;
  if (!RAW_QUERY_MIDDLE.test(text)) return undefined;
  // The parameters, the last literal, end at the last quote: no scan through their escaped quotes.
  const parametersEnd = text.lastIndexOf('"');
  const parameters = jsonStringLiteral(text, RAW_QUERY_MIDDLE.lastIndex, parametersEnd);
  RAW_QUERY_END.lastIndex = parametersEnd + 1;
  if (!parameters || !RAW_QUERY_END.test(text)) return undefined;
  const [, action] = start;
  return {
    alias: 'result',
    request: new SerializedRequest(
      `{"action":"${action}","query":{"arguments":{"query":${query},"parameters":${parameters}},"selection":{}}}`,
    ),
  };
}

/**
 * The position of the quote that closes the string literal opening at `start`, or -1.
 * @param {string} text
 * @param {number} start
 */
function closingQuote(text, start) {
  let end = start;
  do {
    end = text.indexOf('"', end + 1);
  } while (end !== -1 && escaped(text, end));
  return end;
}

/**
 * Whether the character at `position` follows an odd number of backslashes.
 * @param {string} text
 * @param {number} position
 */
function escaped(text, position) {
  let backslashes = 0;
  while (text[position - 1 - backslashes] === '\\') backslashes += 1;
  return backslashes % 2 === 1;
}

/**
 * The text from `start` to the quote at `end`, when it is one GraphQL string
 * literal that is also a JSON string of the same value (JSON lacks GraphQL's
 * block strings, \u{...} escapes and raw tabs; JSON.parse decides), else undefined.
 * @param {string} text
 * @param {number} start
 * @param {number} end
 */
function jsonStringLiteral(text, start, end) {
  if (end <= start || text[start] !== '"' || text.startsWith('"""', start)) return undefined;
  const literal = text.slice(start, end + 1);
  if (literal.includes('\\u{')) return undefined;
  try {
    JSON.parse(literal);
  } catch {
    return undefined;
  }
  return literal;
}

/**
 * @param {string} name
 * @param {Map<string, unknown>} models
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
 * A JSON-protocol result value in the untagged shape of the GraphQL protocol
 * (query-engine core, response_ir: convert_prisma_value_graphql_protocol):
 * DateTime as ISO text, Decimal and BigInt as text, Bytes as base64, and Json
 * as its JSON text, which Prisma Client Python parses (pydantic's Json).
 * @param {unknown} value
 * @returns {unknown}
 */
function untagged(value) {
  if (Array.isArray(value)) return value.map(untagged);
  if (value === null || typeof value !== 'object') return value;
  const record = /** @type {Record<string, unknown>} */ (value);
  if (typeof record.$type === 'string' && 'value' in record) return record.value;
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, untagged(inner)]));
}

/**
 * Give a single JSON-protocol response the GraphQL protocol's shape: `{data: {<alias>: ...}}`, errors as they are.
 * Raw results are the same in both protocols (columns, types, rows; Json values as JSON), and a Json
 * column may hold any object: they are passed on untouched.
 * @param {any} response
 * @param {string} alias
 */
export function graphqlResponse(response, alias) {
  if (response.errors) return { errors: response.errors };
  const [[key, value]] = Object.entries(response.data ?? { none: null });
  return { data: { [alias]: RAW_ACTIONS.has(key) ? value : untagged(value) } };
}
