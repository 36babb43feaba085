/**
 * RBAC as the API server evaluates it: rule matching (rule.ts) and which rules apply to a user
 * where, from Roles, ClusterRoles and their bindings (grants.ts).
 *
 * @module
 */
export * from "./rule.ts";
export * from "./grants.ts";
