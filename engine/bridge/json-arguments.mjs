// Json values in arguments. Prisma Client Python sends every Json value as a
// string holding its JSON text (prisma/_builder.py, serialize_json), which the
// GraphQL protocol parses where the schema expects Json. In the JSON protocol
// a plain string is a JSON *string* value: the bridge must say which strings
// are JSON text, as `{"$type": "Json", "value": text}`, or `{"a": 1}` would be
// stored as the string "{\"a\": 1}". Which arguments hold Json follows from the
// datamodel: each model's Json and Json[] fields and its relations.

/**
 * @typedef {{ json: Set<string>, jsonLists: Set<string>, relations: Map<string, string>, reachesJson: boolean }} ModelShape
 * @typedef {Map<string, ModelShape>} DatamodelShape the models by name
 */

// A field line inside a model block: name, type, `[]` or `?`.
const FIELD = /^\s*(\w+)\s+(\w+)(\[\]|\?)?/;

/**
 * The models a datamodel declares, by name, with their Json fields and relations.
 * @param {string} datamodel
 * @returns {DatamodelShape}
 */
export function datamodelShape(datamodel) {
  // A block ends at the first line that is a closing brace (a default value may hold braces).
  const blocks = Array.from(datamodel.matchAll(/^\s*model\s+(\w+)\s*\{([\s\S]*?)^\s*\}/gm), ([, name, body]) => ({ name, body }));
  const names = new Set(blocks.map((block) => block.name));
  /** @type {DatamodelShape} */
  const shape = new Map();
  for (const { name, body } of blocks) {
    /** @type {ModelShape} */
    const model = { json: new Set(), jsonLists: new Set(), relations: new Map(), reachesJson: false };
    for (const line of body.split('\n')) {
      const match = FIELD.exec(line.replace(/\/\/.*$/, ''));
      if (!match) continue;
      const [, field, type, modifier] = match;
      if (type === 'Json') (modifier === '[]' ? model.jsonLists : model.json).add(field);
      else if (names.has(type)) model.relations.set(field, type);
    }
    shape.set(name, model);
  }
  markModelsReachingJson(shape);
  return shape;
}

/**
 * Mark each model whose arguments can hold Json: its own fields, or a related model's, at any depth.
 * @param {DatamodelShape} shape
 */
function markModelsReachingJson(shape) {
  for (const model of shape.values()) model.reachesJson = model.json.size > 0 || model.jsonLists.size > 0;
  let changed = true;
  while (changed) {
    changed = false;
    for (const model of shape.values()) {
      if (model.reachesJson) continue;
      if (Array.from(model.relations.values()).some((related) => shape.get(related)?.reachesJson)) {
        model.reachesJson = true;
        changed = true;
      }
    }
  }
}

/** @param {string} text */
const jsonValue = (text) => ({ $type: 'Json', value: text });

/**
 * Strings (at any list depth) as Json values; anything else as it is.
 * @param {unknown} value
 * @returns {unknown}
 */
function tagJson(value) {
  if (typeof value === 'string') return jsonValue(value);
  return Array.isArray(value) ? value.map(tagJson) : value;
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Apply `tag` to the value, or to each element of a list.
 * @param {unknown} value
 * @param {(one: unknown) => unknown} tag
 */
const eachOf = (value, tag) => (Array.isArray(value) ? value.map(tag) : tag(value));

/**
 * Copy of an object with `tag` applied to the values of the listed keys.
 * @param {unknown} value
 * @param {Record<string, (inner: unknown) => unknown>} taggers
 */
function withKeys(value, taggers) {
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, taggers[key] ? taggers[key](inner) : inner]));
}

// Json filter operations whose operand is Json (`path` is String[], `string_*` String).
const JSON_FILTER_OPERANDS = ['equals', 'not', 'array_contains', 'array_starts_with', 'array_ends_with', 'lt', 'lte', 'gt', 'gte'];
const AGGREGATES = ['_count', '_min', '_max', '_avg', '_sum'];
const RELATION_FILTERS = ['is', 'isNot', 'some', 'every', 'none'];

/**
 * A Json field's filter: a value (equals), or operations, aggregates included (groupBy's having).
 * @param {unknown} filter
 * @returns {unknown}
 */
function jsonFilter(filter) {
  if (!isObject(filter)) return tagJson(filter);
  return withKeys(filter, {
    ...Object.fromEntries(JSON_FILTER_OPERANDS.map((key) => [key, tagJson])),
    ...Object.fromEntries(AGGREGATES.map((key) => [key, jsonFilter])),
  });
}

/** A Json[] field's filter: equals, has, hasEvery, hasSome. @param {unknown} filter */
const jsonListFilter = (filter) => (isObject(filter) ? withKeys(filter, { equals: tagJson, has: tagJson, hasEvery: tagJson, hasSome: tagJson }) : filter);

/** A Json[] field's value in data: a list, or `set` / `push`. @param {unknown} value */
const jsonListData = (value) => (isObject(value) ? withKeys(value, { set: tagJson, push: tagJson }) : tagJson(value));

export class JsonArguments {
  /** @param {DatamodelShape} shape */
  constructor(shape) {
    this.shape = shape;
  }

  /**
   * The root field's arguments and selection with their Json values tagged.
   * @param {string | undefined} modelName
   * @param {{ arguments: Record<string, unknown>, selection: Record<string, unknown> }} query
   */
  query(modelName, query) {
    const model = modelName === undefined ? undefined : this.shape.get(modelName);
    if (!model?.reachesJson) return query;
    const where = (/** @type {unknown} */ value) => this.where(modelName, value);
    const data = (/** @type {unknown} */ value) => eachOf(value, (one) => this.data(modelName, one));
    return {
      arguments: withKeys(query.arguments, { where, cursor: where, having: where, data, create: data, update: data }),
      selection: this.selection(modelName, query.selection),
    };
  }

  /**
   * A selection: relation fields' arguments (where, cursor) and `_count`'s relation filters.
   * @param {string | undefined} modelName
   * @param {Record<string, unknown>} selection
   * @returns {Record<string, unknown>}
   */
  selection(modelName, selection) {
    const model = modelName === undefined ? undefined : this.shape.get(modelName);
    if (!model?.reachesJson || !isObject(selection)) return selection;
    return Object.fromEntries(Object.entries(selection).map(([field, inner]) => {
      if (!isObject(inner)) return [field, inner];
      const related = field === '_count' ? modelName : model.relations.get(field);
      if (related === undefined) return [field, inner];
      const where = (/** @type {unknown} */ value) => this.where(related, value);
      const selected = /** @type {{ arguments?: Record<string, unknown>, selection?: Record<string, unknown> }} */ (inner);
      return [field, {
        ...selected,
        ...(selected.arguments ? { arguments: withKeys(selected.arguments, { where, cursor: where }) } : {}),
        ...(selected.selection ? { selection: this.selection(related, selected.selection) } : {}),
      }];
    }));
  }

  /**
   * A filter on a model (where, where unique, having), with AND / OR / NOT and relation filters.
   * @param {string | undefined} modelName
   * @param {unknown} filter
   * @returns {unknown}
   */
  where(modelName, filter) {
    const model = modelName === undefined ? undefined : this.shape.get(modelName);
    if (!model?.reachesJson) return filter;
    if (Array.isArray(filter)) return filter.map((one) => this.where(modelName, one));
    if (!isObject(filter)) return filter;
    const self = (/** @type {unknown} */ value) => this.where(modelName, value);
    /** @type {Record<string, (inner: unknown) => unknown>} */
    const taggers = { AND: self, OR: self, NOT: self };
    for (const field of model.json) taggers[field] = jsonFilter;
    for (const field of model.jsonLists) taggers[field] = jsonListFilter;
    for (const [field, related] of model.relations) taggers[field] = (value) => this.relationFilter(related, value);
    return withKeys(filter, taggers);
  }

  /**
   * A relation filter: is / isNot / some / every / none, or the related model's filter itself (to-one).
   * @param {string} related
   * @param {unknown} filter
   */
  relationFilter(related, filter) {
    if (!isObject(filter)) return filter;
    const keys = Object.keys(filter);
    if (keys.length > 0 && keys.every((key) => RELATION_FILTERS.includes(key))) {
      const where = (/** @type {unknown} */ value) => this.where(related, value);
      return withKeys(filter, Object.fromEntries(RELATION_FILTERS.map((key) => [key, where])));
    }
    return this.where(related, filter);
  }

  /**
   * A model's data (create, update, createMany's rows), nested writes included.
   * @param {string} modelName
   * @param {unknown} data
   * @returns {unknown}
   */
  data(modelName, data) {
    const model = this.shape.get(modelName);
    if (!model?.reachesJson || !isObject(data)) return data;
    /** @type {Record<string, (inner: unknown) => unknown>} */
    const taggers = {};
    for (const field of model.json) taggers[field] = tagJson;
    for (const field of model.jsonLists) taggers[field] = jsonListData;
    for (const [field, related] of model.relations) taggers[field] = (value) => this.nestedWrites(related, value);
    return withKeys(data, taggers);
  }

  /**
   * The nested writes of a relation field: create, connectOrCreate, upsert, createMany, update, updateMany,
   * delete, deleteMany, connect, set, disconnect.
   * @param {string} related
   * @param {unknown} writes
   */
  nestedWrites(related, writes) {
    const model = this.shape.get(related);
    if (!model?.reachesJson) return writes;
    const where = (/** @type {unknown} */ value) => this.where(related, value);
    const data = (/** @type {unknown} */ value) => eachOf(value, (one) => this.data(related, one));
    const whereAndData = (/** @type {unknown} */ value) => withKeys(value, { where, data, create: data, update: data });
    // A to-one `update` is the data itself, or `{ where, data }` (a model with a field named data is the data).
    const update = (/** @type {unknown} */ value) => eachOf(value, (one) =>
      isObject(one) && 'data' in one && !model.json.has('data') && !model.jsonLists.has('data') && !model.relations.has('data')
        ? whereAndData(one)
        : this.data(related, one));
    return withKeys(writes, {
      create: data,
      connectOrCreate: (value) => eachOf(value, whereAndData),
      upsert: (value) => eachOf(value, whereAndData),
      createMany: (value) => withKeys(value, { data }),
      update,
      updateMany: (value) => eachOf(value, whereAndData),
      delete: (value) => eachOf(value, where),
      deleteMany: (value) => eachOf(value, where),
      connect: (value) => eachOf(value, where),
      set: (value) => eachOf(value, where),
      disconnect: (value) => eachOf(value, where),
    });
  }
}
