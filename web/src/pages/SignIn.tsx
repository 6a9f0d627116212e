import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { BUTTON, INPUT, SECONDARY } from "../components/styles.ts";
import { auth } from "../lib/auth.ts";
import { navigate, useSearch } from "../lib/router.tsx";

// The shared class names live in components/styles.ts; re-exported for older importers.
export { BUTTON, INPUT, SECONDARY };

/** Only same-site paths: an open redirect through ?next= would be a phishing aid. */
function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

function AuthCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="flex min-h-screen items-center justify-center bg-zinc-50 p-4 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
      <section className="w-full max-w-sm rounded-xl border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
        <div className="mb-4 flex items-center gap-2">
          <img src="/favicon.svg" alt="" className="size-6" />
          <h1 className="text-lg font-semibold">{title}</h1>
        </div>
        {children}
      </section>
    </div>
  );
}

function CredentialsForm({
  submitLabel,
  onSubmit,
  pending,
  error,
  confirm = false,
}: {
  submitLabel: string;
  onSubmit: (email: string, password: string) => void;
  pending: boolean;
  error: string | null;
  confirm?: boolean;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = confirm && again !== "" && again !== password;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!mismatch) onSubmit(email, password);
  };
  return (
    <form onSubmit={submit} className="space-y-3">
      <label className="block text-sm">
        E-mail
        <input className={INPUT} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label className="block text-sm">
        Password
        <input
          className={INPUT}
          type="password"
          autoComplete={confirm ? "new-password" : "current-password"}
          required
          minLength={confirm ? 10 : 1}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {confirm && (
        <label className="block text-sm">
          Repeat password
          <input className={INPUT} type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
      )}
      <div aria-live="polite" className="min-h-5 text-sm text-red-700 dark:text-red-400">
        {mismatch ? "The passwords differ." : error}
      </div>
      <button type="submit" className={`${BUTTON} w-full`} disabled={pending}>
        {pending ? "Please wait…" : submitLabel}
      </button>
    </form>
  );
}

export function SignIn() {
  const search = useSearch();
  const queryClient = useQueryClient();
  const login = useMutation({
    mutationFn: ({ email, password }: { email: string; password: string }) => auth.login(email, password),
    onSuccess: () => {
      queryClient.clear();
      navigate(safeNext(search), { replace: true });
    },
  });
  return (
    <AuthCard title="Sign in to Lifeboat">
      <CredentialsForm
        submitLabel="Sign in"
        pending={login.isPending}
        error={login.error?.message ?? null}
        onSubmit={(email, password) => login.mutate({ email, password })}
      />
    </AuthCard>
  );
}

export function Setup() {
  const queryClient = useQueryClient();
  const setup = useMutation({
    mutationFn: ({ email, password }: { email: string; password: string }) => auth.setup(email, password),
    onSuccess: () => {
      queryClient.clear();
      navigate("/", { replace: true });
    },
  });
  return (
    <AuthCard title="Welcome to Lifeboat">
      <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
        Create the first administrator account. You can add more users afterwards.
      </p>
      <CredentialsForm
        submitLabel="Create admin account"
        confirm
        pending={setup.isPending}
        error={setup.error?.message ?? null}
        onSubmit={(email, password) => setup.mutate({ email, password })}
      />
    </AuthCard>
  );
}
