import type { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver, NonNegativeIntResolver } from 'graphql-scalars';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';

export const scalars = {
  DateTime: DateTimeResolver,
  JSON: JSONResolver,
  NonNegativeInt: NonNegativeIntResolver,
  Upload: GraphQLUpload as GraphQLScalarType,
};
