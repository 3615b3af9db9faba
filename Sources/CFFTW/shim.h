// FFTW 3 (Debian libfftw3-dev): the 3-D transforms of PPPM.
#ifndef QFORGE_CFFTW_SHIM_H
#define QFORGE_CFFTW_SHIM_H
#include <fftw3.h>
#endif
