// The model file size limit, on its own so that file I/O (compiler/io/) can use it without
// loading the parser, expressions and the op registry (the CLI's fast paths load io/).
export const MAX_FILE_BYTES = 1_000_000;
