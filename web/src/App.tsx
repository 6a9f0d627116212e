import { lazy, Suspense, type ComponentType, type ReactNode } from "react";

import { ErrorBoundary } from "./components/ErrorBoundary.tsx";
import { Layout } from "./components/Layout.tsx";
import { Backups } from "./pages/Backups.tsx";
import { ComingSoon, NotFound } from "./pages/ComingSoon.tsx";
import { Dashboard } from "./pages/Dashboard.tsx";
import { Databases } from "./pages/Databases.tsx";
import { Account, Audit, Tokens, Users } from "./pages/Access.tsx";
import { Loading } from "./components/States.tsx";
import { Setup, SignIn } from "./pages/SignIn.tsx";
import { usePathname } from "./lib/router.tsx";

// Pages beyond the everyday ones load on first visit, keeping the initial bundle small.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any props: each page has its own
function page<M extends Record<K, ComponentType<any>>, K extends string>(load: () => Promise<M>, name: K) {
  return lazy(async () => ({ default: (await load())[name] }));
}
const restores = () => import("./pages/Restores.tsx");
const retention = () => import("./pages/RetentionPolicies.tsx");
const s3 = () => import("./pages/S3Configs.tsx");
const schedules = () => import("./pages/Schedules.tsx");
const Settings = page(() => import("./pages/Settings.tsx"), "Settings");
const Executors = page(() => import("./pages/Executors.tsx"), "Executors");
const Logs = page(() => import("./pages/Logs.tsx"), "Logs");
const Notifications = page(() => import("./pages/Notifications.tsx"), "Notifications");
const BackupDetail = page(() => import("./pages/BackupDetail.tsx"), "BackupDetail");
const DatabaseDetail = page(() => import("./pages/DatabaseDetail.tsx"), "DatabaseDetail");
const DatabaseForm = page(() => import("./pages/DatabaseForm.tsx"), "DatabaseForm");
const Restores = page(restores, "Restores");
const RestoreDetail = page(restores, "RestoreDetail");
const RestoreWizard = page(restores, "RestoreWizard");
const RetentionPolicies = page(retention, "RetentionPolicies");
const RetentionPolicyForm = page(retention, "RetentionPolicyForm");
const S3Configs = page(s3, "S3Configs");
const S3ConfigForm = page(s3, "S3ConfigForm");
const Schedules = page(schedules, "Schedules");
const setupWizard = () => import("./pages/SetupWizard.tsx");
const SetupWizard = page(setupWizard, "SetupWizard");
const FirstRunGate = page(setupWizard, "FirstRunGate");
const ScheduleForm = page(schedules, "ScheduleForm");

// Sections not built yet (none at the moment).
const PLACEHOLDERS: Record<string, string> = {};

/** `/prefix/<id>` or `/prefix/<id>/<suffix>` → the decoded id (undefined otherwise). */
function param(path: string, prefix: string, suffix = ""): string | undefined {
  if (!path.startsWith(`${prefix}/`)) return undefined;
  let rest = path.slice(prefix.length + 1);
  if (suffix) {
    if (!rest.endsWith(`/${suffix}`)) return undefined;
    rest = rest.slice(0, -(suffix.length + 1));
  }
  if (!rest || rest.includes("/")) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

function route(pathname: string): ReactNode {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  if (path === "/")
    return (
      <FirstRunGate>
        <Dashboard />
      </FirstRunGate>
    );
  if (path === "/get-started") return <SetupWizard />;
  if (path === "/databases") return <Databases />;
  if (path === "/databases/new") return <DatabaseForm />;
  const databaseId = param(path, "/databases", "edit");
  if (databaseId) return <DatabaseForm key={databaseId} databaseId={databaseId} />;
  const databaseDetailId = param(path, "/databases");
  if (databaseDetailId) return <DatabaseDetail key={databaseDetailId} databaseId={databaseDetailId} />;
  if (path === "/backups") return <Backups />;
  const backupId = param(path, "/backups");
  if (backupId) return <BackupDetail key={backupId} backupId={backupId} />;
  if (path === "/users") return <Users />;
  if (path === "/tokens") return <Tokens />;
  if (path === "/audit") return <Audit />;
  if (path === "/account") return <Account />;
  if (path === "/notifications") return <Notifications />;
  if (path === "/schedules") return <Schedules />;
  if (path === "/schedules/new") return <ScheduleForm />;
  const scheduleId = param(path, "/schedules", "edit");
  if (scheduleId) return <ScheduleForm key={scheduleId} scheduleId={scheduleId} />;
  if (path === "/retention-policies") return <RetentionPolicies />;
  if (path === "/retention-policies/new") return <RetentionPolicyForm />;
  const policyId = param(path, "/retention-policies", "edit") ?? param(path, "/retention-policies");
  if (policyId) return <RetentionPolicyForm key={policyId} policyId={policyId} />;
  if (path === "/s3-configs") return <S3Configs />;
  if (path === "/s3-configs/new") return <S3ConfigForm />;
  const s3Id = param(path, "/s3-configs", "edit") ?? param(path, "/s3-configs");
  if (s3Id) return <S3ConfigForm key={s3Id} configId={s3Id} />;
  if (path === "/settings") return <Settings />;
  if (path === "/executors") return <Executors />;
  if (path === "/logs") return <Logs />;
  if (path === "/restores") return <Restores />;
  if (path === "/restore/new") return <RestoreWizard />;
  const restoreId = param(path, "/restores");
  if (restoreId) return <RestoreDetail key={restoreId} restoreId={restoreId} />;
  const section = Object.keys(PLACEHOLDERS).find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (section) return <ComingSoon title={PLACEHOLDERS[section] ?? "This page"} />;
  return <NotFound />;
}

export function App() {
  const pathname = usePathname();
  // Sign-in and first-run setup stand alone, outside the navigation.
  if (pathname === "/login") return <SignIn />;
  if (pathname === "/setup") return <Setup />;
  return (
    <Layout>
      <ErrorBoundary resetKey={pathname}>
        <Suspense fallback={<Loading />}>{route(pathname)}</Suspense>
      </ErrorBoundary>
    </Layout>
  );
}
