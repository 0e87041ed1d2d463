/**
 * Query limits: every operation is measured before anything runs, and one that is too big is
 * refused with QUERY_TOO_COMPLEX (HTTP 400) naming the limit, its maximum and what was asked for.
 *
 * - size (characters) and tokens: checked on the raw text before it is parsed (`checkQuerySource`);
 * - depth, cost, aliases, directives, root mutation fields: checked on the parsed, validated
 *   operation with its variables (`checkOperation`, from the Apollo plugin's didResolveOperation).
 *
 * Cost: every field costs 1; a list field's selection costs once per item it can return:
 * - a list argument counts its entries (`nodes(ids)`, `learnersByExternalIds(externalIds)`: at
 *   most MAX_PAGE_SIZE);
 * - a list with `first` (the analytics lists: `soundProfile`, `weakWords`, `droppedLearners`, ...)
 *   counts its `first`, else the argument's schema default;
 * - a list directly under a field with `first`/`last` (a connection's `edges`, `eventFeed`'s
 *   `events`) counts that field's page: `first` or `last`, else its schema default, else the
 *   default its description documents (`eventFeed`: 100), else the connections' default page size;
 * - any other list counts DEFAULT_LIST_SIZE items.
 * A field that runs its own aggregate statement for each parent (a group's analytics, see
 * AGGREGATE_FIELDS) costs AGGREGATE_FIELD_COST instead of 1.
 * Sizes are clamped to the page-size cap; a variable is read from the request. Fragments are
 * measured once per use, with memoisation, so a fragment that spreads another twice at every level
 * cannot make the measuring itself exponential.
 * Introspection fields (`__schema`, `__type`) are left out of depth and cost (bounded by the
 * schema); their repeats are limited instead (checkIntrospection).
 *
 * A NUL character in any string (variables or literals) is refused once here as BAD_USER_INPUT:
 * PostgreSQL text cannot hold it, so it would otherwise fail deep inside the database driver. So is
 * an unpaired UTF-16 surrogate, which UTF-8 would silently turn into U+FFFD (two different external
 * ids or idempotency keys becoming one).
 */
import {
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  visit,
  visitWithTypeInfo,
  TypeInfo,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { AppError } from '../errors.js';
import { unstorableReason } from '../text/storable.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.js';

export interface QueryLimits {
  maxQueryChars: number;
  maxQueryTokens: number;
  maxQueryDepth: number;
  maxQueryCost: number;
  maxQueryAliases: number;
  maxQueryDirectives: number;
  maxMutationFields: number;
}

/** Items assumed for a list field without a `first` argument (jobs, words, phonemes, ...). */
export const DEFAULT_LIST_SIZE = 10;
/**
 * Page sizes documented in a field's description where its `first` has no schema default (the
 * resolver applies them): the event feed reads 100 events when `first` is omitted.
 */
const DOCUMENTED_PAGE_DEFAULTS: Readonly<Record<string, number>> = { 'Query.eventFeed': MAX_PAGE_SIZE };
/**
 * What one evaluation of a field in AGGREGATE_FIELDS costs, instead of 1: about what a page of 400
 * plain fields does. With the default cost limit (50,000) a request runs at most about 120 such
 * aggregates: one group with every analytic, a page of 20 groups with five, or 100 groups with one.
 */
export const AGGREGATE_FIELD_COST = 400;
/**
 * Fields that run their own aggregate statements for each parent object, unbatched: a group's
 * analytics (src/analytics/cohorts.ts, progress.ts) read the history of every learner in the group,
 * once per group and per distinct arguments, and compareGroups' lists both groups'. Counted as 1,
 * a page of 100 groups times 30 aliased droppedLearnerCount (3,000 aggregate statements) cost
 * 3,102. Each evaluation costs AGGREGATE_FIELD_COST, multiplied like any field by the number of
 * parents (the page of groups). Fields that batch a whole page into one statement (the Learner
 * analytics, LearnerGroup.learnerCount, Organization.weakSounds/weakWords) cost 1 as others do.
 */
const AGGREGATE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  LearnerGroup: [
    'progress', 'scoreDistribution', 'weakSounds', 'weakWords', 'soundChanges', 'hardestTexts',
    'droppedLearners', 'droppedLearnerCount', 'inactiveLearners', 'inactiveLearnerCount',
  ],
  GroupComparison: ['aspects', 'sounds'],
};

/** What one evaluation of `field` of `parent` costs, before its selection. */
function fieldCost(parent: GraphQLNamedType | undefined, field: string): number {
  return parent && AGGREGATE_FIELDS[parent.name]?.includes(field) ? AGGREGATE_FIELD_COST : 1;
}

/** `__schema` root fields (by response key) per operation: one is what every tool sends. */
const MAX_SCHEMA_FIELDS = 1;
/** `__type` root fields (by response key) per operation: a client looking up a few types at once. */
const MAX_TYPE_FIELDS = 10;

/** Uploads per request: one file, so at most one submitUtterance. */
export const MAX_SUBMITS_PER_REQUEST = 1;

export type LimitName = 'querySize' | 'tokens' | 'depth' | 'cost' | 'aliases' | 'directives' | 'mutationFields' | 'submitUtterance' | 'introspection';

export function limitError(limit: LimitName, max: number, actual: number | null, message: string): AppError {
  return new AppError('QUERY_TOO_COMPLEX', message, {
    limit,
    max,
    ...(actual === null ? {} : { actual }),
    http: { status: 400 },
  });
}

/** Size and token count of the raw query text; syntax errors are left to the parser. */
export function checkQuerySource(query: string, limits: QueryLimits): void {
  if (query.length > limits.maxQueryChars) {
    throw limitError('querySize', limits.maxQueryChars, query.length, `The query is ${query.length} characters long; the limit is ${limits.maxQueryChars}.`);
  }
  const lexer = new Lexer(new Source(query));
  let tokens = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++tokens > limits.maxQueryTokens) {
        throw limitError('tokens', limits.maxQueryTokens, null, `The query has more than ${limits.maxQueryTokens} tokens.`);
      }
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    // a lexical error: the parser reports it as GRAPHQL_PARSE_FAILED
  }
}

interface Measure {
  cost: number;
  depth: number;
}

/**
 * Introspection is left out of depth and cost: its answers are bounded by the schema, not by data,
 * and the standard introspection query (9 nested ofType, lists of types, fields, arguments) would
 * measure as deep and as costly as the limits allow. What could multiply a schema-sized answer is
 * bounded here instead: graphql-js's validation (MaxIntrospectionDepthRule) already refuses walks
 * nesting fields within fields within fields; this refuses repeats: more than one `__schema` (30
 * aliased ones were 8.6 MB and over a second of CPU), more than MAX_TYPE_FIELDS `__type`, and any
 * alias inside an introspection selection (ten aliased `fields` lists under one `__schema` were 2 MB).
 * No tool's introspection query (GraphiQL, Apollo Sandbox, graphql-codegen) does any of these.
 */
function checkIntrospection(schema: GraphQLSchema, document: DocumentNode, rootFields: string[]): void {
  for (const [field, max] of [['__schema', MAX_SCHEMA_FIELDS], ['__type', MAX_TYPE_FIELDS]] as const) {
    const n = rootFields.filter((name) => name === field).length;
    if (n > max) throw limitError('introspection', max, n, `The query asks for ${field} ${n} times; the limit is ${max} per request.`);
  }
  let aliases = 0;
  const typeInfo = new TypeInfo(schema);
  visit(document, visitWithTypeInfo(typeInfo, {
    Field(node) {
      if (node.alias && typeInfo.getParentType()?.name.startsWith('__')) aliases++;
    },
  }));
  if (aliases > 0) {
    throw limitError('introspection', 0, aliases, `The query uses ${aliases} aliases inside __schema or __type; introspection takes none.`);
  }
}

/** Depth, cost, aliases, directives and root mutation fields of the operation to execute. */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: QueryLimits,
): void {
  let aliases = 0;
  let directives = 0;
  visit(document, {
    Field(node) {
      if (node.alias) aliases++;
    },
    Directive() {
      directives++;
    },
  });
  if (aliases > limits.maxQueryAliases) {
    throw limitError('aliases', limits.maxQueryAliases, aliases, `The query uses ${aliases} aliases; the limit is ${limits.maxQueryAliases}.`);
  }
  if (directives > limits.maxQueryDirectives) {
    throw limitError('directives', limits.maxQueryDirectives, directives, `The query uses ${directives} directives; the limit is ${limits.maxQueryDirectives}.`);
  }

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const variableDefaults = new Map<string, unknown>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue?.kind === Kind.INT) variableDefaults.set(v.variable.name.value, Number(v.defaultValue.value));
  }

  // response key -> field name at the root (same key, same args: executed once)
  const rootFields = new Map<string, string>();
  const collect = (set: SelectionSetNode, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) rootFields.set(sel.alias?.value ?? sel.name.value, sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const fragment = fragments.get(sel.name.value);
        if (fragment) collect(fragment.selectionSet, seen);
      }
    }
  };
  collect(operation.selectionSet, new Set());

  if (operation.operation === 'mutation') {
    if (rootFields.size > limits.maxMutationFields) {
      throw limitError('mutationFields', limits.maxMutationFields, rootFields.size, `The mutation has ${rootFields.size} root fields; the limit is ${limits.maxMutationFields} per request.`);
    }
    const submits = [...rootFields.values()].filter((name) => name === 'submitUtterance').length;
    if (submits > MAX_SUBMITS_PER_REQUEST) {
      throw limitError('submitUtterance', MAX_SUBMITS_PER_REQUEST, submits, `Send one submitUtterance per request (this one has ${submits}).`);
    }
  }

  checkIntrospection(schema, document, [...rootFields.values()]);

  /** An Int argument's value: a literal, a variable (or its default); null when not given or null. */
  const intArg = (field: FieldNode, name: string): number | null => {
    const node = field.arguments?.find((a) => a.name.value === name);
    let value: unknown = undefined;
    if (node?.value.kind === Kind.INT) value = Number(node.value.value);
    else if (node?.value.kind === Kind.VARIABLE) {
      const variable = node.value.name.value;
      value = variable in variables ? variables[variable] : variableDefaults.get(variable);
    } else if (node && node.value.kind !== Kind.NULL) value = MAX_PAGE_SIZE;
    if (value === undefined || value === null) return null;
    return typeof value === 'number' && Number.isFinite(value) ? value : MAX_PAGE_SIZE;
  };

  /**
   * Items a paginated field can return: its `first` or `last` (whichever is given; both is refused
   * by the resolver), else the argument's schema default, else the default its description
   * documents (DOCUMENTED_PAGE_DEFAULTS), else the connections' DEFAULT_PAGE_SIZE.
   */
  const pageSizeOf = (parent: GraphQLNamedType | undefined, field: FieldNode, args: readonly GraphQLArgument[]): number => {
    let size: number | null = null;
    for (const arg of args) {
      const n = intArg(field, arg.name);
      if (n !== null) size = Math.max(size ?? 0, n);
    }
    if (size === null) {
      const withDefault = args.find((a) => typeof a.defaultValue === 'number');
      size = withDefault ? (withDefault.defaultValue as number) : DOCUMENTED_PAGE_DEFAULTS[`${parent?.name}.${field.name.value}`] ?? DEFAULT_PAGE_SIZE;
    }
    // a page above the cap is refused by the resolver (BAD_USER_INPUT naming the cap), not here
    return Math.max(0, Math.min(MAX_PAGE_SIZE, Math.floor(size)));
  };

  /** A list argument (`nodes(ids:)`, `learnersByExternalIds(externalIds:)`): one item per entry sent (an unreadable count: the cap). */
  const listArgCount = (field: FieldNode, arg: GraphQLArgument): number => {
    const node = field.arguments?.find((a) => a.name.value === arg.name);
    let n: number = MAX_PAGE_SIZE;
    if (node?.value.kind === Kind.LIST) n = node.value.values.length;
    else if (node?.value.kind === Kind.VARIABLE) {
      const value = variables[node.value.name.value];
      if (Array.isArray(value)) n = value.length;
    }
    // both take at most MAX_NODE_IDS (= MAX_PAGE_SIZE); more is refused by the resolver
    return Math.min(MAX_PAGE_SIZE, n);
  };

  /**
   * Items a field returns (1 unless it is a list), and the page its own selection's lists get: a
   * list argument counts its entries; a list with `first` its page; a list directly under a paged
   * field (a connection's `edges`, the event feed's `events`) that field's page; any other list
   * DEFAULT_LIST_SIZE.
   */
  const sizeOf = (parent: GraphQLNamedType | undefined, field: FieldNode, def: GraphQLField<unknown, unknown>, page: number | null) => {
    const sizeArgs = def.args.filter((a) => a.name === 'first' || a.name === 'last');
    const ownPage = sizeArgs.length ? pageSizeOf(parent, field, sizeArgs) : null;
    if (!isListType(getNullableType(def.type))) return { items: 1, childPage: ownPage };
    const listArg = def.args.find((a) => isListType(getNullableType(a.type)));
    return { items: listArg ? listArgCount(field, listArg) : ownPage ?? page ?? DEFAULT_LIST_SIZE, childPage: null };
  };

  const memo = new Map<string, Measure>();
  const measure = (set: SelectionSetNode, type: GraphQLNamedType | undefined, page: number | null): Measure => {
    let cost = 0;
    let depth = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        // introspection: bounded by the schema and checked apart (checkIntrospection)
        if (name === '__schema' || name === '__type') continue;
        if (name === '__typename') {
          cost += 1;
          depth = Math.max(depth, 1);
          continue;
        }
        const def = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
        if (!def) continue; // validation has refused unknown fields already
        const { items, childPage } = sizeOf(type, sel, def, page);
        const child = sel.selectionSet ? measure(sel.selectionSet, getNamedType(def.type), childPage) : { cost: 0, depth: 0 };
        cost += fieldCost(type, name) + items * child.cost;
        depth = Math.max(depth, 1 + child.depth);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        const child = measure(sel.selectionSet, t ?? undefined, page);
        cost += child.cost;
        depth = Math.max(depth, child.depth);
      } else {
        const fragment = fragments.get(sel.name.value);
        if (!fragment) continue;
        const key = `${sel.name.value}|${page}`;
        let child = memo.get(key);
        if (!child) {
          child = measure(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? undefined, page);
          memo.set(key, child);
        }
        cost += child.cost;
        depth = Math.max(depth, child.depth);
      }
    }
    return { cost, depth };
  };
  const rootType = schema.getRootType(operation.operation) ?? undefined;
  const { cost, depth } = measure(operation.selectionSet, rootType, null);
  if (depth > limits.maxQueryDepth) {
    throw limitError('depth', limits.maxQueryDepth, depth, `The query is nested ${depth} levels deep; the limit is ${limits.maxQueryDepth}.`);
  }
  if (cost > limits.maxQueryCost) {
    throw limitError(
      'cost',
      limits.maxQueryCost,
      cost,
      `The query could return about ${cost} fields; the limit is ${limits.maxQueryCost}. Ask for smaller pages (first) or fewer nested lists.`,
    );
  }
}

function unstorableError(where: string, why: string): AppError {
  return new AppError('BAD_USER_INPUT', `${where} contains ${why}.`, { http: { status: 400 } });
}

function check(value: string, where: string): void {
  const why = unstorableReason(value);
  if (why) throw unstorableError(where, why);
}

/**
 * Refuse a string that text cannot hold as sent (a NUL, an unpaired surrogate): literal arguments in
 * the document and every variable, keys of input objects included.
 */
export function rejectUnstorableStrings(document: DocumentNode, variables: Record<string, unknown> | undefined): void {
  visit(document, {
    StringValue(node) {
      check(node.value, 'A string argument');
    },
  });
  // iterative: a deeply nested variable value cannot overflow the stack
  const stack: { value: unknown; path: string }[] = Object.entries(variables ?? {}).map(([k, value]) => ({ value, path: `$${k}` }));
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      check(value, `Variable ${path}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]` }));
    } else if (value !== null && typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) continue; // an Upload, not client text
      for (const [k, v] of Object.entries(value)) {
        check(k, `Variable ${path}`);
        stack.push({ value: v, path: `${path}.${k}` });
      }
    }
  }
}

/** Runs the operation checks once the operation is parsed, validated and chosen. */
export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          checkOperation(schema, document, operation, (request.variables ?? {}) as Record<string, unknown>, limits);
          rejectUnstorableStrings(document, request.variables as Record<string, unknown> | undefined);
        },
      };
    },
  };
}
