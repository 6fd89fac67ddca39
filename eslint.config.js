// ESLint 9 flat config: `npm run lint` (zero warnings allowed). Formatting is Prettier's job (`npm run format:check`).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const templateExpressions = { allowAny: false, allowBoolean: false, allowNever: false, allowNullish: false, allowNumber: true, allowRegExp: false };

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', 'data/**', '.tmp/**', 'migrations/**', 'test-results/**', 'playwright-report/**'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // which files import-x parses to follow imports (its default is .js only, which would see no cycle)
      'import-x/extensions': importX.flatConfigs.typescript.settings['import-x/extensions'],
      'import-x/parsers': importX.flatConfigs.typescript.settings['import-x/parsers'],
      'import-x/external-module-folders': importX.flatConfigs.typescript.settings['import-x/external-module-folders'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // only our own modules: following imports into node_modules costs time and finds no cycle of ours
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // strict's settings, except that numbers print predictably in a template
      '@typescript-eslint/restrict-template-expressions': ['error', templateExpressions],
      // `onClick={() => setOpen(false)}` and `return reply(res)` in a function declared void are idioms, not confusion
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // `_`-prefixed names and rest siblings (`const { secret: _, ...view } = row`) drop a value on purpose
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // ports and Fastify handlers are async by contract: `async` turns a throw into the rejection callers expect,
      // and Fastify sends the value an async handler returns (a sync one must call reply.send)
      '@typescript-eslint/require-await': 'off',
      // TanStack Router's `throw redirect(...)` is how a route guard redirects
      '@typescript-eslint/only-throw-error': [
        'error',
        {
          allow: [
            { from: 'package', package: '@tanstack/router-core', name: 'Redirect' },
            { from: 'package', package: '@tanstack/router-core', name: 'NotFoundError' },
          ],
        },
      ],
    },
  },
  {
    files: ['tests/**', 'bench/**', '**/*.test.{ts,tsx}'],
    rules: {
      // in a test a wrong `!` fails the test at once, which is what the test is for
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tests read HTTP and webhook JSON loosely typed on purpose (tests/helpers/client `json()`, the fakes' answers)
      // and vitest's asymmetric matchers (`expect.any(String)`) are typed `any`: the assertions are the check
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { ...templateExpressions, allowAny: true }],
    },
  },
  {
    files: ['src/web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    extends: [reactHooks.configs.flat.recommended],
  },
  {
    // plain JavaScript files are outside tsconfig.json: lint them without type information
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
