// Words and constants the pages show for API values (not shapes: those are in ./api.ts).

import type { RetentionMode, RetentionPolicy, ScheduleType } from "./api.ts";
import { formatBytes } from "./format.ts";

/** The predefined schedules of SPEC §5.4.2 (the API fills these in and refuses others). */
export const PREDEFINED_CRON: Record<Exclude<ScheduleType, "custom">, string> = {
  hourly: "0 * * * *",
  daily: "0 2 * * *",
  weekly: "0 3 * * 0",
  monthly: "0 4 1 * *",
};

export const MODE_LABEL: Record<RetentionMode, string> = {
  count: "Count tiers",
  age: "Age",
  size: "Size",
  hybrid: "Hybrid",
};

export const ENGINE_LABEL: Record<string, string> = { postgresql: "PostgreSQL", mysql: "MySQL", mariadb: "MariaDB" };

/** "24h / 7d / 4w / 12m" for count tiers; "older than 30 days"... for the other limits. */
export function describePolicy(policy: Pick<
  RetentionPolicy,
  "mode" | "keepHourly" | "keepDaily" | "keepWeekly" | "keepMonthly" | "keepYearly" | "maxAgeDays" | "maxTotalBytes"
>): string {
  const tiers = [
    [policy.keepHourly, "h"],
    [policy.keepDaily, "d"],
    [policy.keepWeekly, "w"],
    [policy.keepMonthly, "m"],
    [policy.keepYearly, "y"],
  ]
    .filter(([count]) => Number(count) > 0)
    .map(([count, unit]) => `${count}${unit}`)
    .join(" / ");
  const age = policy.maxAgeDays !== null ? `max ${policy.maxAgeDays} days old` : "";
  const size = policy.maxTotalBytes !== null ? `max ${formatBytes(policy.maxTotalBytes)} total` : "";
  if (policy.mode === "count") return tiers || "keeps only the newest backup";
  if (policy.mode === "age") return age;
  if (policy.mode === "size") return size;
  return [tiers, age, size].filter(Boolean).join(", ") || "keeps only the newest backup";
}
