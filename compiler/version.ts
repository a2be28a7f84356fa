// Stamped into every generated header; bump with package.json.
export const VERSION = '0.1.0';
