/** `npm run client:generate`: writes client/schema.d.ts from the OpenAPI document. */
import { writeFileSync } from "node:fs";
import { CLIENT_TYPES_FILE, generateClientTypes } from "../services/gateway/openapi/client-types.ts";

writeFileSync(CLIENT_TYPES_FILE, await generateClientTypes());
console.log(`wrote ${CLIENT_TYPES_FILE}`);
