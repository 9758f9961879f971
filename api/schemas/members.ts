import { z } from 'zod';
import { ROLES } from '../../common/auth/roles';

/** Longest member subject accepted (`<issuer>|<sub>`): an issuer URL and a provider's opaque id fit well within it. */
export const MAX_SUBJECT_LENGTH = 512;

/**
 * A member's subject as tokens map to it: `<iss>|<sub>`, the issuer without `|`, neither part empty, no control
 * characters. In a URL path it is percent-encoded (`https%3A%2F%2Fidp.example.com%2F%7Cuser-1`).
 */
export const SUBJECT_PATTERN = /^[^|\p{Cc}]+\|[^\p{Cc}]+$/u;

export const memberSubject = z
  .string()
  .max(MAX_SUBJECT_LENGTH, `must be at most ${MAX_SUBJECT_LENGTH} characters`)
  .regex(SUBJECT_PATTERN, 'must be "<issuer>|<sub>" (the token\'s iss and sub claims), percent-encoded in the path')
  .meta({ description: "`<iss>|<sub>` of the member's tokens" });

export const putMemberRequest = z
  .strictObject({ role: z.enum(ROLES) })
  .meta({ description: "The member's role in the caller's tenant (replaces any role it had)" });
