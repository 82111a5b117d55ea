/** Job kinds only the specs' kernel worker (kernel-test-worker.ts) serves: throw, never finish, exit. */
export const OP_THROW = 90;
export const OP_HANG = 91;
export const OP_EXIT = 92;
