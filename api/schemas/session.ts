import { z } from 'zod';
import { ROLES } from '../../common/auth/roles';

/** Bytes a sign-in body may have: a key is 66 characters, an SSO token (a JWT) a few kilobytes at most. */
export const SESSION_BODY_MAX_BYTES = 16 * 1024;

/** POST /api/v1/session: the API key (or SSO token) to sign the browser in with. */
export const sessionRequest = z.strictObject({
  apiKey: z
    .string()
    .min(1)
    .max(8192)
    .meta({ description: 'An API key `kiln_<id>_<secret>`, or an SSO token where SSO is configured' }),
});

/** The answer of POST /api/v1/session and GET /api/v1/whoami (api/auth/whoami.ts WhoamiView). */
export const whoamiResponse = z.object({
  id: z.string().meta({ description: '`key:<keyId>` or `sso:<issuer>|<sub>`, as the audit trail records it' }),
  tenantId: z.string(),
  role: z.enum(ROLES),
  platformAdmin: z.boolean(),
  keyId: z.string().optional(),
  subject: z.string().optional(),
  can: z.object({ start: z.boolean(), edit: z.boolean(), approve: z.boolean(), admin: z.boolean() }).meta({
    description:
      'What the role allows: start (operator: jobs, pipelines, schedule runs), edit (editor: datasets, models, aliases, schedules), approve (approver: pipeline decisions), admin (keys and members)',
  }),
});
