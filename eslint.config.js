// One lint setup for the whole repository.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "proto/src/gen/**",
      "web/public/**",
      "web/src/api/schema.d.ts",
      "test-results/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        fetch: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        crypto: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  {
    // The agent runs on other hosts: it shares only proto/ with the control plane, never its code.
    files: ["agent/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@slipway/control-plane", "@slipway/control-plane/*"],
              message: "the agent must not import the control plane; share through @slipway/proto",
            },
            {
              group: ["**/control-plane/**"],
              message: "the agent must not import the control plane; share through @slipway/proto",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["control-plane/**/*.ts"],
    ignores: ["control-plane/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@slipway/agent", "@slipway/agent/*", "**/agent/src/**"],
              message: "the control plane must not import the agent; share through @slipway/proto",
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard talks to the control plane only through the REST API (types from its OpenAPI description).
    files: ["web/src/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@slipway/*", "**/control-plane/**", "**/agent/src/**", "**/proto/**"],
              message: "the dashboard uses only the REST API (web/src/api/client.ts)",
            },
          ],
        },
      ],
    },
  },
);
