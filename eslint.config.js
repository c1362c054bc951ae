// Lint, run inside `npm test` by tests/unit/layering.test.ts. Every file: files under 400 lines, functions
// under 120. TypeScript: typescript-eslint's recommended rules (syntax only: the type-checked rules would
// cost a full typecheck, `npm run typecheck` does that). Workflow code is deterministic and bundled for
// Temporal's sandbox, so it may not import I/O, Node builtins, or any package that is not
// @temporalio/workflow-safe; activities are imported as types only. Import layering: .dependency-cruiser.cjs.
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

const SIZE_RULES = {
  'max-lines': ['error', { max: 400 }],
  'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true, IIFEs: true }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.nanoflux/**', '.venv/**', 'dist/**', 'tests/fixtures/**'] },
  {
    files: ['**/*.{js,mjs,cjs}'],
    rules: { ...SIZE_RULES, 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }] },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      ...SIZE_RULES,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: workflowImportRule,
  },
  {
    // The benchmarks' hot loops keep a scan on one line with comma sequences (`(bs = s), (best = i)`).
    files: ['bench/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // The fakes of HTTP APIs (tests/support/scripted-*.ts) take untyped JSON bodies, and tests probe bad input.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // A test file's describe/it callbacks hold its cases and grow with them: the function rule would only
    // push cases into arbitrary helpers. Its helpers, and everything in tests/support, keep the rule.
    files: ['tests/**/*.test.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
