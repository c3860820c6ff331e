// First paint of the simulator page: the build computes the default simulation with the
// engine on CPython and this renders it with the browser's own renderer.
// stdin: {"compare": result, "portfolio": result, "whatif": {formula: result}, "labels": {...}}
// stdout: {"summary": html, "compare": html, "portfolio": html, "whatif": html}
import { renderCompare, renderPortfolio, renderSummary, renderWhatIf } from "../assets/js/render.mjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = JSON.parse(Buffer.concat(chunks).toString("utf8"));
process.stdout.write(
  JSON.stringify({
    summary: renderSummary(data.compare),
    compare: renderCompare(data.compare),
    portfolio: renderPortfolio(data.portfolio),
    whatif: renderWhatIf(data.whatif, data.labels),
  }),
);
