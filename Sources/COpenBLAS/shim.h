#pragma once
// OpenBLAS's CBLAS interface (sgemm, sgemv) and openblas_set_num_threads.
#include <cblas.h>
