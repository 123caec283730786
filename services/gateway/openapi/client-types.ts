/**
 * The typed client's types (client/schema.d.ts), generated from the OpenAPI document by
 * openapi-typescript. `npm run client:generate` writes them; a test checks that the
 * committed file is what a fresh generation gives, so the client cannot drift either.
 *
 * openapi-typescript 6, not 7: version 7 builds its output with the TypeScript 5 compiler
 * API, and this repository's TypeScript 7 (the native compiler) has no JavaScript API.
 */
import { join } from "node:path";
import openapiTS from "openapi-typescript";
import { openApiDocument } from "./document.ts";

export const CLIENT_TYPES_FILE = join(import.meta.dirname, "../../../client/schema.d.ts");

const HEADER = `/**
 * Types of the flash-sale HTTP API, generated from GET /api/openapi.json
 * (services/gateway/openapi/document.ts) by openapi-typescript. Do not edit: run
 * \`npm run client:generate\`.
 */
`;

export async function generateClientTypes(): Promise<string> {
  const types = await openapiTS(openApiDocument() as unknown as Parameters<typeof openapiTS>[0], { commentHeader: HEADER, silent: true });
  return types;
}
