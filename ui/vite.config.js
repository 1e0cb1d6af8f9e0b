// Builds the console into static files Vigil serves; relative asset paths so it works
// from any mount point and offline (everything is bundled, nothing fetched at run time).
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
});
