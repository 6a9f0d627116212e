import type { ReactNode } from "react";

import { ErrorBoundary } from "./components/ErrorBoundary.tsx";
import { Layout } from "./components/Layout.tsx";
import { Backups } from "./pages/Backups.tsx";
import { ComingSoon, NotFound } from "./pages/ComingSoon.tsx";
import { Dashboard } from "./pages/Dashboard.tsx";
import { Databases } from "./pages/Databases.tsx";
import { Account, Audit, Tokens, Users } from "./pages/Access.tsx";
import { Setup, SignIn } from "./pages/SignIn.tsx";
import { usePathname } from "./lib/router.tsx";

const PLACEHOLDERS: Record<string, string> = {
  "/restores": "Restores",
  "/restore/new": "Restore",
  "/schedules": "Schedules",
  "/retention-policies": "Retention policies",
  "/s3-configs": "S3 configurations",
  "/settings": "Settings",
  "/logs": "Logs",
};

function route(pathname: string): ReactNode {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  if (path === "/") return <Dashboard />;
  if (path === "/databases") return <Databases />;
  if (path === "/backups") return <Backups />;
  if (path === "/users") return <Users />;
  if (path === "/tokens") return <Tokens />;
  if (path === "/audit") return <Audit />;
  if (path === "/account") return <Account />;
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
      <ErrorBoundary resetKey={pathname}>{route(pathname)}</ErrorBoundary>
    </Layout>
  );
}
