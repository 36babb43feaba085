/**
 * The review APIs: TokenReview (who a token is), SelfSubjectReview (who the caller is, in every
 * version a server may serve), SelfSubjectAccessReview and SelfSubjectRulesReview (what the
 * caller may do).
 */
import type { Credential } from "../kubeconfig/types.ts";
import type { ApiClient } from "./client.ts";
import { ApiError } from "./errors.ts";

/** The user as the API server reports it (authentication.k8s.io UserInfo). */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** TokenReview's answer. */
export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: UserInfo;
  audiences?: string[];
  error?: string;
}

/** POST a TokenReview of `token` (with the client's credential, or `options.credential`). */
export async function reviewToken(
  client: ApiClient,
  token: string,
  options: { credential?: Credential } = {},
): Promise<TokenReviewStatus> {
  const res = await client.post<{ status?: TokenReviewStatus }>(
    "/apis/authentication.k8s.io/v1/tokenreviews",
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
    options.credential ? { credential: options.credential } : {},
  );
  return res.body.status ?? {};
}

/** The versions of SelfSubjectReview, newest first: GA in 1.28, beta 1.27, alpha 1.26. */
export const SELF_SUBJECT_REVIEW_VERSIONS = ["v1", "v1beta1", "v1alpha1"] as const;

/** What SelfSubjectReview said, and which version said it. */
export interface SelfSubjectReviewResult {
  userInfo: UserInfo;
  /** `authentication.k8s.io/<version>`. */
  apiVersion: string;
}

/**
 * POST a SelfSubjectReview, trying each version in turn while the server answers 404 or 403 (a
 * version it does not serve, or is not allowed); `onUnavailable` hears of each such answer and
 * may throw to stop. Undefined when no version answered; other errors are thrown.
 */
export async function reviewSelf(
  client: ApiClient,
  options: { onUnavailable?: (version: string, e: ApiError) => void } = {},
): Promise<SelfSubjectReviewResult | undefined> {
  for (const version of SELF_SUBJECT_REVIEW_VERSIONS) {
    const apiVersion = `authentication.k8s.io/${version}`;
    try {
      const res = await client.post<{ status?: { userInfo?: UserInfo } }>(
        `/apis/${apiVersion}/selfsubjectreviews`,
        { apiVersion, kind: "SelfSubjectReview" },
      );
      return { userInfo: res.body.status?.userInfo ?? {}, apiVersion };
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 404 && e.code !== 403)) throw e;
      options.onUnavailable?.(version, e);
    }
  }
  return undefined;
}

/** The attributes a SelfSubjectAccessReview asks about. */
export type AccessReviewSpec =
  | { nonResourceAttributes: { path: string; verb: string } }
  | {
    resourceAttributes: {
      namespace?: string;
      verb: string;
      group?: string;
      resource: string;
      subresource?: string;
      name?: string;
    };
  };

/** POST a SelfSubjectAccessReview; returns its status. */
export async function reviewAccess(
  client: ApiClient,
  spec: AccessReviewSpec,
): Promise<{ allowed?: boolean; denied?: boolean; reason?: string }> {
  const res = await client.post<
    { status?: { allowed?: boolean; denied?: boolean; reason?: string } }
  >("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec,
  });
  return res.body.status ?? {};
}

/** POST a SelfSubjectRulesReview for `namespace`; returns its status as the server sent it. */
export async function reviewRules<Status = Record<string, unknown>>(
  client: ApiClient,
  namespace: string,
): Promise<Status | undefined> {
  const res = await client.post<{ status?: Status }>(
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
    { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
  );
  return res.body.status;
}

/**
 * A SelfSubjectAccessReview that asks whether the caller may GET /version: every user may send
 * it, and it passes the impersonation filter like any request, so it tells whether --as is
 * allowed on servers without SelfSubjectReview.
 */
export function reviewVersionAccess(
  client: ApiClient,
): Promise<{ allowed?: boolean; denied?: boolean; reason?: string }> {
  return reviewAccess(client, { nonResourceAttributes: { path: "/version", verb: "get" } });
}
