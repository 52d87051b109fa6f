import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `pnpm run build` writes dist/, which the control plane serves (control-plane/src/http/app.ts).
// `pnpm --filter @slipway/web dev` serves the dashboard with hot reload against a control plane
// on :8080 (SLIPWAY_API to point elsewhere).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      "/api": { target: process.env.SLIPWAY_API ?? "http://127.0.0.1:8080", changeOrigin: false },
    },
  },
});
