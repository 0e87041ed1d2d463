/**
 * The README's convention for BAD_USER_INPUT, checked on every GraphQL answer a test receives
 * through GqlClient (so the whole suite sweeps it): an error raised by a field (it has a `path`)
 * names the input at fault in `extensions.argument`, a dotted path that starts with one of that
 * field's arguments and goes on through input-object fields (list positions as numbers), as the
 * schema declares them; when several inputs conflict, `extensions.arguments` lists every one, the
 * first being `argument`. A variable's value refused before any field ran names the variable in
 * `extensions.variable`. Other errors without a path (the document, the request's size) concern
 * the request as a whole and are left alone.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema, getNamedType, getNullableType, isInputObjectType, isListType, Kind, parse,
  type DocumentNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLInputType, type GraphQLNamedType,
  type GraphQLSchema, type SelectionSetNode, isObjectType, isInterfaceType,
} from 'graphql';

let schema: GraphQLSchema | undefined;
function loadSchema(): GraphQLSchema {
  schema ??= buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
  return schema;
}

interface ErrorLike {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/** The field definition the error's path ends at, or a reason it cannot be found. */
function fieldAtPath(doc: DocumentNode, path: readonly (string | number)[], s: GraphQLSchema): GraphQLField<unknown, unknown> | string {
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return 'no operation';
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let parent: GraphQLNamedType | null | undefined = op.operation === 'query' ? s.getQueryType() : op.operation === 'mutation' ? s.getMutationType() : s.getSubscriptionType();
  let selections: SelectionSetNode[] = [op.selectionSet];
  let field: GraphQLField<unknown, unknown> | undefined;
  for (const key of path.filter((k): k is string => typeof k === 'string')) {
    const found = findSelection(selections, key, parent!, fragments, s);
    if (!found) return `no selection ${key}`;
    field = found.field;
    selections = found.selectionSets;
    parent = getNamedType(field.type);
  }
  return field ?? 'empty path';
}

function findSelection(
  sets: SelectionSetNode[], responseKey: string, parent: GraphQLNamedType, fragments: Map<string, FragmentDefinitionNode>, s: GraphQLSchema,
): { field: GraphQLField<unknown, unknown>; selectionSets: SelectionSetNode[] } | null {
  const result: { field?: GraphQLField<unknown, unknown>; selectionSets: SelectionSetNode[] } = { selectionSets: [] };
  const visit = (set: SelectionSetNode, type: GraphQLNamedType) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD && (sel.alias?.value ?? sel.name.value) === responseKey) {
        if ((isObjectType(type) || isInterfaceType(type)) && type.getFields()[sel.name.value]) {
          result.field ??= type.getFields()[sel.name.value];
          if (sel.selectionSet) result.selectionSets.push(sel.selectionSet);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        visit(sel.selectionSet, sel.typeCondition ? s.getType(sel.typeCondition.name.value)! : type);
      } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        if (f) visit(f.selectionSet, s.getType(f.typeCondition.name.value)!);
      }
    }
  };
  for (const set of sets) visit(set, parent);
  return result.field ? { field: result.field, selectionSets: result.selectionSets } : null;
}

/** Whether `dotted` names an argument of `field`, or an input field (or list position) inside one. */
function resolvesTo(field: GraphQLField<unknown, unknown>, dotted: string): boolean {
  const [head, ...rest] = dotted.split('.');
  const arg = field.args.find((a) => a.name === head);
  if (!arg) return false;
  let type: GraphQLInputType = getNullableType(arg.type);
  for (const segment of rest) {
    if (isListType(type) && /^\d+$/.test(segment)) {
      type = getNullableType(type.ofType);
    } else if (isInputObjectType(type) && type.getFields()[segment]) {
      type = getNullableType(type.getFields()[segment]!.type);
    } else {
      return false;
    }
  }
  return true;
}

/** A refused variable's value names the variable, a declared one, in `extensions.variable` (a dotted path into it). */
function variableViolations(query: string, e: ErrorLike): string[] {
  const variable = e.extensions?.variable;
  const where = `BAD_USER_INPUT for a variable ("${e.message}")`;
  if (typeof variable !== 'string') return [`${where}: extensions.variable is missing`];
  let declared: string[] = [];
  try {
    const op = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    declared = op && op.kind === Kind.OPERATION_DEFINITION ? (op.variableDefinitions ?? []).map((v) => v.variable.name.value) : [];
  } catch {
    return [];
  }
  return declared.includes(variable.split('.')[0]!) ? [] : [`${where}: extensions.variable "${variable}" is no variable of the operation`];
}

/** The errors of one answer that break the convention, each with why (empty when all keep it). */
export function inputErrorViolations(query: string, errors: readonly ErrorLike[] | undefined): string[] {
  const bad: string[] = [];
  for (const e of errors ?? []) {
    if (e.extensions?.code === 'BAD_USER_INPUT' && !e.path && e.message.startsWith('Variable "$')) {
      bad.push(...variableViolations(query, e));
      continue;
    }
    if (e.extensions?.code !== 'BAD_USER_INPUT' || !e.path) continue;
    const s = loadSchema();
    let doc: DocumentNode;
    try {
      doc = parse(query);
    } catch {
      continue; // a test sending a broken document on purpose: its errors have no path
    }
    const field = fieldAtPath(doc, e.path, s);
    const where = `BAD_USER_INPUT at ${e.path.join('.')} ("${e.message}")`;
    if (typeof field === 'string') {
      bad.push(`${where}: its path leads to no field of the query (${field})`);
      continue;
    }
    const { argument, arguments: many } = e.extensions as { argument?: unknown; arguments?: unknown };
    if (typeof argument !== 'string') {
      bad.push(`${where}: extensions.argument is missing`);
      continue;
    }
    if (!resolvesTo(field, argument)) bad.push(`${where}: extensions.argument "${argument}" is not an argument of ${field.name}`);
    if (many !== undefined) {
      if (!Array.isArray(many) || many.length < 2 || many[0] !== argument) {
        bad.push(`${where}: extensions.arguments must list two or more inputs, the first being argument`);
      } else {
        for (const a of many) if (typeof a !== 'string' || !resolvesTo(field, a)) bad.push(`${where}: extensions.arguments has "${String(a)}", not an argument of ${field.name}`);
      }
    }
    if ('field' in (e.extensions ?? {})) bad.push(`${where}: extensions.field is not part of the convention (use argument)`);
  }
  return bad;
}
