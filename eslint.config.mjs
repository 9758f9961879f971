// One lint for the whole codebase (npm run lint, part of npm test): typescript-eslint with the type-aware promise
// rules the Temporal samples keep, the determinism guard on workflow files, and Prettier's formatting left to Prettier.
// Layer rules and import cycles: .dependency-cruiser.cjs.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-*/', 'node_modules/', '.kiln/', 'test/fixtures/', 'test/histories/', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },
  {
    // Deterministic workflow code (the samples' rule): only the workflow API, workflow-local modules, the shared
    // message definitions (common/messages imports nothing but @temporalio/workflow), and types from anywhere.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$|\\./|\\.\\./common/messages/)',
              allowTypeImports: true,
              message:
                'Workflow code must stay deterministic: import @temporalio/workflow, workflow-local files, common/messages, or types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['common/messages/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$)',
              allowTypeImports: true,
              message: 'Message definitions are imported by workflows: only @temporalio/workflow.',
            },
          ],
        },
      ],
    },
  },
  {
    // Benchmarks and tests print for people (everything else logs through common/logger), and they read JSON
    // answers whose shape the assertions check, where `any` is the honest type.
    files: ['bench/**/*.ts', 'test/**/*.ts'],
    // Chai's property assertions (`expect(x).to.be.true`) are expressions by design.
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { ...globals.node } },
  },
  {
    // The web console: browser ES modules served as they are (api/routes/console.ts), no build step.
    files: ['console/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  prettier,
);
