import { useEffect, useMemo, useRef, useState } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { BackupHistoryPoint } from "../lib/api.ts";
import { formatBytes, formatDateTime, formatDuration } from "../lib/format.ts";

export type Metric = "size" | "duration";

/** Distinct on light and dark backgrounds. */
const PALETTE = ["#ea580c", "#0284c7", "#16a34a", "#9333ea", "#db2777", "#ca8a04", "#0d9488", "#64748b"];

function valueOf(point: BackupHistoryPoint, metric: Metric): number | null {
  return metric === "size" ? point.fileSizeBytes : point.durationSeconds;
}

function formatValue(value: number | null | undefined, metric: Metric): string {
  if (value == null) return "—";
  if (metric === "duration" && value === 0) return "0s";
  return metric === "size" ? formatBytes(value) : formatDuration(value);
}

/** Whole seconds, minutes and hours for the duration axis (no "<1s" ticks). */
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

interface DatabaseSeries {
  id: string;
  name: string;
  color: string;
  points: { at: number; value: number }[];
}

/** Each database's backups with a value for `metric`, oldest first. */
function seriesOf(points: BackupHistoryPoint[], metric: Metric): DatabaseSeries[] {
  const byDatabase = new Map<string, DatabaseSeries>();
  for (const point of points) {
    const value = valueOf(point, metric);
    if (value == null) continue;
    let series = byDatabase.get(point.databaseConfigId);
    if (!series) {
      series = { id: point.databaseConfigId, name: point.databaseName ?? "deleted database", color: "", points: [] };
      byDatabase.set(point.databaseConfigId, series);
    }
    series.points.push({ at: Date.parse(point.startedAt) / 1000, value });
  }
  return [...byDatabase.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((series, index) => ({ ...series, color: PALETTE[index % PALETTE.length] ?? "#64748b" }));
}

/** uPlot's aligned data: the union of the times, each database's values (null elsewhere). */
function aligned(series: DatabaseSeries[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.at)))].sort((a, b) => a - b);
  const index = new Map(times.map((time, i) => [time, i]));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const point of s.points) column[index.get(point.at) ?? 0] = point.value;
    return column;
  });
  return [times, ...columns];
}

function useDark(): boolean {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains("dark"));
  useEffect(() => {
    const observer = new MutationObserver(() => setDark(document.documentElement.classList.contains("dark")));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
    return () => observer.disconnect();
  }, []);
  return dark;
}

/** A line per database of a backup metric over time (uPlot, loaded on first use), with a
 * text summary for screen readers and as a fallback. */
export function HistoryChart({ points, metric, title }: { points: BackupHistoryPoint[]; metric: Metric; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  const dark = useDark();
  const series = useMemo(() => seriesOf(points, metric), [points, metric]);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const element = box.current;
    if (!element || series.length === 0) return;
    let chart: uPlot | null = null;
    let cancelled = false;
    let observer: ResizeObserver | null = null;
    const axis = dark ? "#a1a1aa" : "#52525b";
    const grid = dark ? "rgba(255,255,255,0.08)" : "rgba(0,0,0,0.07)";
    import("uplot")
      .then(({ default: UPlot }) => {
        if (cancelled) return;
        const width = Math.max(element.clientWidth, 240);
        const opts: uPlot.Options = {
          width,
          height: 220,
          cursor: { drag: { x: false, y: false } },
          legend: { live: true },
          scales: { x: { time: true }, y: { range: (_u, min, max) => [0, max > min ? max * 1.1 : max + 1] } },
          axes: [
            { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, space: 90 },
            {
              stroke: axis,
              grid: { stroke: grid },
              ticks: { stroke: grid },
              size: 72,
              ...(metric === "duration" ? { incrs: DURATION_STEPS } : {}),
              values: (_u, values) => values.map((value) => formatValue(value, metric)),
            },
          ],
          series: [
            { label: "Started", value: (_u, value) => (value == null ? "—" : formatDateTime(new Date(value * 1000).toISOString())) },
            ...series.map((s) => ({
              label: s.name,
              stroke: s.color,
              width: 2,
              spanGaps: true,
              points: { show: true, size: 5, fill: s.color },
              value: (_u: uPlot, value: number | null) => formatValue(value, metric),
            })),
          ],
        };
        chart = new UPlot(opts, aligned(series), element);
        observer = new ResizeObserver(() => chart?.setSize({ width: Math.max(element.clientWidth, 240), height: 220 }));
        observer.observe(element);
      })
      .catch(() => setFailed(true));
    return () => {
      cancelled = true;
      observer?.disconnect();
      chart?.destroy();
    };
  }, [series, metric, dark]);

  const summary = series
    .map((s) => {
      const values = s.points.map((p) => p.value);
      const last = values[values.length - 1];
      return `${s.name}: ${s.points.length} backups, latest ${formatValue(last, metric)}, from ${formatValue(Math.min(...values), metric)} to ${formatValue(Math.max(...values), metric)}`;
    })
    .join("; ");

  return (
    <figure className="min-w-0" data-testid={`chart-${metric}`}>
      <figcaption className="mb-2 text-sm font-medium text-zinc-700 dark:text-zinc-300">{title}</figcaption>
      {series.length === 0 ? (
        <p className="py-8 text-center text-sm text-zinc-500 dark:text-zinc-400">No completed backups in this period.</p>
      ) : (
        <>
          <div ref={box} role="img" aria-label={`${title}. ${summary}.`} className="history-chart w-full overflow-hidden" />
          {failed && <p className="text-sm text-zinc-500 dark:text-zinc-400">The chart could not be drawn. {summary}.</p>}
        </>
      )}
    </figure>
  );
}
