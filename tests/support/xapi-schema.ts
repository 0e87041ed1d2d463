/**
 * JSON Schema of an xAPI 1.0.3 Statement, written from the specification
 * (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md, section 2.4), for ajv + ajv-formats.
 * It is independent of src/xapi/: tests validate what the server produces against it.
 *
 * Covered: required actor/verb/object; Agent with exactly one inverse functional identifier
 * (mbox, mbox_sha1sum, openid, account{homePage IRL, name}); Group; verb IRI and display language
 * map; Activity (IRI id, definition with language maps, type/moreInfo IRIs, interactionType),
 * StatementRef and SubStatement objects; result.score (scaled in [-1, 1], min < max,
 * min <= raw <= max through ajv's $data), success, completion, response, ISO 8601 duration,
 * extensions; context (registration UUID, instructor, team, contextActivities, revision, platform,
 * RFC 5646 language, statement reference, extensions); timestamp and stored as RFC 3339 with a
 * time zone; version 1.0.x; no properties the spec does not define (an LRS rejects them).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

// ajv-formats is CommonJS: under ESM its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** RFC 4122 UUID, variant bits 10xx, versions 1-8, without the urn:uuid: prefix. */
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$';
/** ISO 8601 duration; seconds may carry a fraction (xAPI: precision to 0.01 s). */
const DURATION = '^P(?!$)(?:\\d+W|(?:\\d+Y)?(?:\\d+M)?(?:\\d+D)?(?:T(?=\\d)(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d+)?S)?)?)$';
/** RFC 5646 language tag (the common shapes: language[-script][-region][-variant]). */
const LANGUAGE_TAG = '^(?:[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8})(?:-[a-zA-Z]{4})?(?:-(?:[a-zA-Z]{2}|\\d{3}))?(?:-(?:[a-zA-Z\\d]{5,8}|\\d[a-zA-Z\\d]{3}))*(?:-[a-wyzA-WYZ\\d](?:-[a-zA-Z\\d]{2,8})+)*(?:-x(?:-[a-zA-Z\\d]{1,8})+)?$';

export const xapiStatementSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://speechmark.dev/tests/xapi-1.0.3-statement.json',
  $defs: {
    iri: { type: 'string', format: 'iri' },
    irl: { type: 'string', format: 'irl' },
    uuid: { type: 'string', pattern: UUID },
    timestamp: { type: 'string', format: 'date-time' },
    languageMap: {
      type: 'object',
      propertyNames: { pattern: LANGUAGE_TAG },
      additionalProperties: { type: 'string' },
    },
    extensions: {
      type: 'object',
      propertyNames: { format: 'iri' },
    },
    account: {
      type: 'object',
      required: ['homePage', 'name'],
      properties: { homePage: { $ref: '#/$defs/irl' }, name: { type: 'string', minLength: 1 } },
      additionalProperties: false,
    },
    /** Exactly one inverse functional identifier. */
    ifi: {
      oneOf: [{ required: ['mbox'] }, { required: ['mbox_sha1sum'] }, { required: ['openid'] }, { required: ['account'] }],
    },
    ifiProperties: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        mbox: { type: 'string', pattern: '^mailto:[^@\\s]+@[^@\\s]+$' },
        mbox_sha1sum: { type: 'string', pattern: '^[0-9a-fA-F]{40}$' },
        openid: { type: 'string', format: 'uri' },
        account: { $ref: '#/$defs/account' },
      },
    },
    agent: {
      allOf: [{ $ref: '#/$defs/ifiProperties' }, { $ref: '#/$defs/ifi' }],
      properties: { objectType: { const: 'Agent' }, name: true, mbox: true, mbox_sha1sum: true, openid: true, account: true },
      additionalProperties: false,
    },
    group: {
      allOf: [{ $ref: '#/$defs/ifiProperties' }],
      required: ['objectType'],
      properties: {
        objectType: { const: 'Group' }, name: true, mbox: true, mbox_sha1sum: true, openid: true, account: true,
        member: { type: 'array', items: { $ref: '#/$defs/agent' } },
      },
      // An anonymous group lists its members; an identified group has exactly one IFI.
      anyOf: [{ $ref: '#/$defs/ifi' }, { required: ['member'], not: { anyOf: [{ required: ['mbox'] }, { required: ['mbox_sha1sum'] }, { required: ['openid'] }, { required: ['account'] }] } }],
      additionalProperties: false,
    },
    actor: {
      if: { type: 'object', required: ['objectType'], properties: { objectType: { const: 'Group' } } },
      then: { $ref: '#/$defs/group' },
      else: { $ref: '#/$defs/agent' },
    },
    verb: {
      type: 'object',
      required: ['id'],
      properties: { id: { $ref: '#/$defs/iri' }, display: { $ref: '#/$defs/languageMap' } },
      additionalProperties: false,
    },
    interactionComponent: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', minLength: 1 }, description: { $ref: '#/$defs/languageMap' } },
      additionalProperties: false,
    },
    activityDefinition: {
      type: 'object',
      properties: {
        name: { $ref: '#/$defs/languageMap' },
        description: { $ref: '#/$defs/languageMap' },
        type: { $ref: '#/$defs/iri' },
        moreInfo: { $ref: '#/$defs/irl' },
        interactionType: { enum: ['true-false', 'choice', 'fill-in', 'long-fill-in', 'matching', 'performance', 'sequencing', 'likert', 'numeric', 'other'] },
        correctResponsesPattern: { type: 'array', items: { type: 'string' } },
        choices: { type: 'array', items: { $ref: '#/$defs/interactionComponent' } },
        scale: { type: 'array', items: { $ref: '#/$defs/interactionComponent' } },
        source: { type: 'array', items: { $ref: '#/$defs/interactionComponent' } },
        target: { type: 'array', items: { $ref: '#/$defs/interactionComponent' } },
        steps: { type: 'array', items: { $ref: '#/$defs/interactionComponent' } },
        extensions: { $ref: '#/$defs/extensions' },
      },
      // Interaction properties only with an interactionType.
      dependentRequired: { correctResponsesPattern: ['interactionType'], choices: ['interactionType'], scale: ['interactionType'], source: ['interactionType'], target: ['interactionType'], steps: ['interactionType'] },
      additionalProperties: false,
    },
    activity: {
      type: 'object',
      required: ['id'],
      properties: { objectType: { const: 'Activity' }, id: { $ref: '#/$defs/iri' }, definition: { $ref: '#/$defs/activityDefinition' } },
      additionalProperties: false,
    },
    statementRef: {
      type: 'object',
      required: ['objectType', 'id'],
      properties: { objectType: { const: 'StatementRef' }, id: { $ref: '#/$defs/uuid' } },
      additionalProperties: false,
    },
    score: {
      type: 'object',
      properties: {
        scaled: { type: 'number', minimum: -1, maximum: 1 },
        raw: { type: 'number', minimum: { $data: '1/min' }, maximum: { $data: '1/max' } },
        min: { type: 'number' },
        max: { type: 'number', exclusiveMinimum: { $data: '1/min' } },
      },
      additionalProperties: false,
    },
    result: {
      type: 'object',
      properties: {
        score: { $ref: '#/$defs/score' },
        success: { type: 'boolean' },
        completion: { type: 'boolean' },
        response: { type: 'string' },
        duration: { type: 'string', pattern: DURATION },
        extensions: { $ref: '#/$defs/extensions' },
      },
      additionalProperties: false,
    },
    contextActivities: {
      type: 'object',
      properties: Object.fromEntries(['parent', 'grouping', 'category', 'other'].map((k) => [k, { anyOf: [{ $ref: '#/$defs/activity' }, { type: 'array', items: { $ref: '#/$defs/activity' } }] }])),
      additionalProperties: false,
    },
    context: {
      type: 'object',
      properties: {
        registration: { $ref: '#/$defs/uuid' },
        instructor: { $ref: '#/$defs/actor' },
        team: { $ref: '#/$defs/group' },
        contextActivities: { $ref: '#/$defs/contextActivities' },
        revision: { type: 'string' },
        platform: { type: 'string' },
        language: { type: 'string', pattern: LANGUAGE_TAG },
        statement: { $ref: '#/$defs/statementRef' },
        extensions: { $ref: '#/$defs/extensions' },
      },
      additionalProperties: false,
    },
    /** Actor, verb and object are required in every statement (and sub-statement). */
    statementCore: {
      required: ['actor', 'verb', 'object'],
      properties: {
        actor: { $ref: '#/$defs/actor' },
        verb: { $ref: '#/$defs/verb' },
        result: { $ref: '#/$defs/result' },
        context: { $ref: '#/$defs/context' },
        timestamp: { $ref: '#/$defs/timestamp' },
      },
    },
    subStatement: {
      type: 'object',
      allOf: [{ $ref: '#/$defs/statementCore' }],
      required: ['objectType'],
      properties: {
        objectType: { const: 'SubStatement' },
        actor: true, verb: true, result: true, context: true, timestamp: true,
        // A SubStatement cannot nest another SubStatement.
        object: { oneOf: [{ $ref: '#/$defs/activity' }, { $ref: '#/$defs/agent' }, { $ref: '#/$defs/group' }, { $ref: '#/$defs/statementRef' }] },
      },
      additionalProperties: false,
    },
    statementObject: {
      if: { type: 'object', required: ['objectType'] },
      then: {
        oneOf: [
          { properties: { objectType: { const: 'Activity' } }, $ref: '#/$defs/activity' },
          { properties: { objectType: { const: 'Agent' } }, $ref: '#/$defs/agent' },
          { properties: { objectType: { const: 'Group' } }, $ref: '#/$defs/group' },
          { properties: { objectType: { const: 'StatementRef' } }, $ref: '#/$defs/statementRef' },
          { properties: { objectType: { const: 'SubStatement' } }, $ref: '#/$defs/subStatement' },
        ],
      },
      // objectType may be left out only for an Activity.
      else: { $ref: '#/$defs/activity' },
    },
    statement: {
      type: 'object',
      allOf: [{ $ref: '#/$defs/statementCore' }],
      properties: {
        id: { $ref: '#/$defs/uuid' },
        actor: true, verb: true, result: true, context: true, timestamp: true,
        object: { $ref: '#/$defs/statementObject' },
        stored: { $ref: '#/$defs/timestamp' },
        authority: { $ref: '#/$defs/actor' },
        version: { type: 'string', pattern: '^1\\.0(\\.\\d+)?$' },
        attachments: { type: 'array' },
      },
      additionalProperties: false,
    },
  },
  $ref: '#/$defs/statement',
} as const;

/** Absolute IRI: a scheme, then no white space or characters RFC 3987 excludes. */
function isIri(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>"{}|\\^`]+$/u.test(s);
}

/** IRL: an IRI that can be dereferenced (http or https here). */
function isIrl(s: string): boolean {
  if (!isIri(s)) return false;
  try {
    const url = new URL(s);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ $data: true, allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('iri', isIri);
  ajv.addFormat('irl', isIrl);
  return ajv;
}

let compiled: { one: ValidateFunction; many: ValidateFunction } | null = null;

/** Validators for one statement and for a batch (a JSON array of statements, as POST /statements takes). */
export function xapiValidators() {
  if (!compiled) {
    const ajv = createAjv();
    ajv.addSchema(xapiStatementSchema);
    compiled = {
      one: ajv.compile({ $ref: xapiStatementSchema.$id }),
      many: ajv.compile({ type: 'array', items: { $ref: xapiStatementSchema.$id } }),
    };
  }
  return compiled;
}

/** Human-readable errors of the last validation, or [] when valid. */
export function xapiErrors(value: unknown, batch = false): string[] {
  const v = batch ? xapiValidators().many : xapiValidators().one;
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
}
