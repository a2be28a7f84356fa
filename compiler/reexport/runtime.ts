// `gradc/runtime`: the runtime package under the compiler's name, so code written against
// `gradc/runtime` keeps working; new code can depend on `@gradc/runtime` alone.
export * from '@gradc/runtime';
