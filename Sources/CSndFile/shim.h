#ifndef CONCORD_CSNDFILE_SHIM_H
#define CONCORD_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
