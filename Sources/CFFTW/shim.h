#ifndef CONCORD_CFFTW_SHIM_H
#define CONCORD_CFFTW_SHIM_H
#include <fftw3.h>
#endif
