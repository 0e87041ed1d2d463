import type { LtiLineItemResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: LtiLineItemResolvers['id'] = (item) => toGlobalId('LtiLineItem', item.id);
/** Admin configuration: the loader refuses keys without ADMIN. */
export const platform: LtiLineItemResolvers['platform'] = (item, _args, ctx) => ctx.loaders.ltiPlatform.load(item.platformId);
