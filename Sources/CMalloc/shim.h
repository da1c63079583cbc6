// glibc's malloc tuning (mallopt), used to keep freed buffers for the next training step.
#include <malloc.h>
