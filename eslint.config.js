// Lint rules, including the layering of docs/architecture.md: which folder may import what (every TypeScript folder).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const nodeBuiltins = {
  group: ['node:*'],
  message: 'Only main/, native/ loaders and tests may use Node built-ins.',
};
const electronOnlyInMainElectron = {
  name: 'electron',
  message: "Only main/electron/ may import 'electron' (it downloads the binary in plain Node).",
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'build/**',
      'build-*/**',
      'node_modules/**',
      'test-results/**',
      'models/**/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnlyInMainElectron],
          patterns: [
            nodeBuiltins,
            {
              group: ['**/main/**', '**/renderer/**', '**/native/**'],
              message: 'app/ is the shared contract: it imports nothing runtime-specific.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnlyInMainElectron],
          patterns: [
            nodeBuiltins,
            {
              group: ['**/main/**', '**/native/**'],
              message: 'The renderer talks to main only through the app/ contract.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnlyInMainElectron],
          patterns: [{ group: ['**/renderer/**'], message: 'main/ never imports the renderer.' }],
        },
      ],
    },
  },
  {
    // The binding's loaders: the addon and its typed wrappers, below every service.
    files: ['native/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnlyInMainElectron],
          patterns: [
            {
              group: ['**/main/**', '**/renderer/**', '**/models/**'],
              message: 'native/ is the binding: it imports only the contract (app/) and Node.',
            },
          ],
        },
      ],
    },
  },
  {
    // Model-family rules (prompt, positions): pure, beside the family's C++; used by the services.
    files: ['models/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnlyInMainElectron],
          patterns: [
            {
              group: ['**/main/**', '**/renderer/**', '**/native/**'],
              message: 'models/ holds model-family rules: it imports only the contract (app/).',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests may reach every layer, but never the Electron binary's module outside its own suite.
    files: ['test/**/*.ts', 'test/**/*.tsx'],
    ignores: ['test/e2e-electron/**', 'test/unit/main/electron/**', 'test/packaging/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronOnlyInMainElectron] }],
    },
  },
  {
    files: ['main/electron/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/renderer/**'], message: 'main/ never imports the renderer.' }] },
      ],
    },
  },
);
