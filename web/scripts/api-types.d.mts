export declare function renderApiTypes(document: Record<string, unknown>): Promise<string>;
