// The browser app's build: one page, its vault code and two workers (the prover, the passphrase KDF), nothing
// fetched from anywhere but the server that serves it.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  resolve: { conditions: ["browser"] },
  worker: { format: "es" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
});
