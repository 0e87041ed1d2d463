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
          PhonemeAssessment: '../graphql/models.js#PhonemeAssessmentModel',
          Rationale: '../graphql/models.js#RationaleModel',
          Organization: '../graphql/models.js#OrganizationModel',
          ApiKey: '../graphql/models.js#ApiKeyModel',
          AuditEvent: '../graphql/models.js#AuditEventModel',
          Viewer: '../graphql/models.js#ViewerModel',
          LtiPlatform: '../graphql/models.js#LtiPlatformModel',
          LtiLineItem: '../graphql/models.js#LtiLineItemModel',
          GradeDelivery: '../graphql/models.js#GradeDeliveryModel',
          LtiToolKey: '../graphql/models.js#LtiToolKeyModel',
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
        },
      },
    },
  },
};
export default config;
