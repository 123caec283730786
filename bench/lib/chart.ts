/**
 * The comparison chart: Vega-Lite spec → Vega view → SVG (`view.toSVG()`, headless,
 * no canvas) → PNG with resvg (a prebuilt binary shipped inside its npm package).
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import { writeFileSync } from "node:fs";

export interface ChartRow {
  scenario: string; // x group, e.g. "drop: winners"
  target: string;
  rps: number;
  p99: number;
}

const COLORS: Record<string, string> = {
  bare: "#9e9e9e",
  "redis-1p": "#1f77b4",
  "redis-nats": "#17becf",
  "pg-lock": "#d62728",
};

export async function renderChart(rows: ChartRow[], scenarios: string[], targets: string[], title: string, file: string): Promise<void> {
  const domain = targets.filter((t) => rows.some((r) => r.target === t));
  const x = { field: "scenario", type: "nominal", sort: scenarios, title: null, axis: { labelAngle: 0, labelFontSize: 11 } } as const;
  const xOffset = { field: "target", sort: domain } as const;
  const color = {
    field: "target",
    type: "nominal",
    title: "target",
    sort: domain,
    scale: { domain, range: domain.map((t) => COLORS[t] ?? "#888") },
    legend: { orient: "top" },
  } as const;
  const panel = (field: "rps" | "p99", heading: string, log: boolean) => ({
    title: { text: heading, anchor: "start", fontSize: 13 },
    width: 150 * Math.max(1, scenarios.length),
    height: 230,
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x,
          xOffset,
          y: { field, type: "quantitative", title: null, scale: log ? { type: "log" } : { zero: true } },
          color,
          tooltip: [{ field: "target" }, { field }],
        },
      },
      {
        mark: { type: "text", dy: -5, fontSize: 9, color: "#333" },
        encoding: {
          x,
          xOffset,
          y: { field, type: "quantitative", scale: log ? { type: "log" } : { zero: true } },
          text: { field, type: "quantitative", format: field === "rps" ? ",.0f" : ",.0f" },
        },
      },
    ],
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, fontSize: 14, anchor: "start" },
    background: "white",
    padding: 12,
    config: { font: "DejaVu Sans", view: { stroke: null }, axis: { labelFont: "DejaVu Sans", titleFont: "DejaVu Sans" } },
    data: { values: rows },
    vconcat: [
      panel("rps", "Throughput, requests/s (higher is better; bare Node = the ceiling)", false),
      panel("p99", "p99 latency, ms (lower is better)", false),
    ],
    resolve: { scale: { color: "shared" } },
  } as unknown as TopLevelSpec;

  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    fitTo: { mode: "zoom", value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    background: "white",
  })
    .render()
    .asPng();
  writeFileSync(file, png);
}
