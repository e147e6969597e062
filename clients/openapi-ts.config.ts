import { defineConfig } from '@hey-api/openapi-ts';

// scripts/generate-client writes openapi.json from the app object (no server needed), then runs this.
export default defineConfig({
  input: 'openapi.json',
  output: 'src/client',
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
  // Errors go to the terminal; no crash-log files left in the folder.
  logs: { file: false },
});
