import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

// The score the delivery posts (LtiScore), as computed when the assessment completed.
export const userId: GradeDeliveryResolvers['userId'] = (delivery) => delivery.ltiScore.userId;
export const scoreGiven: GradeDeliveryResolvers['scoreGiven'] = (delivery) => delivery.ltiScore.scoreGiven;
export const scoreMaximum: GradeDeliveryResolvers['scoreMaximum'] = (delivery) => delivery.ltiScore.scoreMaximum;
export const gradingProgress: GradeDeliveryResolvers['gradingProgress'] = (delivery) => delivery.ltiScore.gradingProgress;
export const comment: GradeDeliveryResolvers['comment'] = (delivery) => delivery.ltiScore.comment;
export const gradingPolicy: GradeDeliveryResolvers['gradingPolicy'] = (delivery) => delivery.ltiScore.gradingPolicy;
export const attemptsGraded: GradeDeliveryResolvers['attemptsGraded'] = (delivery) => delivery.ltiScore.attemptsGraded;
export const reason: GradeDeliveryResolvers['reason'] = (delivery) => delivery.ltiScore.reason;
