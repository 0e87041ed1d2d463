import { GraphQLError, GraphQLScalarType, type ValueNode } from 'graphql';
import { DateTimeResolver, JSONResolver, NonNegativeIntResolver } from 'graphql-scalars';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import { EARLIEST_INSTANT, LATEST_INSTANT } from '../instants.js';


/**
 * An instant outside years 1-9999 (after its offset: "9999-12-31T23:59:59-01:00" is year 10000) is
 * the client's mistake, refused here; else PostgreSQL refuses year 0 as an internal error, and a
 * year-10000 expiry is stored but cannot be read back.
 */
function withinYears1To9999(value: Date): Date {
  if (value < EARLIEST_INSTANT || value > LATEST_INSTANT) {
    throw new GraphQLError(
      `DateTime ${JSON.stringify(value.toISOString())} is outside the supported range ${EARLIEST_INSTANT.toISOString()} to ${LATEST_INSTANT.toISOString()}.`,
      { extensions: { code: 'BAD_USER_INPUT' } },
    );
  }
  return value;
}

/**
 * An RFC 3339 instant as the DateTime scalar reads it (an offset required, calendar dates checked),
 * for instants that arrive outside GraphQL (query parameters); throws a BAD_USER_INPUT GraphQLError.
 */
export function parseDateTime(text: string): Date {
  return withinYears1To9999(DateTimeResolver.parseValue(text) as Date);
}

/** graphql-scalars' DateTime with the range check. */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  parseValue: (value: unknown) => withinYears1To9999(DateTimeResolver.parseValue(value) as Date),
  parseLiteral: (ast: ValueNode, variables?: { [name: string]: unknown } | null) =>
    withinYears1To9999(DateTimeResolver.parseLiteral(ast, variables) as Date),
});
// graphql-tools copies every field of a resolver's scalar type onto the schema's, the description
// too (even an undefined one): without it, schema.graphql's description (the range) is what clients read.
delete (DateTime as { description?: unknown }).description;

export const scalars = {
  DateTime,
  JSON: JSONResolver,
  NonNegativeInt: NonNegativeIntResolver,
  Upload: GraphQLUpload as GraphQLScalarType,
};
