import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the api package, which serves it at `/` (SPA fallback to index.html
// for every non-/api path). That folder is git-ignored and rebuilt by `npm run build`.
const outDir = fileURLToPath(new URL("../services/api/src/lifeboat/api/static", import.meta.url));

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    port: 5173,
    proxy: {
      // `npm run dev` talks to a locally running API (`just up` or `python -m lifeboat.api`).
      "/api": { target: process.env.LIFEBOAT_API_URL ?? "http://127.0.0.1:8000", changeOrigin: false },
    },
  },
});
