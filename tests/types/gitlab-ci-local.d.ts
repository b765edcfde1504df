/** GitLab's published CI schema as gitlab-ci-local ships it (GitLab's ci.json with its `pattern`s removed). */
declare module 'gitlab-ci-local/src/schema/schema.js' {
  export const schema: Record<string, unknown>;
}
