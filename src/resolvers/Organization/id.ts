import type { OrganizationResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: OrganizationResolvers['id'] = (org) => toGlobalId('Organization', org.id);
