// libFuzzer's driver, for a program that has its own main (LLVM >= 13). The symbol comes from
// the libFuzzer runtime that `-sanitize=fuzzer` links; only `fuzz/run.sh`'s build calls it.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
