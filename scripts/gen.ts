/** Regenerate crds/ and the chart's CRD templates from the zod schemas: `npm run gen`. A unit test fails when they drift. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChartCrdTemplates, renderCrdFiles } from "../src/api/crds.js";

const root = fileURLToPath(new URL("..", import.meta.url));
mkdirSync(join(root, "crds"), { recursive: true });
for (const [file, text] of Object.entries(renderCrdFiles())) {
  writeFileSync(join(root, "crds", file), text);
  console.log(`wrote crds/${file}`);
}
const chartCrds = join(root, "charts", "socklens", "templates", "crds");
mkdirSync(chartCrds, { recursive: true });
for (const [file, text] of Object.entries(renderChartCrdTemplates())) {
  writeFileSync(join(chartCrds, file), text);
  console.log(`wrote charts/socklens/templates/crds/${file}`);
}
