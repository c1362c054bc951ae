// Types of scripts/build.mjs (plain JavaScript, so the launchers run it without a TypeScript loader).
export declare const ROOT: string;
export declare const DIST: string;
export type BuildTarget = 'cli' | 'worker';
export declare const TARGETS: Record<BuildTarget, { entry: string; splitting: boolean }>;
/** The entry file of the current build of `target`, or undefined when missing or stale. */
export declare function currentBuild(target: BuildTarget): string | undefined;
/** Builds `target` into dist/; the absolute path of its entry file. */
export declare function build(target: BuildTarget): Promise<string>;
export declare function ensureBuilt(target: BuildTarget): Promise<{ entry: string; rebuilt: boolean }>;
export declare function runBuilt(target: BuildTarget, o?: { sourceMaps?: boolean }): Promise<void>;
