// Lint: workflow code is deterministic and bundled for Temporal's sandbox, so it may not import I/O,
// Node builtins, or any package that is not @temporalio/workflow-safe. Activities are imported as types only.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib'];

export const workflowImportRule = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: NODE_BUILTINS.map((name) => ({ name, message: 'workflow code must not do I/O: move this into an activity' })),
      patterns: [
        { group: ['node:*'], message: 'workflow code must not do I/O: move this into an activity' },
        { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'import activities as types only (proxyActivities)' },
        { group: ['**/common/env', '**/common/env.js'], message: 'workflows never read the environment' },
        { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'], message: 'not allowed in the workflow bundle' },
        { group: ['openai', 'better-sqlite3', 'sqlite-vec', 'node-llama-cpp', '@qdrant/*', '@energetic-ai/*', 'mathjs', 'pyodide'], message: 'side-effecting package: call it from an activity' },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.nanoflux/**', '.venv/**', 'dist/**', 'tests/fixtures/**'] },
  {
    files: ['workflows/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: workflowImportRule,
  },
);
