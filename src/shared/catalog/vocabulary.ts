/** Words shared by the catalog, the API, the web app and the provider adapters. */

export const generationModes = ['text-to-video', 'image-to-video', 'first-last-frame', 'reference'] as const;
export type GenerationMode = (typeof generationModes)[number];

export const referenceKinds = ['image', 'video', 'audio'] as const;
export type ReferenceKind = (typeof referenceKinds)[number];

/** How a reference is used: the first or last frame, or material the prompt refers to (`@image1`). */
export const referenceRoles = ['first_frame', 'last_frame', 'reference'] as const;
export type ReferenceRole = (typeof referenceRoles)[number];

export const lifecycleStates = ['active', 'deprecated', 'retired'] as const;
export type LifecycleState = (typeof lifecycleStates)[number];
