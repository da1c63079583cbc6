#ifndef CONCORD_CBLAS_SHIM_H
#define CONCORD_CBLAS_SHIM_H
#include <cblas.h>
#endif
