import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";

import { auth, can, useMe } from "../lib/auth.ts";
import { Link, navigate, usePathname } from "../lib/router.tsx";
import { useTheme, type ThemeChoice } from "../lib/theme.ts";

export const NAV_ITEMS = [
  { to: "/", label: "Dashboard" },
  { to: "/databases", label: "Databases" },
  { to: "/backups", label: "Backups" },
  { to: "/restores", label: "Restores" },
  { to: "/schedules", label: "Schedules" },
  { to: "/retention-policies", label: "Retention" },
  { to: "/s3-configs", label: "S3" },
  { to: "/executors", label: "Executors" },
  { to: "/logs", label: "Logs" },
  { to: "/notifications", label: "Notifications" },
  { to: "/settings", label: "Settings" },
] as const;

// Shown to principals holding the permission.
const ACCESS_ITEMS = [
  { to: "/users", label: "Users", permission: "user.manage" },
  { to: "/tokens", label: "API tokens", permission: "token.manage" },
  { to: "/audit", label: "Audit log", permission: "audit.view" },
  { to: "/account", label: "Account", permission: "account.self" },
] as const;

function SignOut() {
  const queryClient = useQueryClient();
  const me = useMe();
  const logout = useMutation({
    mutationFn: auth.logout,
    onSettled: () => {
      queryClient.clear();
      navigate("/login", { replace: true });
    },
  });
  if (!me.data) return null;
  return (
    <div className="mt-3 space-y-2 text-sm">
      <p className="truncate text-zinc-500 dark:text-zinc-400" title={me.data.data.email}>
        {me.data.data.email} ({me.data.data.role})
      </p>
      <button
        type="button"
        onClick={() => logout.mutate()}
        className="w-full rounded-md border border-zinc-300 px-3 py-1.5 text-left text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        Sign out
      </button>
    </div>
  );
}

function isCurrent(pathname: string, to: string): boolean {
  return to === "/" ? pathname === "/" : pathname === to || pathname.startsWith(`${to}/`);
}

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };
const THEME_LABEL: Record<ThemeChoice, string> = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };

function ThemeToggle() {
  const [choice, setChoice] = useTheme();
  return (
    <button
      type="button"
      onClick={() => setChoice(NEXT_THEME[choice])}
      className="w-full rounded-md border border-zinc-300 px-3 py-1.5 text-left text-sm text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
      aria-label={`${THEME_LABEL[choice]}. Switch to ${NEXT_THEME[choice]}.`}
      data-testid="theme-toggle"
    >
      {choice === "dark" ? "☾" : choice === "light" ? "☀" : "◐"} {THEME_LABEL[choice]}
    </button>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const [open, setOpen] = useState(false);
  const me = useMe();
  const navItems = [
    ...NAV_ITEMS,
    ...ACCESS_ITEMS.filter((item) => can(me.data?.data, item.permission)),
  ];

  return (
    <div className="min-h-screen bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-zinc-900"
      >
        Skip to content
      </a>
      <header className="flex items-center justify-between border-b border-zinc-200 bg-white px-4 py-3 md:hidden dark:border-zinc-800 dark:bg-zinc-900">
        <span className="font-semibold">Lifeboat</span>
        <button
          type="button"
          aria-expanded={open}
          aria-controls="sidebar"
          onClick={() => setOpen((value) => !value)}
          className="rounded-md border border-zinc-300 px-3 py-1 text-sm dark:border-zinc-700"
        >
          Menu
        </button>
      </header>
      <div className="flex">
        <aside
          id="sidebar"
          className={`${open ? "block" : "hidden"} fixed inset-y-0 left-0 z-40 w-56 shrink-0 border-r border-zinc-200 bg-white p-4 md:static md:block md:min-h-screen dark:border-zinc-800 dark:bg-zinc-900`}
        >
          <div className="mb-6 hidden items-center gap-2 md:flex">
            <img src="/favicon.svg" alt="" className="size-6" />
            <span className="text-lg font-semibold">Lifeboat</span>
          </div>
          <nav aria-label="Main">
            <ul className="space-y-1">
              {navItems.map((item) => {
                const current = isCurrent(pathname, item.to);
                return (
                  <li key={item.to}>
                    <Link
                      to={item.to}
                      onClick={() => setOpen(false)}
                      aria-current={current ? "page" : undefined}
                      className={`block rounded-md px-3 py-2 text-sm font-medium ${
                        current
                          ? "bg-orange-50 text-orange-700 dark:bg-orange-950/40 dark:text-orange-300"
                          : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
                      }`}
                    >
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="mt-6">
            <ThemeToggle />
            <SignOut />
          </div>
        </aside>
        {open && (
          <div
            aria-hidden="true"
            className="fixed inset-0 z-30 bg-black/30 md:hidden"
            onClick={() => setOpen(false)}
          />
        )}
        <main id="main" className="min-w-0 flex-1 p-4 md:p-8">
          {children}
        </main>
      </div>
    </div>
  );
}
