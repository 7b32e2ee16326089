/** The package version, shown in CONNECTED `server` and in status output. */
export const VERSION = '0.1.0';
