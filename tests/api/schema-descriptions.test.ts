/**
 * schema.graphql is the contract, and the project standard asks for a description on every type and
 * field. This walks the schema as written (not the executable one, whose scalars bring their own
 * descriptions) and lists every type, field, field argument, input field and enum value without a
 * non-empty description. Built-in scalars and introspection types are exempt.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  isIntrospectionType,
  type GraphQLNamedType,
} from 'graphql';

const schema = buildSchema(readFileSync(path.resolve('schema.graphql'), 'utf8'));

const described = (d: string | null | undefined) => typeof d === 'string' && d.trim() !== '';

/** Every schema element without a description, as Type, Type.field, Type.field(argument:) or Type.VALUE. */
function undescribed(type: GraphQLNamedType): string[] {
  const missing: string[] = [];
  if (!described(type.description)) missing.push(type.name);
  if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
    }
  }
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      for (const arg of field.args) {
        if (!described(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
    }
  }
  if (isEnumType(type)) {
    for (const value of type.getValues()) {
      if (!described(value.description)) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

const types = Object.values(schema.getTypeMap()).filter((t) => !isSpecifiedScalarType(t) && !isIntrospectionType(t));

test('the schema has the types it is known for (the walk sees the whole file)', () => {
  const names = types.map((t) => t.name);
  for (const name of ['Query', 'Mutation', 'Subscription', 'Node', 'DateTime', 'Upload', 'JobStatus', 'SubmitUtteranceInput', 'XapiLrs']) {
    expect(names).toContain(name);
  }
  // `extend type` blocks are merged in: fields declared there are checked too.
  expect(Object.keys(schema.getQueryType()!.getFields())).toContain('xapiLrs');
  const assessment = schema.getType('Assessment');
  if (!isObjectType(assessment)) throw new Error('Assessment is not an object type');
  expect(Object.keys(assessment.getFields())).toContain('gradeDeliveries');
  // Field arguments are read too, whatever their layout (one per line or several on one).
  expect(schema.getQueryType()!.getFields().learners!.args.map((a) => a.name)).toEqual(['first', 'after', 'last', 'before', 'filter']);
});

test('the check names each kind of element that lacks a description', () => {
  const sample = buildSchema(`
    "Described."
    type Query {
      "Described." ok: Int, bare(arg: Int): Thing
      "Described." pick("Described." first: Int, after: String, "  " last: Int): Int
    }
    type Thing { id: ID! }
    "Described." input Filter { "Described." a: Int, b: Int }
    "Described." enum Colour { "Described." RED, GREEN }
    scalar Instant
    "Described." interface Named { name: String, "Described." named("Described." exact: Boolean, like: String): String }
    "   "
    type Blank { "Described." x: Int }
  `);
  const missing = Object.values(sample.getTypeMap())
    .filter((t) => !isSpecifiedScalarType(t) && !isIntrospectionType(t))
    .flatMap(undescribed)
    .sort();
  expect(missing).toEqual(
    [
      'Blank', 'Colour.GREEN', 'Filter.b', 'Instant', 'Named.name', 'Named.named(like:)', 'Query.bare', 'Query.bare(arg:)',
      'Query.pick(after:)', 'Query.pick(last:)', 'Thing', 'Thing.id',
    ].sort(),
  );
});

test('every type, field, field argument, input field and enum value of schema.graphql has a description', () => {
  const missing = types.flatMap(undescribed);
  expect(missing).toEqual([]);
});
