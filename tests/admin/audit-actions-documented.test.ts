/**
 * The audit actions a client can meet are the ones the code writes: every action of the AuditAction
 * type (src/admin/audit.ts) is named in README.md's list and in schema.graphql's AuditEvent.action,
 * and neither names one the code does not write.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, type GraphQLObjectType } from 'graphql';

const ACTION = /\b[a-z][A-Za-z]*\.[a-z][A-Za-z]*\b/g;

function codeActions(): string[] {
  const source = readFileSync('src/admin/audit.ts', 'utf8');
  const union = source.slice(source.indexOf('export type AuditAction'), source.indexOf('export type AuditTargetType'));
  return [...union.matchAll(/'([a-zA-Z]+\.[a-zA-Z]+)'/g)].map((m) => m[1]!).sort();
}

function readmeActions(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('Audit actions:');
  const list = readme.slice(start, readme.indexOf('(the actor is', start));
  return [...new Set(list.match(ACTION) ?? [])].sort();
}

function schemaActions(): string[] {
  const type = buildSchema(readFileSync('schema.graphql', 'utf8')).getType('AuditEvent') as GraphQLObjectType;
  const description = type.getFields().action!.description ?? '';
  return [...new Set(description.match(ACTION) ?? [])].sort();
}

test('README and the schema list exactly the audit actions the code writes', () => {
  const actions = codeActions();
  expect(actions).toContain('bulkOperation.started');
  expect(actions.length).toBeGreaterThan(15);
  expect(readmeActions()).toEqual(actions);
  expect(schemaActions()).toEqual(actions);
});
