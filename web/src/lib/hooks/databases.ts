import { useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type ConnectionTest } from "../api.ts";
import { queryKeys } from "../queryKeys.ts";
import { toast } from "../toast.ts";
import { useAction } from "./common.ts";

export function useDatabases() {
  return useQuery({ queryKey: queryKeys.databases(), queryFn: api.databases });
}

/** The last connection test of a database in this session (the API keeps none). */
export interface StoredTest {
  result: ConnectionTest;
  at: string;
}

export function useTestConnection(database: { id: string; name: string }) {
  const queryClient = useQueryClient();
  return useAction(() => api.testConnection(database.id), {
    success: (page) => (page.data.connected ? `${database.name}: connected in ${page.data.latencyMs} ms.` : false),
    failure: `Could not test the connection to ${database.name}`,
    onSuccess: (page) => {
      // A test that ran but could not connect is a failure to the user.
      if (!page.data.connected) toast.error(`Cannot connect to ${database.name}: ${page.data.error ?? "unknown error"}`);
      queryClient.setQueryData<StoredTest>(queryKeys.connectionTest(database.id), { result: page.data, at: new Date().toISOString() });
    },
  });
}

export function useDeleteDatabase(onSuccess?: () => void) {
  return useAction((database: { id: string; name: string }) => api.deleteDatabase(database.id), {
    invalidate: [queryKeys.databases(), queryKeys.backups(), queryKeys.stats()],
    success: (_, database) => `${database.name} deleted.`,
    failure: (database) => `Could not delete ${database.name}`,
    onSuccess,
  });
}
