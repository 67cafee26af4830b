import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Ethernet tests create network namespaces: keep files in separate workers, and give
    // slow setups (veth, spawning the CLI, Chromium) room without hiding real hangs.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
