// Generated from the control plane's OpenAPI description (/api/docs/json). Do not edit:
// run `pnpm run generate:api` after changing a route's schema.
export interface paths {
    "/api/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            capabilities: string[];
                            /** Format: date-time */
                            certificateExpiresAt: string | null;
                            certificateSerial: string | null;
                            /** Format: date-time */
                            drainedAt: string | null;
                            /** Format: date-time */
                            enrolledAt: string | null;
                            hostname: string | null;
                            id: string;
                            labels: {
                                [key: string]: string;
                            };
                            /** Format: date-time */
                            lastSeenAt: string | null;
                            name: string;
                            /** Format: date-time */
                            revokedAt: string | null;
                            slots: number;
                        }[];
                    };
                };
            };
        };
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        capabilities: ("build" | "deploy" | "remediate")[];
                        labels?: {
                            [key: string]: string;
                        };
                        name: string;
                        slots?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agent: {
                                capabilities: string[];
                                /** Format: date-time */
                                certificateExpiresAt: string | null;
                                certificateSerial: string | null;
                                /** Format: date-time */
                                drainedAt: string | null;
                                /** Format: date-time */
                                enrolledAt: string | null;
                                hostname: string | null;
                                id: string;
                                labels: {
                                    [key: string]: string;
                                };
                                /** Format: date-time */
                                lastSeenAt: string | null;
                                name: string;
                                /** Format: date-time */
                                revokedAt: string | null;
                                slots: number;
                            };
                            joinToken: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/agents/{agentId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        labels: {
                            [key: string]: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            capabilities: string[];
                            /** Format: date-time */
                            certificateExpiresAt: string | null;
                            certificateSerial: string | null;
                            /** Format: date-time */
                            drainedAt: string | null;
                            /** Format: date-time */
                            enrolledAt: string | null;
                            hostname: string | null;
                            id: string;
                            labels: {
                                [key: string]: string;
                            };
                            /** Format: date-time */
                            lastSeenAt: string | null;
                            name: string;
                            /** Format: date-time */
                            revokedAt: string | null;
                            slots: number;
                        };
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/agents/{agentId}/drain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            capabilities: string[];
                            /** Format: date-time */
                            certificateExpiresAt: string | null;
                            certificateSerial: string | null;
                            /** Format: date-time */
                            drainedAt: string | null;
                            /** Format: date-time */
                            enrolledAt: string | null;
                            hostname: string | null;
                            id: string;
                            labels: {
                                [key: string]: string;
                            };
                            /** Format: date-time */
                            lastSeenAt: string | null;
                            name: string;
                            /** Format: date-time */
                            revokedAt: string | null;
                            slots: number;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/agents/{agentId}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            capabilities: string[];
                            /** Format: date-time */
                            certificateExpiresAt: string | null;
                            certificateSerial: string | null;
                            /** Format: date-time */
                            drainedAt: string | null;
                            /** Format: date-time */
                            enrolledAt: string | null;
                            hostname: string | null;
                            id: string;
                            labels: {
                                [key: string]: string;
                            };
                            /** Format: date-time */
                            lastSeenAt: string | null;
                            name: string;
                            /** Format: date-time */
                            revokedAt: string | null;
                            slots: number;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/agents/{agentId}/undrain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            capabilities: string[];
                            /** Format: date-time */
                            certificateExpiresAt: string | null;
                            certificateSerial: string | null;
                            /** Format: date-time */
                            drainedAt: string | null;
                            /** Format: date-time */
                            enrolledAt: string | null;
                            hostname: string | null;
                            id: string;
                            labels: {
                                [key: string]: string;
                            };
                            /** Format: date-time */
                            lastSeenAt: string | null;
                            name: string;
                            /** Format: date-time */
                            revokedAt: string | null;
                            slots: number;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    before?: string;
                    limit: number;
                    serviceId?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempt: number;
                            branch: string;
                            /** Format: date-time */
                            cancelRequestedAt: string | null;
                            commitMessage: string;
                            commitSha: string;
                            /** Format: date-time */
                            createdAt: string;
                            deliveryId: string | null;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageDigest: string | null;
                            imageRef: string | null;
                            maxAttempts: number;
                            retryOf: string | null;
                            serviceId: string;
                            /** Format: date-time */
                            startedAt: string | null;
                            status: string;
                            statusReason: string | null;
                            trigger: string;
                        }[];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds/{buildId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    buildId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempt: number;
                            branch: string;
                            /** Format: date-time */
                            cancelRequestedAt: string | null;
                            commitMessage: string;
                            commitSha: string;
                            /** Format: date-time */
                            createdAt: string;
                            deliveryId: string | null;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageDigest: string | null;
                            imageRef: string | null;
                            maxAttempts: number;
                            retryOf: string | null;
                            serviceId: string;
                            /** Format: date-time */
                            startedAt: string | null;
                            status: string;
                            statusReason: string | null;
                            trigger: string;
                        } & {
                            history: {
                                actor: string;
                                /** Format: date-time */
                                at: string;
                                from: string | null;
                                reason: string | null;
                                to: string;
                            }[];
                            waitingFor: string | null;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds/{buildId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    buildId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempt: number;
                            branch: string;
                            /** Format: date-time */
                            cancelRequestedAt: string | null;
                            commitMessage: string;
                            commitSha: string;
                            /** Format: date-time */
                            createdAt: string;
                            deliveryId: string | null;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageDigest: string | null;
                            imageRef: string | null;
                            maxAttempts: number;
                            retryOf: string | null;
                            serviceId: string;
                            /** Format: date-time */
                            startedAt: string | null;
                            status: string;
                            statusReason: string | null;
                            trigger: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds/{buildId}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    afterAttempt: number;
                    afterSeq: number;
                    limit: number;
                };
                header?: never;
                path: {
                    buildId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            chunks: {
                                attempt: number;
                                seq: number;
                                text: string;
                            }[];
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds/{buildId}/logs/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: {
                    after?: string;
                };
                header?: never;
                path: {
                    buildId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds/{buildId}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    buildId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempt: number;
                            branch: string;
                            /** Format: date-time */
                            cancelRequestedAt: string | null;
                            commitMessage: string;
                            commitSha: string;
                            /** Format: date-time */
                            createdAt: string;
                            deliveryId: string | null;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageDigest: string | null;
                            imageRef: string | null;
                            maxAttempts: number;
                            retryOf: string | null;
                            serviceId: string;
                            /** Format: date-time */
                            startedAt: string | null;
                            status: string;
                            statusReason: string | null;
                            trigger: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/deployments/{deploymentId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    deploymentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            buildId: string;
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageRef: string;
                            reason: string | null;
                            replicaCount: number;
                            replicas: {
                                agentId: string | null;
                                containerId: string | null;
                                endpoint: string | null;
                                replicaIndex: number;
                                status: string;
                                statusReason: string | null;
                            }[];
                            sequence: number;
                            serviceId: string;
                            status: string;
                            trigger: string;
                            triggerReason: string | null;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/github/app/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    code: string;
                    state: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/github/app/manifest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: {
                    name?: string;
                    organization?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/github/oauth/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    code: string;
                    state: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/github/repositories": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    page: number;
                    perPage: number;
                    search?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            page: number;
                            perPage: number;
                            repositories: {
                                defaultBranch: string | null;
                                fullName: string;
                                id: number;
                                installationId: number;
                                private: boolean;
                            }[];
                            total: number;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/github/setup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    installation_id: number;
                    setup_action?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/invitations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Creates an invitation link (shown once, valid 7 days, single use). With email, only that address may accept. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email?: string;
                        role: "owner" | "admin" | "developer" | "viewer";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            expiresAt: string;
                            url: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/invitations/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description What an open invitation offers (organisation, role, the email it is for), for the accept page. */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    token: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            email: string | null;
                            expiresAt: string;
                            org: {
                                id: string;
                                name: string;
                            };
                            role: "owner" | "admin" | "developer" | "viewer";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/invitations/{token}/accept": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Accepts an invitation: creates the account and its membership, and signs in. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    token: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email: string;
                        name: string;
                        password: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            csrfToken: string;
                            org: {
                                id: string;
                                name: string;
                            };
                            role: "owner" | "admin" | "developer" | "viewer";
                            user: {
                                email: string | null;
                                id: string;
                                name: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            disabled: boolean;
                            email: string | null;
                            joinedAt: string;
                            name: string;
                            role: "owner" | "admin" | "developer" | "viewer";
                            userId: string;
                        }[];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/members/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** @description Removes a member (their sessions and API tokens in this organisation end). Last owner: 409. */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    userId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /** @description Changes a member's role. Only owners make or change owners; the last owner stays (409). */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    userId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        role: "owner" | "admin" | "developer" | "viewer";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        trace?: never;
    };
    "/api/org": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** @description The organisation's settings (its name). */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            name: string;
                        };
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            createdAt: string;
                            id: string;
                            name: string;
                        }[];
                    };
                };
            };
        };
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            createdAt: string;
                            id: string;
                            name: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/projects/{projectId}/services": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    projectId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            autoDeploy: boolean;
                            branch: string;
                            buildAgentLabels: {
                                [key: string]: string;
                            };
                            buildTags: boolean;
                            containerPort: number;
                            /** Format: date-time */
                            createdAt: string;
                            currentDeploymentId: string | null;
                            deployAgentLabels: {
                                [key: string]: string;
                            };
                            deploymentId?: string;
                            domains: string[];
                            drainSeconds: number;
                            githubRepoId: number | null;
                            gitUrl: string;
                            healthCheck: {
                                intervalMs: number;
                                path: string;
                                retries: number;
                                startPeriodMs: number;
                                timeoutMs: number;
                                type: "http" | "tcp";
                            };
                            id: string;
                            name: string;
                            projectId: string;
                            replicas: number;
                            repository: {
                                fullName: string;
                                installationId: number | null;
                                problem: string | null;
                            } | null;
                            rootDir: string;
                            stopped: boolean;
                            /** Format: date-time */
                            stoppedAt: string | null;
                            url: string;
                            watchPaths: string[];
                        }[];
                    };
                };
            };
        };
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    projectId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        autoDeploy?: boolean;
                        branch?: string;
                        buildAgentLabels?: {
                            [key: string]: string;
                        };
                        buildTags?: boolean;
                        containerPort: number;
                        deployAgentLabels?: {
                            [key: string]: string;
                        };
                        domains?: string[];
                        drainSeconds?: number;
                        githubRepoId?: number;
                        githubUrl?: string;
                        gitUrl?: string;
                        healthCheck?: {
                            intervalMs?: number;
                            path?: string;
                            retries?: number;
                            startPeriodMs?: number;
                            timeoutMs?: number;
                            type: "http" | "tcp";
                        };
                        name: string;
                        replicas?: number;
                        rootDir?: string;
                        watchPaths?: string[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            autoDeploy: boolean;
                            branch: string;
                            buildAgentLabels: {
                                [key: string]: string;
                            };
                            buildTags: boolean;
                            containerPort: number;
                            /** Format: date-time */
                            createdAt: string;
                            currentDeploymentId: string | null;
                            deployAgentLabels: {
                                [key: string]: string;
                            };
                            deploymentId?: string;
                            domains: string[];
                            drainSeconds: number;
                            githubRepoId: number | null;
                            gitUrl: string;
                            healthCheck: {
                                intervalMs: number;
                                path: string;
                                retries: number;
                                startPeriodMs: number;
                                timeoutMs: number;
                                type: "http" | "tcp";
                            };
                            id: string;
                            name: string;
                            projectId: string;
                            replicas: number;
                            repository: {
                                fullName: string;
                                installationId: number | null;
                                problem: string | null;
                            } | null;
                            rootDir: string;
                            stopped: boolean;
                            /** Format: date-time */
                            stoppedAt: string | null;
                            url: string;
                            watchPaths: string[];
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/projects/{projectId}/variables": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The variables every service of the project gets unless it overrides them. Secrets are masked. */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    projectId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description On a service: the project's shared variables it gets and does not override */
                            inherited?: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        /** @description Replaces the project's shared variables. Every value is stored encrypted. Bad input (name, reserved name, size, NUL, count, total) answers 400 with the reason and changes nothing. */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    projectId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description The whole set (at most 200, 256 KiB together); names left out are removed */
                        variables: {
                            /** @description `^[A-Za-z_][A-Za-z0-9_]{0,127}$`; PORT and SLIPWAY_* are reserved */
                            name: string;
                            /** @description A secret's value is never shown again. Omitted: the variable's current flag (false when new). A secret becomes a plain variable only with a new value. */
                            secret?: boolean;
                            /** @description At most 32 KiB (UTF-8), no NUL byte. Omit it for an existing secret to keep its value (so a masked list read with GET can be sent back as it is). */
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Names added, changed or removed */
                            changed: string[];
                            /** @description Some service with running replicas has a changed environment; it applies when they are redeployed */
                            redeployNeeded: boolean;
                            /** @description Those services' ids */
                            redeployServices: string[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** @description Sets and removes some of the project's shared variables. Every value is stored encrypted. Bad input (name, reserved name, size, NUL, count, total) answers 400 with the reason and changes nothing. */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    projectId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Names to remove (absent ones are ignored) */
                        remove?: string[];
                        /** @description Variables to add or change */
                        set?: {
                            /** @description `^[A-Za-z_][A-Za-z0-9_]{0,127}$`; PORT and SLIPWAY_* are reserved */
                            name: string;
                            /** @description A secret's value is never shown again. Omitted: the variable's current flag (false when new). A secret becomes a plain variable only with a new value. */
                            secret?: boolean;
                            /** @description At most 32 KiB (UTF-8), no NUL byte. Omit it for an existing secret to keep its value (so a masked list read with GET can be sent back as it is). */
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Names added, changed or removed */
                            changed: string[];
                            /** @description Some service with running replicas has a changed environment; it applies when they are redeployed */
                            redeployNeeded: boolean;
                            /** @description Those services' ids */
                            redeployServices: string[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/services/{serviceId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            autoDeploy: boolean;
                            branch: string;
                            buildAgentLabels: {
                                [key: string]: string;
                            };
                            buildTags: boolean;
                            containerPort: number;
                            /** Format: date-time */
                            createdAt: string;
                            currentDeploymentId: string | null;
                            deployAgentLabels: {
                                [key: string]: string;
                            };
                            deploymentId?: string;
                            domains: string[];
                            drainSeconds: number;
                            githubRepoId: number | null;
                            gitUrl: string;
                            healthCheck: {
                                intervalMs: number;
                                path: string;
                                retries: number;
                                startPeriodMs: number;
                                timeoutMs: number;
                                type: "http" | "tcp";
                            };
                            id: string;
                            name: string;
                            projectId: string;
                            replicas: number;
                            repository: {
                                fullName: string;
                                installationId: number | null;
                                problem: string | null;
                            } | null;
                            rootDir: string;
                            stopped: boolean;
                            /** Format: date-time */
                            stoppedAt: string | null;
                            url: string;
                            watchPaths: string[];
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        autoDeploy?: boolean;
                        buildAgentLabels?: {
                            [key: string]: string;
                        };
                        buildTags?: boolean;
                        deployAgentLabels?: {
                            [key: string]: string;
                        };
                        domains?: string[];
                        drainSeconds?: number;
                        healthCheck?: {
                            intervalMs?: number;
                            path?: string;
                            retries?: number;
                            startPeriodMs?: number;
                            timeoutMs?: number;
                            type: "http" | "tcp";
                        };
                        replicas?: number;
                        watchPaths?: string[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            autoDeploy: boolean;
                            branch: string;
                            buildAgentLabels: {
                                [key: string]: string;
                            };
                            buildTags: boolean;
                            containerPort: number;
                            /** Format: date-time */
                            createdAt: string;
                            currentDeploymentId: string | null;
                            deployAgentLabels: {
                                [key: string]: string;
                            };
                            deploymentId?: string;
                            domains: string[];
                            drainSeconds: number;
                            githubRepoId: number | null;
                            gitUrl: string;
                            healthCheck: {
                                intervalMs: number;
                                path: string;
                                retries: number;
                                startPeriodMs: number;
                                timeoutMs: number;
                                type: "http" | "tcp";
                            };
                            id: string;
                            name: string;
                            projectId: string;
                            replicas: number;
                            repository: {
                                fullName: string;
                                installationId: number | null;
                                problem: string | null;
                            } | null;
                            rootDir: string;
                            stopped: boolean;
                            /** Format: date-time */
                            stoppedAt: string | null;
                            url: string;
                            watchPaths: string[];
                        };
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/services/{serviceId}/builds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        commitSha?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempt: number;
                            branch: string;
                            /** Format: date-time */
                            cancelRequestedAt: string | null;
                            commitMessage: string;
                            commitSha: string;
                            /** Format: date-time */
                            createdAt: string;
                            deliveryId: string | null;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageDigest: string | null;
                            imageRef: string | null;
                            maxAttempts: number;
                            retryOf: string | null;
                            serviceId: string;
                            /** Format: date-time */
                            startedAt: string | null;
                            status: string;
                            statusReason: string | null;
                            trigger: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/deployments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    limit: number;
                };
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            buildId: string;
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            finishedAt: string | null;
                            id: string;
                            imageRef: string;
                            reason: string | null;
                            replicaCount: number;
                            replicas: {
                                agentId: string | null;
                                containerId: string | null;
                                endpoint: string | null;
                                replicaIndex: number;
                                status: string;
                                statusReason: string | null;
                            }[];
                            sequence: number;
                            serviceId: string;
                            status: string;
                            trigger: string;
                            triggerReason: string | null;
                        }[];
                    };
                };
            };
        };
        put?: never;
        /** @description Deploys an earlier completed build of the service (`buildId`: a rollback when older than the serving one), or the branch head: its completed build at once (201), else its build deploys when it completes (202, queued when none is on its way). Starts a stopped service. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        buildId?: string;
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            deployment: {
                                buildId: string;
                                /** Format: date-time */
                                createdAt: string;
                                createdBy: string;
                                /** Format: date-time */
                                finishedAt: string | null;
                                id: string;
                                imageRef: string;
                                reason: string | null;
                                replicaCount: number;
                                replicas: {
                                    agentId: string | null;
                                    containerId: string | null;
                                    endpoint: string | null;
                                    replicaIndex: number;
                                    status: string;
                                    statusReason: string | null;
                                }[];
                                sequence: number;
                                serviceId: string;
                                status: string;
                                trigger: string;
                                triggerReason: string | null;
                            };
                        };
                    };
                };
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            build: {
                                attempt: number;
                                branch: string;
                                /** Format: date-time */
                                cancelRequestedAt: string | null;
                                commitMessage: string;
                                commitSha: string;
                                /** Format: date-time */
                                createdAt: string;
                                deliveryId: string | null;
                                /** Format: date-time */
                                finishedAt: string | null;
                                id: string;
                                imageDigest: string | null;
                                imageRef: string | null;
                                maxAttempts: number;
                                retryOf: string | null;
                                serviceId: string;
                                /** Format: date-time */
                                startedAt: string | null;
                                status: string;
                                statusReason: string | null;
                                trigger: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description A replica's container log as Server-Sent Events: `log` events ({stream, line, time}), then `end` ({error?}). */
        get: {
            parameters: {
                query: {
                    deploymentId?: string;
                    follow: boolean;
                    replica: number;
                    since?: string;
                    tail: number;
                };
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/restart": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description A rolling restart: new replicas of the running image replace the old ones. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            deployment: {
                                buildId: string;
                                /** Format: date-time */
                                createdAt: string;
                                createdBy: string;
                                /** Format: date-time */
                                finishedAt: string | null;
                                id: string;
                                imageRef: string;
                                reason: string | null;
                                replicaCount: number;
                                replicas: {
                                    agentId: string | null;
                                    containerId: string | null;
                                    endpoint: string | null;
                                    replicaIndex: number;
                                    status: string;
                                    statusReason: string | null;
                                }[];
                                sequence: number;
                                serviceId: string;
                                status: string;
                                trigger: string;
                                triggerReason: string | null;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Brings back the image a stopped service last served, with its replicas. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            deployment: {
                                buildId: string;
                                /** Format: date-time */
                                createdAt: string;
                                createdBy: string;
                                /** Format: date-time */
                                finishedAt: string | null;
                                id: string;
                                imageRef: string;
                                reason: string | null;
                                replicaCount: number;
                                replicas: {
                                    agentId: string | null;
                                    containerId: string | null;
                                    endpoint: string | null;
                                    replicaIndex: number;
                                    status: string;
                                    statusReason: string | null;
                                }[];
                                sequence: number;
                                serviceId: string;
                                status: string;
                                trigger: string;
                                triggerReason: string | null;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Takes every replica out of the route and removes it; builds no longer deploy. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            deployment: {
                                buildId: string;
                                /** Format: date-time */
                                createdAt: string;
                                createdBy: string;
                                /** Format: date-time */
                                finishedAt: string | null;
                                id: string;
                                imageRef: string;
                                reason: string | null;
                                replicaCount: number;
                                replicas: {
                                    agentId: string | null;
                                    containerId: string | null;
                                    endpoint: string | null;
                                    replicaIndex: number;
                                    status: string;
                                    statusReason: string | null;
                                }[];
                                sequence: number;
                                serviceId: string;
                                status: string;
                                trigger: string;
                                triggerReason: string | null;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/services/{serviceId}/variables": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The service's own variables, and the project's it inherits. Secrets are masked. */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description On a service: the project's shared variables it gets and does not override */
                            inherited?: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        /** @description Replaces the service's own variables (they override the project's). Every value is stored encrypted. Bad input (name, reserved name, size, NUL, count, total) answers 400 with the reason and changes nothing. */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description The whole set (at most 200, 256 KiB together); names left out are removed */
                        variables: {
                            /** @description `^[A-Za-z_][A-Za-z0-9_]{0,127}$`; PORT and SLIPWAY_* are reserved */
                            name: string;
                            /** @description A secret's value is never shown again. Omitted: the variable's current flag (false when new). A secret becomes a plain variable only with a new value. */
                            secret?: boolean;
                            /** @description At most 32 KiB (UTF-8), no NUL byte. Omit it for an existing secret to keep its value (so a masked list read with GET can be sent back as it is). */
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Names added, changed or removed */
                            changed: string[];
                            /** @description Some service with running replicas has a changed environment; it applies when they are redeployed */
                            redeployNeeded: boolean;
                            /** @description Those services' ids */
                            redeployServices: string[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** @description Sets and removes some of the service's own variables. Every value is stored encrypted. Bad input (name, reserved name, size, NUL, count, total) answers 400 with the reason and changes nothing. */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    serviceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Names to remove (absent ones are ignored) */
                        remove?: string[];
                        /** @description Variables to add or change */
                        set?: {
                            /** @description `^[A-Za-z_][A-Za-z0-9_]{0,127}$`; PORT and SLIPWAY_* are reserved */
                            name: string;
                            /** @description A secret's value is never shown again. Omitted: the variable's current flag (false when new). A secret becomes a plain variable only with a new value. */
                            secret?: boolean;
                            /** @description At most 32 KiB (UTF-8), no NUL byte. Omit it for an existing secret to keep its value (so a masked list read with GET can be sent back as it is). */
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Names added, changed or removed */
                            changed: string[];
                            /** @description Some service with running replicas has a changed environment; it applies when they are redeployed */
                            redeployNeeded: boolean;
                            /** @description Those services' ids */
                            redeployServices: string[];
                            variables: {
                                name: string;
                                scope: "service" | "project";
                                secret: boolean;
                                /** Format: date-time */
                                updatedAt: string;
                                /** @description null for a secret: never shown */
                                value: string | null;
                            }[];
                        };
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Who is calling: user, organisation, role, and the session's CSRF token (null for bearer callers). */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            csrfToken: string | null;
                            org: {
                                id: string;
                                name: string;
                            };
                            role: "owner" | "admin" | "developer" | "viewer";
                            user: {
                                email: string | null;
                                id: string;
                                name: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /** @description Signs in with an email and password, or with the bootstrap token (automation, first set-up). Sets an httpOnly session cookie; unsafe requests with it must send the csrfToken in X-CSRF-Token. Rate limited per client address and per email (429). */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email: string;
                        password: string;
                    } | {
                        token: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            csrfToken: string;
                            org: {
                                id: string;
                                name: string;
                            };
                            role: "owner" | "admin" | "developer" | "viewer";
                            user: {
                                email: string | null;
                                id: string;
                                name: string;
                            };
                        };
                    };
                };
            };
        };
        /** @description Signs this browser out. */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/session/everywhere": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Signs the caller out of every session, in every browser. API tokens stay valid. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            signedOut: number;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/setup/owner": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Creates the first owner (of the default organisation) and signs them in. Works only while no user other than the bootstrap admin exists; 409 afterwards. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email: string;
                        name: string;
                        orgName?: string;
                        password: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            csrfToken: string;
                            org: {
                                id: string;
                                name: string;
                            };
                            role: "owner" | "admin" | "developer" | "viewer";
                            user: {
                                email: string | null;
                                id: string;
                                name: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/setup/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Whether the first owner is still to be created (POST /api/setup/owner is open). */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            needsOwner: boolean;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            createdAt: string;
                            id: string;
                            lastUsedAt: string | null;
                            name: string;
                            /** @description the token's first characters, to tell tokens apart */
                            prefix: string;
                            revokedAt: string | null;
                        }[];
                    };
                };
            };
        };
        put?: never;
        /** @description Creates an API token for the caller in this organisation (`Authorization: Bearer slp_…`, with the caller's role). The token is in this answer only. */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            createdAt: string;
                            id: string;
                            lastUsedAt: string | null;
                            name: string;
                            /** @description the token's first characters, to tell tokens apart */
                            prefix: string;
                            revokedAt: string | null;
                            token: string;
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tokens/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/webhook-deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: {
            parameters: {
                query: {
                    limit: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            action: string | null;
                            buildsCreated: number;
                            deliveryId: string;
                            event: string;
                            headSha: string | null;
                            outcome: string;
                            reason: string;
                            /** Format: date-time */
                            receivedAt: string;
                            ref: string | null;
                            repositoryId: number | null;
                        }[];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: never;
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
