// OpenBLAS' CBLAS and LAPACKE interfaces for the chemistry kernels (dense linear algebra).
#ifndef QFORGE_CBLAS_SHIM_H
#define QFORGE_CBLAS_SHIM_H
#include <cblas.h>
#endif
