/** `npm run docs:config`: writes the configuration table of docs/configuration.md from src/lib/config.ts. */
import { readFileSync, writeFileSync } from "node:fs";
import { CONFIGURATION_PAGE, withConfigurationTable } from "../src/lib/config-docs.ts";

const page = readFileSync(CONFIGURATION_PAGE, "utf8");
const written = withConfigurationTable(page);
if (written === page) console.log(`${CONFIGURATION_PAGE}: up to date`);
else {
  writeFileSync(CONFIGURATION_PAGE, written);
  console.log(`wrote ${CONFIGURATION_PAGE}`);
}
