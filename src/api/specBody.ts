import type { Request } from 'express';
import { badRequest, ApiError } from '../domain/apiError';
import { parseSpecYaml } from '../domain/servingSpec';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
/** Largest accepted request body; a ServingSpec is a few hundred bytes. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The ServingSpec document of a POST, from a YAML or a JSON body. */
export function specDocument(req: Request): unknown {
  if (req.is(YAML_TYPES)) {
    if (typeof req.body !== 'string' || req.body.trim() === '') throw badRequest('invalid_yaml', 'the request body is empty; send a ServingSpec in YAML');
    return parseSpecYaml(req.body);
  }
  if (req.is('application/json')) return req.body;
  throw new ApiError(415, 'unsupported_media_type', `send the ServingSpec as ${YAML_TYPES.join(', ')} or application/json`);
}
