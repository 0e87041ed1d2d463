import type { CodegenConfig } from '@graphql-codegen/cli';

// Resolver types come from schema.graphql (the contract); parents are our own model shapes.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: false,
        contextType: '../graphql/context.js#RequestContext',
        enumsAsTypes: true,
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
        scalars: { DateTime: 'Date', JSON: 'unknown', NonNegativeInt: 'number', Upload: 'Promise<import("../graphql/upload.js").FileUpload>' },
        mappers: {
          Learner: '../graphql/models.js#LearnerModel',
          Utterance: '../graphql/models.js#UtteranceModel',
          Job: '../graphql/models.js#JobModel',
          Assessment: '../graphql/models.js#AssessmentModel',
          WordAssessment: '../graphql/models.js#WordAssessmentModel',
          Rationale: '../graphql/models.js#RationaleModel',
          Organization: '../graphql/models.js#OrganizationModel',
          ApiKey: '../graphql/models.js#ApiKeyModel',
          AuditEvent: '../graphql/models.js#AuditEventModel',
          Viewer: '../graphql/models.js#ViewerModel',
          ModelInfo: '../graphql/models.js#ModelInfoModel',
          RationaleAlignment: '../graphql/models.js#RationaleAlignmentModel',
          PageInfo: '../graphql/pagination.js#PageInfoModel',
          LearnerConnection: '../graphql/models.js#LearnerConnectionModel',
          UtteranceConnection: '../graphql/models.js#UtteranceConnectionModel',
          JobConnection: '../graphql/models.js#JobConnectionModel',
          AssessmentConnection: '../graphql/models.js#AssessmentConnectionModel',
          ApiKeyConnection: '../graphql/models.js#ApiKeyConnectionModel',
          AuditEventConnection: '../graphql/models.js#AuditEventConnectionModel',
          LearnerGroup: '../analytics/cohorts.js#LearnerGroupModel',
          GroupComparison: '../analytics/cohorts.js#GroupComparisonModel',
          WebhookEndpoint: '../graphql/models.js#WebhookEndpointModel',
          WebhookSigningSecret: '../graphql/models.js#WebhookSigningSecretModel',
          WebhookDelivery: '../graphql/models.js#WebhookDeliveryModel',
          WebhookEvent: '../graphql/models.js#WebhookEventModel',
          WebhookDeliveryAttempt: '../graphql/models.js#WebhookDeliveryAttemptModel',
          WebhookEndpointConnection: '../graphql/models.js#WebhookEndpointConnectionModel',
          WebhookDeliveryConnection: '../graphql/models.js#WebhookDeliveryConnectionModel',
        },
      },
    },
  },
};
export default config;
