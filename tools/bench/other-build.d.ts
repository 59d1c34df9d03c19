/** See other-build.js. */
export function checkOtherBuild(dir: string): string;
