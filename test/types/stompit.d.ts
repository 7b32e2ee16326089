// stompit ships no types; tests use it through a few untyped calls.
declare module 'stompit';
