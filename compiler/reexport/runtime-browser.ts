// `gradc/runtime/browser` (and `gradc/runtime` under a bundler's browser condition).
export * from '@gradc/runtime/browser';
